"""Large text files as a stream of blocks, read and parsed a piece at a time.

Loading a file whole (``loaders.parse_bytes``) holds its bytes, its decoded
text, its lines, every block and then every chunk at once: about sixteen times
the file (a 50 MB log took 800 MB, and Ctrl+C waited for all of it). Here a
file is read twice instead:

1. :func:`sniff` checks it (regular file, size limit, not binary, not empty),
   hashes it (so an unchanged file is skipped before any parsing) and picks its
   encoding exactly as ``loaders.decode_text`` would: that choice depends on the
   whole file (how many bytes are not UTF-8), so it needs its own pass.
2. :class:`TextStream` decodes 1 MiB at a time and cuts the text into segments
   of about :data:`SEGMENT_CHARS` at a blank line, which each kind's parser
   handles alone: any blank line for plain text; for Markdown one outside a
   fenced code block; for code and reStructuredText one followed by an
   unindented line (indentation continues a block there). Line numbers are
   shifted to the file's, so a file smaller than a segment gives exactly the
   blocks of ``parse_bytes``. Text with no such break for :data:`HARD_CHARS`
   (a log without blank lines, one giant line) is cut at a line end, then a
   space, then anywhere: the text is all kept, in more blocks.

Memory is bounded by a few segments whatever the file's size.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

from offyai_tui.rag.documents import Block
from offyai_tui.rag.loaders import LoadError, grew, open_checked, read_chunk
from offyai_tui.rag.textparse import _FENCE, parse_code, parse_markdown, parse_plain, parse_rst

READ_BYTES = 1 << 20
SEGMENT_CHARS = 1 << 17
"""A segment ends at the first break after this many characters."""
HARD_CHARS = 1 << 20
"""Without a break for this long, a segment is cut at a line end or a space."""
_SNIFF = 8192
_HEAD_BYTES = 5 * _SNIFF  # enough bytes for 8192 characters in any supported encoding
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_ANY_BLANK = re.compile(r"\n[ \t\f\v]*\n")
_BLANK_THEN_TOP = re.compile(r"\n[ \t\f\v]*\n(?=\S)")
_FENCE_LINE = re.compile(_FENCE.pattern, re.MULTILINE)
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class TextPlan:
    """What the first pass learned: size, hash, and how to decode."""

    size: int
    sha256: str
    encoding: str
    notes: tuple[str, ...] = ()


def sniff(path: Path, max_bytes: int) -> TextPlan:
    """Check, hash and choose the encoding of a text file without keeping it.

    Raises:
        LoadError: not a regular file, too large, empty or binary (as ``read_bytes``
            and ``decode_text`` would say).
    """
    fd = open_checked(path, max_bytes)
    digest = hashlib.sha256()
    strict = codecs.getincrementaldecoder("utf-8")("strict")
    lenient = codecs.getincrementaldecoder("utf-8")("replace")
    strict_ok, bad, cp1252_ok, blank = True, 0, True, True
    head = b""
    size = 0
    try:
        while True:
            data = read_chunk(fd, READ_BYTES)
            final = not data
            size += len(data)
            if size > max_bytes:
                raise grew(max_bytes)
            digest.update(data)
            if len(head) < _HEAD_BYTES:
                head += data[: _HEAD_BYTES - len(head)]
            if strict_ok:
                try:
                    strict.decode(data, final)
                except UnicodeDecodeError:
                    strict_ok = False
            bad += lenient.decode(data, final).count("\ufffd")
            cp1252_ok = cp1252_ok and not any(b in data for b in _CP1252_UNDEFINED)
            blank = blank and not data.strip()
            if final:
                break
    finally:
        os.close(fd)
    if blank:
        raise LoadError("empty file")
    encoding, notes = _choose(head, size, strict_ok, bad, cp1252_ok)
    sample = head.decode(encoding, errors="replace")[:_SNIFF]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\x1b")
    if sample and control / len(sample) > 0.05:
        raise LoadError("binary file")
    return TextPlan(size, digest.hexdigest(), encoding, notes)


def _choose(
    head: bytes, size: int, strict_ok: bool, bad: int, cp1252_ok: bool
) -> tuple[str, tuple[str, ...]]:
    """``decode_text``'s choice, from counts instead of the whole text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ()
    if b"\x00" in head[:_SNIFF]:
        raise LoadError("binary file")
    if strict_ok:
        return "utf-8-sig", ()
    if bad <= max(3, size // 200):
        return "utf-8-sig", (f"{bad} invalid UTF-8 byte(s) replaced",)
    if cp1252_ok:
        return "cp1252", ("not UTF-8; read as Windows-1252",)
    return "latin-1", ("not UTF-8; read as Latin-1",)


class TextStream:
    """The blocks of one text file, parsed a segment at a time (see the module docstring).

    Use from one thread at a time. :meth:`start` reads until the title is known;
    :attr:`bytes_read`, :attr:`position`, :attr:`lines` and, at the end,
    :attr:`sha256` (of the bytes actually parsed) follow the reading.
    """

    def __init__(self, path: Path, kind: str, plan: TextPlan, max_bytes: int) -> None:
        self.path = path
        self.kind = kind
        self.plan = plan
        self.max_bytes = max_bytes
        self.bytes_read = 0
        """Bytes read from the file: up to a read and a segment ahead of the blocks."""
        self.position = 0
        """About where in the file (in bytes) the last block handed out ends."""
        self._chars = 0
        self._handed = 0
        self.lines = 0
        self.sha256 = ""
        self.title = ""
        self._blocks = self._parse()
        self._first: list[Block] = []

    def start(self) -> None:
        """Parse the first blocks, enough to know the title (a level-1 heading among
        the first eight blocks, as ``parse_bytes`` takes it, else the file name)."""
        self._first = list(islice(self._blocks, 8))
        if not self._first:
            raise LoadError("no text found")
        heading = next(
            (b.text for b in self._first if b.kind == "heading" and b.level == 1), ""
        )
        self.title = heading or self.path.stem.replace("_", " ").strip() or self.path.name

    def blocks(self) -> Iterator[Block]:
        """Every block of the file, in order (call :meth:`start` first)."""
        yield from self._first
        self._first = []
        yield from self._blocks

    def close(self) -> None:
        """Close the file now (a stream abandoned part-way); a no-op while another
        thread is still reading it (the file then closes when that read ends)."""
        with contextlib.suppress(ValueError):
            self._blocks.close()

    def _parse(self) -> Iterator[Block]:
        styles: list[str] = []  # reStructuredText: heading levels follow first use
        for text, first, synthetic in self._segments():
            if self.kind == "markdown":
                found = parse_markdown(text)
            elif self.kind == "rst":
                found = parse_rst(text, styles)
            elif self.kind == "code":
                found = parse_code(text)
            else:
                found = parse_plain(text)
            shift = first - 1
            start, self._handed = self._handed, self._handed + len(text)
            for number, block in enumerate(found, 1):
                chars = start + len(text) * number / len(found)
                self.position = min(self.bytes_read, round(chars * self.bytes_read / self._chars))
                line = block.line_start + shift
                if synthetic:  # the fence line added to a cut code block is not in the file
                    line = max(line, first + 1)
                block = replace(block, line_start=line, line_end=block.line_end + shift)
                self.lines = max(self.lines, block.line_end)
                yield block

    def _segments(self) -> Iterator[tuple[str, int, bool]]:
        """``(text, number of its first line, starts with an added fence line)``."""
        buffer, first, synthetic = "", 1, False
        for piece in self._decoded():
            buffer += piece
            while len(buffer) > SEGMENT_CHARS:
                cut, fence = self._cut(buffer)
                if cut <= 0:
                    break
                segment = buffer[:cut]
                yield segment, first, synthetic
                first += segment.count("\n")
                buffer, synthetic = buffer[cut:], False
                if fence:  # cut inside a fenced block: the rest stays code
                    synthetic = True
                    if buffer.startswith("\n"):  # the mark takes the line end's place
                        buffer = fence + buffer
                    else:
                        buffer, first = f"{fence}\n{buffer}", first - 1
        if buffer.strip():
            yield buffer, first, synthetic

    def _cut(self, text: str) -> tuple[int, str]:
        """Where to end the next segment (0: read on), and the fence left open there."""
        fences = _open_fences(text) if self.kind == "markdown" else []
        pattern = _BLANK_THEN_TOP if self.kind in ("code", "rst") else _ANY_BLANK
        position = SEGMENT_CHARS
        while (match := pattern.search(text, position, HARD_CHARS)) is not None:
            inside = next((mark for start, end, mark in fences if start < match.start() < end), "")
            if not inside:
                return match.start(), ""
            position = match.end()
        if len(text) < HARD_CHARS:
            return 0, ""
        cut = text.rfind("\n", 0, SEGMENT_CHARS)
        if cut <= 0:
            spaces = [m.start() for m in _SPACE.finditer(text, SEGMENT_CHARS // 2, SEGMENT_CHARS)]
            cut = spaces[-1] if spaces else SEGMENT_CHARS
        inside = next((mark for start, end, mark in fences if start < cut < end), "")
        return cut, inside

    def _decoded(self) -> Iterator[str]:
        """The file's text 1 MiB at a time, newlines normalized as ``decode_text`` does."""
        fd = open_checked(self.path, self.max_bytes)
        try:
            decoder = codecs.getincrementaldecoder(self.plan.encoding)("replace")
            digest = hashlib.sha256()
            carriage = False
            while True:
                data = read_chunk(fd, READ_BYTES)
                final = not data
                self.bytes_read += len(data)
                if self.bytes_read > self.max_bytes:
                    raise grew(self.max_bytes)
                digest.update(data)
                text = decoder.decode(data, final)
                if carriage:
                    text = "\r" + text
                carriage = text.endswith("\r") and not final
                if carriage:
                    text = text[:-1]  # it may start a \r\n split between two reads
                text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
                self._chars += len(text)
                if text:
                    yield text
                if final:
                    break
            self.sha256 = digest.hexdigest()
        finally:
            os.close(fd)


def _open_fences(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, opening mark)`` of the fenced code blocks of Markdown ``text``,
    matched as ``parse_markdown`` matches them; an unclosed one ends at ``len(text)``."""
    spans: list[tuple[int, int, str]] = []
    opened: tuple[int, str] | None = None
    for match in _FENCE_LINE.finditer(text):
        mark = match.group(1)
        if opened is None:
            opened = (match.start(), mark)
        elif mark[0] == opened[1][0] and len(mark) >= len(opened[1]):
            end = text.find("\n", match.end())
            spans.append((opened[0], end if end >= 0 else len(text), opened[1]))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text), opened[1]))
    return spans
