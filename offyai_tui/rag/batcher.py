"""Small files: parsed whole, then embedded in batches that span files.

Embedding is fastest in full batches, and a folder of notes is mostly files of
a few chunks each, so chunks of consecutive files share batches; a file is
stored once all its chunks have vectors. A run stopped mid-batch stores
nothing of the files still waiting (they are indexed again next time).

Up to :data:`IN_FLIGHT` batches are embedding at once, so the embedding workers
never wait: while one batch embeds, the next files are read and chunked and the
next batch is already queued at each worker. Awaiting each batch before reading
on left every core idle while files were parsed, and (with one worker per core,
each handed a part of the batch) left the worker that finished its part first
idle until the other finished too.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import deque
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
    kept = indexer.index.vectors_of(name) if known is not None else {}
    return Pending(record, chunks, known is not None,
                   [kept.get(chunk.indexed_text()) for chunk in chunks])


def skip_kind(path: str) -> str:
    """The kind shown for a skipped path: its loader, ``folder``, or its suffix."""
    if os.path.isdir(path):
        return "folder"
    suffix = Path(path).suffix.lower().lstrip(".")
    return kind_of(Path(path)) or suffix or "file"


IN_FLIGHT = 2
"""Batches embedding at once: one for the workers to finish, one queued behind it."""


@dataclass
class Pending:
    """A parsed file waiting for its vectors."""

    record: DocumentRecord
    chunks: list[Chunk]
    replaces: bool
    vectors: list[np.ndarray | None]
    """Each chunk's vector: kept from the file's last version where the chunk's text
    is unchanged (an edited file embeds only what changed), else set once embedded."""
    todo: list[int] = field(init=False)
    """The chunks to embed (their positions), in order."""
    embedded: int = 0
    """Chunks of :attr:`todo` with vectors (the first ones)."""
    sent: int = 0
    """Chunks of :attr:`todo` handed to a batch, embedded or still embedding."""

    def __post_init__(self) -> None:
        self.todo = [i for i, vector in enumerate(self.vectors) if vector is None]

    @property
    def kept(self) -> int:
        return len(self.chunks) - len(self.todo)

    @property
    def bytes_left(self) -> float:
        """The file's size times the share of its chunks still without vectors."""
        left = len(self.todo) - self.embedded
        return self.record.size * left / max(len(self.chunks), 1)


@dataclass
class _Flight:
    """A batch sent to the embedder: which chunks of which files, and its vectors to be."""

    parts: list[tuple[Pending, int, int]]
    size: int
    started: float
    task: asyncio.Future[np.ndarray]
    done_at: float = 0.0


class Batcher:
    """Fills embedding batches across files, so many small files still make full
    batches, and stores each file once all its chunks have vectors.

    A file waiting here is held whole (its chunks and vectors): only files up to
    ``bigfile.STREAM_MIN_BYTES`` come here, larger text files are streamed.
    Files are stored only from :meth:`add` and :meth:`flush_all`, in the indexer's
    own steps (never from a batch finishing meanwhile, while a commit may run).
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
        self.flights: deque[_Flight] = deque()
        self._busy_until = 0.0
        self.tick: Callable[[], None] = lambda: None
        """Called after each batch (the indexer reports progress from it)."""

    def bytes_left(self) -> float:
        return sum(p.bytes_left for p in self.pending)

    def _unsent(self) -> int:
        return sum(len(p.todo) - p.sent for p in self.pending)

    async def add(self, item: Pending) -> None:
        self.pending.append(item)
        size = self.indexer.embedder.batch_size
        while self._unsent() >= size and not self.indexer.cancelled:
            await self._send(size)
        while self.flights and self.flights[0].task.done():
            await self._land()
        self._store_complete()

    async def flush_all(self) -> None:
        size = self.indexer.embedder.batch_size
        while (self.flights or self._unsent()) and not self.indexer.cancelled:
            if self._unsent():
                await self._send(size)
            else:
                await self._land()
        self._store_complete()

    async def _send(self, size: int) -> None:
        """Start embedding the next ``size`` chunks (after the oldest batch lands,
        if :data:`IN_FLIGHT` are out)."""
        while len(self.flights) >= IN_FLIGHT:
            await self._land()
        parts: list[tuple[Pending, int, int]] = []
        texts: list[str] = []
        for item in self.pending:
            if len(texts) >= size:
                break
            start = item.sent
            end = min(len(item.todo), start + size - len(texts))
            if end > start:
                parts.append((item, start, end))
                texts.extend(item.chunks[i].indexed_text() for i in item.todo[start:end])
                item.sent = end
        task = asyncio.ensure_future(
            self.indexer.until_cancelled(self.indexer.embedder.embed(texts))
        )
        flight = _Flight(parts, len(texts), time.monotonic(), task)
        task.add_done_callback(lambda _: setattr(flight, "done_at", time.monotonic()))
        task.add_done_callback(_retrieved)  # a stopped run leaves some unawaited
        self.flights.append(flight)

    async def _land(self) -> None:
        """Await the oldest batch and give its vectors to their files."""
        flight = self.flights[0]
        try:
            vectors = await flight.task
        except BaseException:  # the run ends here: the batches behind it are not wanted
            for later in self.flights:
                later.task.cancel()
            self.flights.clear()
            raise
        self.flights.popleft()
        # Embedding time is the time any batch was out, overlaps counted once.
        start = max(flight.started, self._busy_until)
        self.report.embed_seconds += max(flight.done_at - start, 0.0)
        self._busy_until = max(self._busy_until, flight.done_at)
        offset = 0
        for item, begin, end in flight.parts:
            for position, row in zip(item.todo[begin:end], vectors[offset : offset + end - begin]):
                item.vectors[position] = row
            item.embedded = end
            offset += end - begin
        self.embedded += flight.size
        self._store_complete()
        self.tick()

    def _store_complete(self) -> None:
        while self.pending and self.pending[0].embedded >= len(self.pending[0].todo):
            item = self.pending.pop(0)
            dim = self.identity.dim
            vectors = (np.vstack(item.vectors) if item.vectors  # type: ignore[arg-type]
                       else np.zeros((0, dim), np.float32))
            self.writer.put_document(item.record, item.chunks, vectors, self.identity)
            (self.report.updated if item.replaces else self.report.added).append(item.record.path)
            self.report.chunks += len(item.todo)
            self.report.kept += item.kept


def _retrieved(task: asyncio.Future[np.ndarray]) -> None:
    """Mark a batch's error as seen (it is raised again where the batch is awaited)."""
    if not task.cancelled():
        task.exception()
