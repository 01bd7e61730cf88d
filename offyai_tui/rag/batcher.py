"""Small files: parsed whole, then embedded in batches that span files.

Embedding is fastest in full batches, and a folder of notes is mostly files of
a few chunks each, so chunks of consecutive files share batches; a file is
stored once all its chunks have vectors. A run stopped mid-batch stores
nothing of the files still waiting (they are indexed again next time).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from offyai_tui.rag.bigfile import PARTIAL
from offyai_tui.rag.chunker import iter_chunks
from offyai_tui.rag.documents import Chunk, LoadedDocument, Skipped
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentRecord, IndexWriter
from offyai_tui.rag.loaders import LoadError, kind_of, parse_bytes, read_bytes
from offyai_tui.rag.progress import IndexReport
from offyai_tui.rag.threads import in_thread
from offyai_tui.settings.config import Settings

if TYPE_CHECKING:
    from offyai_tui.rag.indexer import Indexer


def load_and_chunk(
    path: Path, data: bytes, kind: str, settings: Settings,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[LoadedDocument, list[Chunk]]:
    """Parse and chunk a file read whole (runs in a worker thread); ``stop`` is asked
    between pages and chunks, so a cancelled run does not finish a long parse."""
    doc = parse_bytes(path, data, kind, settings.rag.max_file_mb * 2**20, stop)
    chunks = []
    rag = settings.rag
    for chunk in iter_chunks(doc.blocks, doc.path, doc.title, rag.chunk_tokens, rag.chunk_overlap):
        if stop():
            raise LoadError("stopped")
        chunks.append(chunk)
    return doc, chunks


async def load_one(
    indexer: Indexer, writer: IndexWriter, path: Path, max_bytes: int, report: IndexReport
) -> Pending | None:
    """Read, hash, parse and chunk one file; ``None`` if skipped or unchanged.

    A file left ``partial`` (it was streamed once, and is small now) is indexed
    again whole.
    """
    name = str(path)
    kind = kind_of(path)
    if kind is None:
        reason = f"unsupported file type ({path.suffix.lower()})"
        indexer._skip(writer, name, skip_kind(name), reason, report)
        return None
    try:
        data = await indexer.until_cancelled(in_thread(read_bytes, path, max_bytes))
    except LoadError as exc:
        indexer._skip(writer, name, kind, str(exc), report)
        return None
    digest = hashlib.sha256(data).hexdigest()
    known = indexer.index.document(name)
    if known and known.sha256 == digest and known.status != PARTIAL:
        if known.status == "indexed":
            report.unchanged.append(name)
        else:
            report.skipped.append(Skipped(name, known.reason))
        return None
    try:
        doc, chunks = await indexer.until_cancelled(
            in_thread(load_and_chunk, path, data, kind, indexer.settings, indexer._halt.is_set)
        )
    except LoadError as exc:
        indexer._skip(writer, name, kind, str(exc), report, len(data), digest)
        return None
    record = DocumentRecord(
        path=name, kind=doc.kind, size=doc.size, sha256=digest, lines=doc.lines,
        pages=doc.pages, title=doc.title, notes=list(doc.notes), indexed_at=time.time(),
    )
    return Pending(record, chunks, known is not None)


def skip_kind(path: str) -> str:
    """The kind shown for a skipped path: its loader, ``folder``, or its suffix."""
    if os.path.isdir(path):
        return "folder"
    suffix = Path(path).suffix.lower().lstrip(".")
    return kind_of(Path(path)) or suffix or "file"


@dataclass
class Pending:
    """A parsed file waiting for its vectors."""

    record: DocumentRecord
    chunks: list[Chunk]
    replaces: bool
    vectors: list[np.ndarray] = field(default_factory=list)
    embedded: int = 0

    @property
    def bytes_left(self) -> float:
        """The file's size times the share of its chunks still without vectors."""
        return self.record.size * (1 - self.embedded / max(len(self.chunks), 1))


class Batcher:
    """Fills embedding batches across files, so many small files still make full
    batches, and stores each file once all its chunks have vectors.

    A file waiting here is held whole (its chunks and vectors): only files up to
    ``bigfile.STREAM_MIN_BYTES`` come here, larger text files are streamed.
    """

    def __init__(
        self, indexer: Indexer, writer: IndexWriter, identity: EmbeddingIdentity,
        report: IndexReport,
    ) -> None:
        self.indexer = indexer
        self.writer = writer
        self.identity = identity
        self.report = report
        self.pending: list[Pending] = []
        self.embedded = 0
        self.tick: Callable[[], None] = lambda: None
        """Called after each batch (the indexer reports progress from it)."""

    def bytes_left(self) -> float:
        return sum(p.bytes_left for p in self.pending)

    def _waiting(self) -> int:
        return sum(len(p.chunks) - p.embedded for p in self.pending)

    async def add(self, item: Pending) -> None:
        self.pending.append(item)
        size = self.indexer.embedder.batch_size
        while self._waiting() >= size and not self.indexer.cancelled:
            await self._flush(size)
        self._store_complete()

    async def flush_all(self) -> None:
        while self.pending and not self.indexer.cancelled:
            await self._flush(self.indexer.embedder.batch_size)
        self._store_complete()

    async def _flush(self, size: int) -> None:
        parts: list[tuple[Pending, int, int]] = []
        texts: list[str] = []
        for item in self.pending:
            if len(texts) >= size:
                break
            start = item.embedded
            end = min(len(item.chunks), start + size - len(texts))
            if end > start:
                parts.append((item, start, end))
                texts.extend(c.indexed_text() for c in item.chunks[start:end])
        clock = time.monotonic()
        vectors = await self.indexer.until_cancelled(self.indexer.embedder.embed(texts))
        self.report.embed_seconds += time.monotonic() - clock
        offset = 0
        for item, start, end in parts:
            item.vectors.append(vectors[offset : offset + end - start])
            item.embedded = end
            offset += end - start
        self.embedded += len(texts)
        self._store_complete()
        self.tick()

    def _store_complete(self) -> None:
        while self.pending and self.pending[0].embedded >= len(self.pending[0].chunks):
            item = self.pending.pop(0)
            dim = self.identity.dim
            vectors = np.vstack(item.vectors) if item.vectors else np.zeros((0, dim), np.float32)
            self.writer.put_document(item.record, item.chunks, vectors, self.identity)
            (self.report.updated if item.replaces else self.report.added).append(item.record.path)
            self.report.chunks += len(item.chunks)
