"""What the index's reader and writer share: the SQLite schema, the rows, opening files.

:mod:`offyai_tui.rag.index` reads (and owns the layout described there);
:mod:`offyai_tui.rag.index_writer` writes. Both open the same files the same
way, so the helpers live here rather than in either.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offyai_tui.rag.documents import location

FORMAT_VERSION = 2
DB_NAME = "index.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    lines INTEGER NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL,
    title TEXT NOT NULL, notes TEXT NOT NULL, indexed_at REAL NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, ordinal INTEGER NOT NULL,
    header TEXT NOT NULL, body TEXT NOT NULL, heading TEXT NOT NULL, title TEXT NOT NULL,
    line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    page_start INTEGER, page_end INTEGER, tokens INTEGER NOT NULL, overlap_chars INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS roots (
    path TEXT PRIMARY KEY, excluded INTEGER NOT NULL, added_at REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    header, body, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
"""


@dataclass(frozen=True)
class DocumentRecord:
    """One row of the documents list (also exported to ``documents.json``)."""

    path: str
    kind: str
    size: int
    sha256: str
    lines: int = 0
    pages: int = 0
    chunks: int = 0
    title: str = ""
    notes: list[str] = field(default_factory=list)
    indexed_at: float = 0.0
    status: str = "indexed"
    """``indexed``, ``skipped`` (then ``reason`` says why) or ``partial``: a large
    file stopped part-way, whose ``chunks`` stored so far are searchable (see
    ``bigfile``)."""
    reason: str = ""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored, with its id; what retrieval returns and prompts cite."""

    id: int
    path: str
    ordinal: int
    header: str
    text: str
    heading_path: tuple[str, ...]
    title: str
    line_start: int
    line_end: int
    page_start: int | None
    page_end: int | None
    tokens: int

    @property
    def location(self) -> str:
        return location(self.line_start, self.line_end, self.page_start, self.page_end)

    def indexed_text(self) -> str:
        return f"{self.header}\n\n{self.text}" if self.header else self.text


def private_file(path: Path) -> None:
    """Create ``path`` 0600 if missing, so SQLite (and its journal) inherit the mode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def load_faiss() -> Any:
    import faiss

    # One query is a single matrix-vector product: OpenMP threads only add
    # spin-waiting, which costs tens of milliseconds on a busy machine.
    faiss.omp_set_num_threads(1)
    return faiss


CHUNK_COLUMNS = (
    "id, path, ordinal, header, body, heading, title, line_start, line_end, "
    "page_start, page_end, tokens"
)


def row_to_chunk(row: Sequence) -> StoredChunk:
    return StoredChunk(
        id=row[0], path=row[1], ordinal=row[2], header=row[3], text=row[4],
        heading_path=tuple(json.loads(row[5])), title=row[6], line_start=row[7],
        line_end=row[8], page_start=row[9], page_end=row[10], tokens=row[11],
    )


def is_under(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` itself or inside the folder ``prefix``."""
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def row_to_record(row: Sequence) -> DocumentRecord:
    return DocumentRecord(
        path=row[0], kind=row[1], size=row[2], sha256=row[3], lines=row[4], pages=row[5],
        chunks=row[6], title=row[7], notes=json.loads(row[8]), indexed_at=row[9],
        status=row[10], reason=row[11],
    )

