"""Crash-safe JSONL transcripts: one file per conversation, append-only.

The first line is a ``header``; every later line is one event::

    {"type": "header", "v": 2, "id": "...", "title": "...", "created": "...", "mode": "default"}
    {"type": "message", "id": "...", "parent_id": null, "role": "user", "status": "complete",
     "content": "...", "images": [{"sha256": "...", "mime": "image/png",
                                   "file": "attachments/<sha256>.png", "name": "cat.png"}]}
    {"type": "checkpoint", "id": "<message id>", "parent_id": "<its parent>", "offset": 0,
     "text": "partial answer..."}
    {"type": "edit", "id": "<message id>", "content": "...", "created": "..."}
    {"type": "params", "params": {"temperature": 0.2}, "system": null, "documents": true}
    {"type": "shown", "id": "<message id>"}
    {"type": "continue", "id": "<assistant message id>", "created": "..."}
    {"type": "title" | "mode" | "deleted" | "clear", ...}

Format 2: every message names its ``parent_id`` (the message it answers or
follows; ``null`` for a first message), so regenerated or edited variants form
a tree in the one file; ``shown`` points the current branch at a message
(otherwise it ends in the message added last; see :mod:`.tree`). A regenerated
answer or an edited prompt is a new ``message`` beside the old one (same
``parent_id``); ``continue`` reopens a cut-short answer, whose later
checkpoints and final line grow it in place (:mod:`.variants`). Images are
references to files stored once in the workspace (:mod:`.attachments`), never
bytes. Assistant messages may hold ``tool_calls`` (``id``, ``name``,
``arguments``); a tool's result is a ``"role": "tool"`` message with
``tool_call_id`` and ``name``. Format-1 files (no ``parent_id`` anywhere) open
unchanged and are never rewritten; what is appended to them is format 2, and
the reader decides line by line (:mod:`.upgrades.v1`). Older readers skip
``shown`` with a warning and show every variant as one flat list.

An assistant ``message`` answered with documents on also holds ``sources`` (the
numbered passages, each ``Source.to_dict()``) and ``retrieval`` (query, mode,
model, elapsed_ms, note). ``documents`` in ``params`` is the conversation's
documents toggle. All three are optional: transcripts without them read as
documents off and answers without sources, and older readers ignore them. The
first ``checkpoint`` of such an answer carries ``sources`` and ``retrieval`` too.

Why this shape: appending never rewrites what is already saved, so a crash or a
full disk can damage at most the line being written; the reader skips such a
line with a warning. A streaming answer is saved as ``checkpoint`` lines, each
holding the text produced since the previous one (``offset`` is where it
starts, in characters), so a killed app reloads the answer as ``interrupted``
with everything up to the last checkpoint. The final ``message`` line repeats
the whole text, so completed answers never depend on checkpoints.

Completed events are fsynced; checkpoints are written straight to the kernel
(no user-space buffer) but not fsynced, which survives a killed process and
keeps streaming cheap.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from offyai_tui.chat.errors import TranscriptError
from offyai_tui.chat.replay import EVENT_TYPES, FORMAT_VERSION, Replay, TranscriptData
from offyai_tui.util.fileio import ensure_private_dir, fsync_dir

__all__ = [
    "EVENT_TYPES",
    "FORMAT_VERSION",
    "TranscriptData",
    "TranscriptWriter",
    "encode_event",
    "iter_lines",
    "parse_transcript",
    "read_transcript",
]


def encode_event(event: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8, newline-terminated, with no raw newline inside.

    ``ensure_ascii=False`` keeps non-English text readable and greppable; a
    lone surrogate (undecodable input) is written as a JSON ``\\udcXX`` escape
    instead of failing.
    """
    text = json.dumps(event, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace") + b"\n"


class TranscriptWriter:
    """Appends events to one transcript file.

    Each call opens the file, writes whole lines with ``O_APPEND`` and closes
    it, so no descriptor is held per conversation and a deleted transcript is
    noticed instead of silently recreated without its header.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._check_tail = True

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def create(self, header: dict[str, Any], events: Iterable[dict[str, Any]] = ()) -> None:
        """Create the file (0600) with its header and first events, fsynced.

        If the write fails, the half-written file is removed: nothing was
        saved before, so nothing is lost.
        """
        data = encode_event(header) + b"".join(encode_event(e) for e in events)
        try:
            ensure_private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except OSError as exc:
            raise TranscriptError(_describe(exc, self.path)) from exc
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise TranscriptError(_describe(exc, self.path)) from exc
        os.close(fd)
        fsync_dir(self.path.parent)
        self._check_tail = False

    def append(self, *events: dict[str, Any], durable: bool = True) -> None:
        """Append whole lines; with ``durable`` they are fsynced before returning.

        On failure the file is cut back to its previous length (only our own
        partial line is removed) and :class:`TranscriptError` is raised.
        """
        data = b"".join(encode_event(e) for e in events)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError as exc:
            raise TranscriptError(
                f"{self.path.name} no longer exists (conversation deleted?); not saved"
            ) from exc
        except OSError as exc:
            raise TranscriptError(_describe(exc, self.path)) from exc
        size = -1
        try:
            size = os.fstat(fd).st_size
            if self._check_tail and size > 0 and _last_byte(fd, size) != b"\n":
                # A line torn by an earlier crash: start ours on a fresh line.
                data = b"\n" + data
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
            self._check_tail = False
        except OSError as exc:
            self._check_tail = True
            if size >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
            raise TranscriptError(_describe(exc, self.path)) from exc
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # pragma: no cover - os.write raises instead
            raise OSError(errno.EIO, "write returned 0")
        view = view[written:]


def _last_byte(fd: int, size: int) -> bytes:
    return os.pread(fd, 1, size - 1)


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno == errno.EDQUOT:
        reason = "the disk quota is exceeded"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    elif exc.errno == errno.EROFS:
        reason = "the file system is read-only"
    else:
        reason = exc.strerror or str(exc)
    return f"could not save {path.name}: {reason}; earlier messages are safe"


# --------------------------------------------------------------------- reading


def read_transcript(path: Path) -> TranscriptData:
    """Load a transcript file; unreadable lines become warnings, never errors.

    Raises :class:`TranscriptError` only if the file itself cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"could not read {path.name}: {exc.strerror or exc}") from exc
    return parse_transcript(data, path.stem, path.name)


def iter_lines(data: bytes, name: str, warnings: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, event)`` for every valid line of ``data``.

    Lines are split on ``\\n`` bytes only (not on U+2028 and friends, which
    JSON allows inside strings). A line that is not UTF-8, not JSON, or not an
    object with a string ``type`` is reported in ``warnings`` and skipped.
    """
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            warnings.append(f"{name}:{lineno}: unreadable line skipped ({len(raw)} bytes)")
            continue
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            warnings.append(f"{name}:{lineno}: line without an event type skipped")
            continue
        yield lineno, event


def parse_transcript(data: bytes, conv_id: str, name: str = "") -> TranscriptData:
    """Replay transcript bytes into a :class:`TranscriptData` (pure; never raises)."""
    name = name or f"{conv_id}.jsonl"
    result = TranscriptData(id=conv_id)
    replay = Replay(result, name)
    for lineno, event in iter_lines(data, name, result.warnings):
        try:
            replay.apply(lineno, event)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            kind = event.get("type")
            result.warnings.append(f"{name}:{lineno}: bad {kind} event skipped ({exc})")
    if not replay.saw_header:
        result.warnings.append(f"{name}: header line missing; using defaults")
    replay.finish()
    return result
