"""Cut a document into token-sized chunks that follow its structure.

A heading closes the current chunk, so every chunk sits under one heading
path and can be cited as "file > section > subsection, lines a-b"; in a PDF a
new page does too, so a citation names one page. Paragraphs
and code blocks are packed whole while they fit; a block too large for a chunk
is split at line ends, then sentence ends, then spaces, and only a single
"word" longer than a chunk is cut inside. Consecutive chunks of a section share
up to ``overlap`` tokens (cut at a word boundary) so a sentence split across a
boundary can still be found from either side.

Invariant (tested with hypothesis): removing each chunk's overlap prefix and
joining the rest gives back every non-heading character of the document, in
order, apart from whitespace; and no chunk exceeds ``max_tokens``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from offyai_tui.rag import tokens
from offyai_tui.rag.documents import Block, Chunk, LoadedDocument

_SEPARATORS = (re.compile(r"\n+"), re.compile(r"(?<=[.!?;:])\s+"), re.compile(r"\s+"))
_WORD_START = re.compile(r"(?<=\s)\S")
_JOIN_COST = 1
"""Tokens reserved per separator when estimating a chunk from its pieces."""


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    sep: str
    line_start: int
    line_end: int
    page: int | None


def _hard_cut(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    """Spans of at most ``budget`` tokens inside one unbreakable run of characters."""
    spans = []
    while start < end:
        lo, hi = start + 1, end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if tokens.count(text[start:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        spans.append((start, lo))
        start = lo
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_spans(text: str, budget: int, level: int = 0) -> list[tuple[int, int]]:
    """Character spans covering all non-space text, each of at most ``budget`` tokens."""
    return [(start, end) for start, end, _ in _split(text, 0, len(text), budget, level)]


def _split(
    text: str, start: int, end: int, budget: int, level: int, known: int | None = None
) -> list[tuple[int, int, int]]:
    """Spans as :func:`split_spans`, each with its token count.

    ``known`` is the count of ``text[start:end]`` when the caller has it: counting
    is most of the chunker's time, so no text is counted twice when avoidable.
    """
    bounds = _strip(text, start, end)
    if bounds != (start, end):
        known = None
    start, end = bounds
    if start >= end:
        return []
    count = known if known is not None else tokens.count(text[start:end])
    if count <= budget:
        return [(start, end, count)]
    if level >= len(_SEPARATORS):
        return [(a, b, tokens.count(text[a:b])) for a, b in _hard_cut(text, start, end, budget)]
    units: list[tuple[int, int]] = []
    cursor = start
    for match in _SEPARATORS[level].finditer(text, start, end):
        if match.start() > cursor:
            units.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        units.append((cursor, end))
    if len(units) <= 1:
        return _split(text, start, end, budget, level + 1)
    spans: list[tuple[int, int, int]] = []
    pack_start, pack_tokens, pack_units = -1, 0, 0
    pack_end = start

    def close_pack() -> None:
        known = pack_tokens if pack_units == 1 else None  # one unit: already counted
        spans.extend(_split(text, pack_start, pack_end, budget, level + 1, known))

    for unit_start, unit_end in units:
        unit_tokens = tokens.count(text[unit_start:unit_end])
        if unit_tokens > budget:
            if pack_start >= 0:
                close_pack()
                pack_start = -1
            spans.extend(_split(text, unit_start, unit_end, budget, level + 1, unit_tokens))
            continue
        if pack_start >= 0 and pack_tokens + _JOIN_COST + unit_tokens > budget:
            close_pack()
            pack_start = -1
        if pack_start < 0:
            pack_start, pack_tokens, pack_units = unit_start, unit_tokens, 1
        else:
            pack_tokens += _JOIN_COST + unit_tokens
            pack_units += 1
        pack_end = unit_end
    if pack_start >= 0:
        close_pack()
    return spans


def _pieces(block: Block, budget: int) -> list[_Piece]:
    text = block.text
    whole = tokens.count(text)
    if whole <= budget:
        return [_Piece(text.strip(), whole, "\n\n", block.line_start, block.line_end, block.page)]
    newlines = [m.start() for m in re.finditer("\n", text)]
    pieces = []
    previous_end = None
    for start, end, count in _split(text, 0, len(text), budget, 0, whole):
        gap = "\n\n" if previous_end is None else text[previous_end:start]
        sep = "\n\n" if previous_end is None else ("\n" if "\n" in gap else " ")
        first = block.line_start + bisect.bisect_left(newlines, start)
        last = block.line_start + bisect.bisect_left(newlines, end)
        piece_text = text[start:end]
        pieces.append(
            _Piece(piece_text, count, sep, first,
                   min(last, block.line_end), block.page)
        )
        previous_end = end
    return pieces


def overlap_suffix(text: str, limit: int) -> str:
    """The longest tail of ``text`` starting at a word, of at most ``limit`` tokens,
    and never more than half of ``text`` (a chunk must bring mostly new text)."""
    if limit <= 0:
        return ""
    window = max(len(text) // 2, 0)
    starts = [m.start() for m in _WORD_START.finditer(text, max(len(text) - window, 0))]
    lo, hi, best = 0, len(starts) - 1, ""
    while lo <= hi:
        mid = (lo + hi) // 2
        tail = text[starts[mid] :]
        if tokens.count(tail) <= limit:
            best, hi = tail, mid - 1
        else:
            lo = mid + 1
    return best


class _Packer:
    """Accumulates pieces of one section and emits chunks."""

    def __init__(self, path: str, title: str, max_tokens: int, overlap: int) -> None:
        self.path = path
        self.title = title
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.chunks: list[Chunk] = []
        self.heading_path: tuple[str, ...] = ()
        self._pieces: list[_Piece] = []
        self._carry: tuple[str, int, int | None] | None = None
        self._carry_tokens = 0

    def _estimate(self) -> int:
        body = sum(p.tokens + _JOIN_COST for p in self._pieces)
        return body + (self._carry_tokens + _JOIN_COST if self._carry else 0)

    def add(self, piece: _Piece) -> None:
        if self._pieces and self._estimate() + piece.tokens + _JOIN_COST > self.max_tokens:
            self.emit(carry=True)
        self._pieces.append(piece)

    def emit(self, carry: bool) -> None:
        while self._pieces:
            text = self._text()
            count = tokens.count(text)
            if count <= self.max_tokens:
                break
            if self._carry:
                self._carry, self._carry_tokens = None, 0
            elif len(self._pieces) > 1:
                held = self._pieces.pop()
                self.emit(carry=True)
                self._pieces.append(held)
                return
            else:  # pragma: no cover - a single piece is checked against the budget
                break
        if not self._pieces:
            return
        first = self._pieces[0]
        line_start, page_start = first.line_start, first.page
        overlap_chars = 0
        if self._carry:
            overlap_text, line_start, page_start = self._carry
            overlap_chars = len(overlap_text) + 1
        last = self._pieces[-1]
        self.chunks.append(
            Chunk(
                path=self.path,
                text=text,
                heading_path=self.heading_path,
                line_start=line_start,
                line_end=max(last.line_end, line_start),
                page_start=page_start,
                page_end=last.page if page_start is not None else None,
                overlap_chars=overlap_chars,
                tokens=count,
                title=self.title,
            )
        )
        self._carry, self._carry_tokens = None, 0
        if carry and self.overlap:
            self._set_carry(text, line_start, page_start)
        self._pieces = []

    def _text(self) -> str:
        parts = [self._carry[0]] if self._carry else []
        for i, piece in enumerate(self._pieces):
            if parts or i:
                parts.append(piece.sep if i else "\n")
            parts.append(piece.text)
        return "".join(parts)

    def _set_carry(self, text: str, line: int, page: int | None) -> None:
        """Keep the tail of ``text`` to start the next chunk; ``line`` and ``page``
        are where ``text`` starts, used when the tail lies in its own overlap."""
        tail = overlap_suffix(text, self.overlap)
        if not tail:
            return
        offset = len(text) - len(tail)
        last = self._pieces[-1]
        # Find the piece the tail starts in, to cite its first line correctly.
        position = len(text)
        for piece in reversed(self._pieces):
            position = text.rfind(piece.text, 0, position)
            if position <= offset:
                inside = max(offset - position, 0)
                line = piece.line_start + piece.text[:inside].count("\n")
                page = piece.page
                break
        self._carry = (tail, min(line, last.line_end), page)
        self._carry_tokens = tokens.count(tail)


def chunk_document(doc: LoadedDocument, max_tokens: int = 256, overlap: int = 32) -> list[Chunk]:
    """Chunks of ``doc`` of at most ``max_tokens`` cl100k tokens each.

    Args:
        doc: A loaded document.
        max_tokens: Upper bound on tokens per chunk (keep it well under the
            embedding model's window: MiniLM reads 512 of its own tokens).
        overlap: Tokens repeated from the previous chunk of the same section.
    """
    return list(iter_chunks(doc.blocks, doc.path, doc.title, max_tokens, overlap))


def iter_chunks(
    blocks: Iterable[Block], path: str, title: str, max_tokens: int = 256, overlap: int = 32
) -> Iterator[Chunk]:
    """The chunks of :func:`chunk_document`, made as ``blocks`` arrive.

    A large file streams through here (see ``textstream``): only the current
    section's pieces are held, never the document's blocks or chunks.
    """
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    overlap = max(0, min(overlap, max_tokens // 4))
    budget = max_tokens - overlap - 2 * _JOIN_COST
    packer = _Packer(path, title, max_tokens, overlap)
    stack: list[tuple[int, str]] = []
    headings: list[Block] = []
    """Kept until a chunk is made: a document of headings only becomes its outline."""
    emitted = False
    page: int | None = None
    for number, block in enumerate(blocks):
        if number == 0:
            page = block.page
        if block.page != page:
            packer.emit(carry=False)  # a chunk cites one page: "p. 4", never "pp. 3-4"
            page = block.page
        if block.kind == "heading":
            packer.emit(carry=False)
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.text))
            packer.heading_path = tuple(text for _, text in stack)
            if not emitted:
                headings.append(block)
        else:
            for piece in _pieces(block, budget):
                packer.add(piece)
        if packer.chunks:
            emitted, headings = True, []
            done, packer.chunks = packer.chunks, []
            yield from done
    packer.emit(carry=False)
    if not packer.chunks and not emitted and headings:
        outline = Block(
            "\n".join(h.text for h in headings), "paragraph",
            headings[0].line_start, headings[-1].line_end, headings[0].page,
        )
        packer.heading_path = ()
        for piece in _pieces(outline, budget):
            packer.add(piece)
        packer.emit(carry=False)
    yield from packer.chunks
