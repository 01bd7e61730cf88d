"""Cheap conversation listing: a small index cache over the transcripts.

Listing must not parse every message of every conversation. Each transcript
is scanned once for its header, title events and message count, and the
result is cached in ``chats/.index.json`` with the file's size, mtime and
inode. Because transcripts are append-only, a file that grew is scanned only
from where the last scan stopped. The index is a cache: if it is missing or
unreadable it is rebuilt, and it never holds anything that exists nowhere else.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from offyai_tui.util.fileio import atomic_write_text

INDEX_NAME = ".index.json"
INDEX_VERSION = 1
_FAST_TYPE = re.compile(rb'^\{"type": ?"([a-z_]+)"')


@dataclass
class IndexEntry:
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    scanned: int = 0
    """Byte offset just past the last complete line scanned."""
    title: str = ""
    created: str = ""
    count: int = 0


def scan(path: Path, previous: IndexEntry | None) -> IndexEntry:
    """Return an up-to-date entry for ``path``, reusing ``previous`` when possible."""
    st = path.stat()
    if previous and (previous.size, previous.mtime_ns, previous.inode) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    ):
        return previous
    grown = previous is not None and previous.inode == st.st_ino and st.st_size >= previous.scanned
    entry = IndexEntry(**asdict(previous)) if grown and previous else IndexEntry()
    with path.open("rb") as handle:
        handle.seek(entry.scanned)
        data = handle.read()
    end = data.rfind(b"\n") + 1  # a torn last line is left for the next scan
    for line in data[:end].split(b"\n"):
        _scan_line(line, entry)
    entry.scanned += end
    entry.size, entry.mtime_ns, entry.inode = st.st_size, st.st_mtime_ns, st.st_ino
    return entry


def _scan_line(line: bytes, entry: IndexEntry) -> None:
    match = _FAST_TYPE.match(line)
    kind = match.group(1).decode() if match else ""
    if kind == "message":
        entry.count += 1
    elif kind == "deleted":
        entry.count = max(0, entry.count - 1)
    elif kind in ("header", "title") or (not match and line.strip()):
        try:
            event = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return
        if not isinstance(event, dict):
            return
        if not match:  # written by hand or by another tool: classify the slow way
            kind = event.get("type", "")
            if kind in ("message", "deleted"):
                _scan_line(b'{"type":"' + kind.encode() + b'"}', entry)
                return
        title = event.get("title")
        if isinstance(title, str) and (kind == "title" or (kind == "header" and not entry.title)):
            entry.title = title
        created = event.get("created")
        if kind == "header" and isinstance(created, str):
            entry.created = created


def load_index(path: Path) -> dict[str, IndexEntry]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("v") != INDEX_VERSION:
            return {}
        return {key: IndexEntry(**value) for key, value in raw["entries"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save_index(path: Path, entries: dict[str, IndexEntry]) -> None:
    data: dict[str, Any] = {
        "v": INDEX_VERSION,
        "entries": {k: asdict(v) for k, v in sorted(entries.items())},
    }
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
