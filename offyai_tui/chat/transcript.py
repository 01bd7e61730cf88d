"""Crash-safe JSONL transcripts: one file per conversation, append-only.

The first line is a ``header``; every later line is one event::

    {"type": "header", "v": 1, "id": "...", "title": "...", "created": "...", "mode": "default"}
    {"type": "message", "id": "...", "role": "user", "status": "complete", "content": "..."}
    {"type": "checkpoint", "id": "<message id>", "offset": 0, "text": "partial answer..."}
    {"type": "edit", "id": "<message id>", "content": "...", "created": "..."}
    {"type": "params", "params": {"temperature": 0.2}, "system": null, "documents": true}
    {"type": "title" | "mode" | "deleted" | "clear", ...}

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offyai_tui.chat.errors import ParameterError, TranscriptError
from offyai_tui.chat.params import ParamValue, check_param
from offyai_tui.chat.records import FINAL_STATUSES, ChatMessage
from offyai_tui.fileio import fsync_dir
from offyai_tui.locations import ensure_private_dir

FORMAT_VERSION = 1
EVENT_TYPES = frozenset(
    {"header", "message", "checkpoint", "edit", "title", "mode", "params", "deleted", "clear"}
)
_ROLES = frozenset({"system", "user", "assistant"})


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


@dataclass
class TranscriptData:
    """A transcript replayed into its current state."""

    id: str
    title: str = ""
    created: str = ""
    model: str = ""
    mode: str = ""
    params: dict[str, ParamValue] = field(default_factory=dict)
    system: str | None = None
    """System prompt set with ``/set system`` (overrides the mode's)."""
    documents: bool = False
    """Answer from the workspace's documents (the toggle, from ``params`` events)."""
    messages: list[ChatMessage] = field(default_factory=list)
    updated: str = ""
    """Timestamp of the newest event that carried one."""
    version: int = FORMAT_VERSION
    warnings: list[str] = field(default_factory=list)
    """Lines skipped and why; never raised, the UI may show them."""


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
    replay = _Replay(result, name)
    for lineno, event in iter_lines(data, name, result.warnings):
        try:
            replay.apply(lineno, event)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            kind = event.get("type")
            result.warnings.append(f"{name}:{lineno}: bad {kind} event skipped ({exc})")
    if not replay.saw_header:
        result.warnings.append(f"{name}: header line missing; using defaults")
    result.messages = list(replay.messages.values())
    return result


class _Replay:
    def __init__(self, result: TranscriptData, name: str) -> None:
        self.result = result
        self.name = name
        self.messages: dict[str, ChatMessage] = {}
        self.partial: set[str] = set()
        """Ids known only from checkpoints so far."""
        self.saw_header = False

    def apply(self, lineno: int, event: dict[str, Any]) -> None:
        kind = event["type"]
        stamp = event.get("created")
        if isinstance(stamp, str) and stamp > self.result.updated:
            self.result.updated = stamp
        handler = getattr(self, f"_on_{kind}", None)
        if kind not in EVENT_TYPES or handler is None:
            self.result.warnings.append(f"{self.name}:{lineno}: unknown event {kind!r} skipped")
            return
        handler(lineno, event)

    def _on_header(self, lineno: int, event: dict[str, Any]) -> None:
        if self.saw_header:
            self.result.warnings.append(f"{self.name}:{lineno}: second header ignored")
            return
        self.saw_header = True
        r = self.result
        r.title = _str(event, "title")
        r.created = _str(event, "created")
        r.model = _str(event, "model")
        r.mode = _str(event, "mode")
        version = event.get("v", FORMAT_VERSION)
        r.version = version if isinstance(version, int) else FORMAT_VERSION
        if r.version > FORMAT_VERSION:
            r.warnings.append(
                f"{self.name}: written by a newer OffyAI (format {r.version}); "
                "unknown events are skipped"
            )

    def _on_message(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        role = _required_str(event, "role")
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}")
        status = event.get("status", "complete")
        if status not in FINAL_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        stats = event.get("stats", {})
        message = ChatMessage(
            id=msg_id,
            role=role,  # type: ignore[arg-type]
            content=_required_str(event, "content"),
            created=_str(event, "created"),
            model=_str(event, "model"),
            stats=stats if isinstance(stats, dict) else {},
            request_id=_str(event, "request_id"),
            status=status,
            error=_str(event, "error"),
            sources=_sources(event),
            thinking=_str(event, "thinking"),
            retrieval=_dict(event, "retrieval"),
        )
        self.messages[msg_id] = message
        self.partial.discard(msg_id)

    def _on_checkpoint(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        text = _required_str(event, "text")
        offset = event.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad offset")
        current = self.messages.get(msg_id)
        if current is None:
            current = ChatMessage(
                id=msg_id,
                role="assistant",
                content="",
                created=_str(event, "created"),
                model=_str(event, "model"),
                request_id=_str(event, "request_id"),
                status="interrupted",
                sources=_sources(event),
                retrieval=_dict(event, "retrieval"),
            )
            self.messages[msg_id] = current
            self.partial.add(msg_id)
        elif msg_id not in self.partial:
            return  # already final: the message line holds the whole text
        if offset > len(current.content):
            self.result.warnings.append(
                f"{self.name}:{lineno}: part of an interrupted answer is missing"
            )
            current.content += text
        else:
            current.content = current.content[:offset] + text

    def _on_edit(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        content = _required_str(event, "content")
        message = self.messages.get(msg_id)
        if message is None:
            self.result.warnings.append(f"{self.name}:{lineno}: edit of an unknown message skipped")
            return
        message.content = content
        message.edited = _str(event, "created") or "edited"

    def _on_title(self, lineno: int, event: dict[str, Any]) -> None:
        self.result.title = _required_str(event, "title")

    def _on_mode(self, lineno: int, event: dict[str, Any]) -> None:
        self.result.mode = _required_str(event, "mode")

    def _on_params(self, lineno: int, event: dict[str, Any]) -> None:
        params = event.get("params", {})
        if not isinstance(params, dict):
            raise ValueError("params is not an object")
        clean: dict[str, ParamValue] = {}
        for key, value in params.items():
            try:
                clean[key] = check_param(key, value)
            except ParameterError as exc:
                self.result.warnings.append(f"{self.name}:{lineno}: {exc}; ignored")
        self.result.params = clean
        system = event.get("system")
        self.result.system = system if isinstance(system, str) else None
        documents = event.get("documents")
        if isinstance(documents, bool):
            self.result.documents = documents

    def _on_deleted(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        self.messages.pop(msg_id, None)
        self.partial.discard(msg_id)

    def _on_clear(self, lineno: int, event: dict[str, Any]) -> None:
        for message in self.messages.values():
            message.in_context = False


def _str(event: dict[str, Any], key: str) -> str:
    value = event.get(key, "")
    return value if isinstance(value, str) else ""


def _dict(event: dict[str, Any], key: str) -> dict[str, Any]:
    value = event.get(key, {})
    return value if isinstance(value, dict) else {}


def _sources(event: dict[str, Any]) -> list[dict[str, Any]]:
    value = event.get("sources", [])
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _required_str(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} missing or not a string")
    return value
