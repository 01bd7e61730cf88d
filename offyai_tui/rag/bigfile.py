"""Large text files: read, chunked, embedded and committed as a stream.

A text file over :data:`STREAM_MIN_BYTES` never sits in memory whole: it is
read and parsed a segment at a time (``textstream``), its chunks are made as
the blocks arrive (``chunker.iter_chunks``) and embedded one batch at a time,
and each batch is stored at once, so memory stays bounded by a few segments and
one batch whatever the file's size (the vectors themselves live in the index).
Each step runs in a worker thread for well under a second, so a stop never
waits long.

While such a file is indexed its record has status ``partial`` and counts the
chunks stored so far. The indexer's periodic commits (and its final commit
when it is stopped) therefore keep what was embedded, searchable, and the
documents list says the file is partly indexed: a half file never looks
complete.

The next run makes the file's chunks again and compares them, one at a time
with the stored ones read back (memory stays bounded), for as long as they
match: those keep their vectors, the rest is dropped and embedding goes on from
the first that differs. So a stopped run goes on from where it stopped (if its
chunks are not all made again, the chunk settings changed and the file starts
over), and a file that changed (a log that grew, a paper edited near its end)
embeds only from its first changed chunk. From the moment the rest is dropped
the record is ``partial``, so a stop then goes on from there too.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from offyai_tui.rag.chunker import iter_chunks
from offyai_tui.rag.documents import Chunk, Skipped
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentRecord, IndexWriter
from offyai_tui.rag.index_schema import StoredChunk
from offyai_tui.rag.loaders import LoadError
from offyai_tui.rag.progress import IndexReport
from offyai_tui.rag.textstream import TextStream, sniff

if TYPE_CHECKING:
    from offyai_tui.rag.indexer import Indexer

STREAM_MIN_BYTES = 1 << 20
"""Text files larger than this are streamed; smaller ones are parsed whole."""
STREAMED_KINDS = frozenset({"text", "code", "markdown", "rst"})
PARTIAL = "partial"
PARTIAL_REASON = "indexing stopped part-way; index again to go on from there"
_SKIP_STEP = 512
"""Chunks re-made per worker step while they are compared with the stored ones."""

T = TypeVar("T")


def streams(kind: str, size: int) -> bool:
    """Whether a file of this kind and size is indexed as a stream."""
    return kind in STREAMED_KINDS and size > STREAM_MIN_BYTES


class BigFile:
    """Indexes one large text file for an :class:`~offyai_tui.rag.indexer.Indexer` run.

    Args:
        indexer: The run (embedder, settings, cancellation, commits, skips).
        writer: The run's index writer.
        identity: The embedding model's identity.
        report: The run's report, updated as the file goes.
        tick: Called after each stored batch with how far into the file it got (bytes).
    """

    def __init__(
        self, indexer: Indexer, writer: IndexWriter, identity: EmbeddingIdentity,
        report: IndexReport, tick: Callable[[int], None],
    ) -> None:
        self.indexer = indexer
        self.writer = writer
        self.identity = identity
        self.report = report
        self.tick = tick
        self.embedded = 0
        """Chunks embedded by this object (the progress counts them)."""
        self._executor: ThreadPoolExecutor | None = None

    async def index(self, path: Path, kind: str, max_bytes: int) -> None:
        """Index ``path`` (see the module docstring); a stop raises the indexer's
        ``Stopped`` after the batches stored so far.

        The file's reading and chunking run in a thread of its own, so that a
        step still finishing after a stop holds up nobody (and never the
        default executor that ``asyncio.run`` waits for on the way out).
        """
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="offyai-bigfile")
        try:
            await self._index(path, kind, max_bytes)
        finally:
            self._executor.shutdown(wait=False)

    async def _index(self, path: Path, kind: str, max_bytes: int) -> None:
        name = str(path)
        try:
            plan = await self._step(sniff, path, max_bytes)
        except LoadError as exc:
            self.indexer._skip(self.writer, name, kind, str(exc), self.report)
            return
        known = self.indexer.index.document(name)
        if known is not None and known.sha256 == plan.sha256:
            if known.status == "indexed":
                self.report.unchanged.append(name)
                return
            if known.status != PARTIAL:
                self.report.skipped.append(Skipped(name, known.reason))
                return
        record = DocumentRecord(
            path=name, kind=kind, size=plan.size, sha256=plan.sha256, notes=list(plan.notes),
            indexed_at=time.time(), status=PARTIAL, reason=PARTIAL_REASON,
        )
        stream = TextStream(path, kind, plan, max_bytes)
        try:
            chunks = await self._open(stream)
            record = replace(record, title=stream.title)
            resume = 0
            if known is not None and known.chunks:
                resume, chunks = await self._same_start(chunks, stream, known.chunks)
                if known.sha256 == plan.sha256 and resume < known.chunks:
                    # A stopped run's chunks are not all made again: the chunk
                    # settings changed, so the file starts over.
                    stream.close()
                    stream = TextStream(path, kind, plan, max_bytes)
                    chunks, resume = await self._open(stream), 0
            if resume:
                self.writer.truncate_document(record, resume)
                if known is not None and known.sha256 != plan.sha256:
                    self.report.kept += resume  # an edited file's unchanged start
            else:
                self.writer.begin_document(record)
            self.report.partial.append(name)
            count = await self._embed_all(chunks, stream, record, resume)
        except LoadError as exc:  # e.g. the file grew past the limit while being read
            if name in self.report.partial:  # never leave a half file behind a skip
                self.writer.remove_document(name)
            self.indexer._skip(self.writer, name, kind, str(exc), self.report, plan.size)
            self._forget_partial(name)
            return
        finally:
            self._close(stream)
        final = replace(
            record, status="indexed", reason="", lines=stream.lines,
            sha256=stream.sha256 or plan.sha256, indexed_at=time.time(),
        )
        self.writer.end_document(final, count)
        self._forget_partial(name)
        replaced = known is not None and known.status != PARTIAL
        (self.report.updated if replaced else self.report.added).append(name)

    async def _open(self, stream: TextStream) -> Iterator[Chunk]:
        await self._step(stream.start)
        rag = self.indexer.settings.rag
        return iter_chunks(
            stream.blocks(), str(stream.path), stream.title, rag.chunk_tokens, rag.chunk_overlap
        )

    async def _same_start(
        self, chunks: Iterator[Chunk], stream: TextStream, stored: int
    ) -> tuple[int, Iterator[Chunk]]:
        """How many of the file's first chunks equal the ``stored`` ones (its last
        version, or what a stopped run stored), and the chunks from the first that
        differs on."""
        name, same = str(stream.path), 0
        while same < stored:
            wanted = min(stored - same, _SKIP_STEP)
            made = await self._step(_take, chunks, wanted)
            for offset, chunk in enumerate(made):
                old = self.indexer.index.chunk_at(name, same)
                if old is None or _key(old) != _key(chunk):
                    return same, itertools.chain(made[offset:], chunks)
                same += 1
            self.tick(stream.position)
            if len(made) < wanted:
                break  # the new version ends within the old one
        return same, chunks

    async def _embed_all(
        self, chunks: Iterator[Chunk], stream: TextStream, record: DocumentRecord, done: int
    ) -> int:
        """Embed and store the remaining chunks batch by batch; returns the file's total."""
        embedder = self.indexer.embedder
        while True:
            batch = await self._step(_take, chunks, embedder.batch_size)
            if not batch:
                return done
            clock = time.monotonic()
            vectors = await self.indexer.until_cancelled(
                embedder.embed([c.indexed_text() for c in batch])
            )
            self.report.embed_seconds += time.monotonic() - clock
            record = replace(record, lines=stream.lines)
            self.writer.add_chunks(record, done, batch, np.asarray(vectors), self.identity)
            done += len(batch)
            self.embedded += len(batch)
            self.report.chunks += len(batch)
            self.tick(stream.position)
            await self.indexer.commit_if_due(self.writer)

    async def _step(self, function: Callable[..., T], *args: object) -> T:
        """Run one bounded piece of reading or chunking in this file's worker thread."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, function, *args)
        return await self.indexer.until_cancelled(future)

    def _close(self, stream: TextStream) -> None:
        """Close the file once the worker thread is idle (a stopped step may still
        be finishing: it is never waited for)."""
        assert self._executor is not None
        self._executor.submit(stream.close)

    def _forget_partial(self, name: str) -> None:
        if name in self.report.partial:
            self.report.partial.remove(name)


def _key(chunk: Chunk | StoredChunk) -> tuple[object, ...]:
    """What makes a stored chunk the same as one made now (text embedded and place)."""
    return (chunk.indexed_text(), chunk.line_start, chunk.line_end,
            chunk.page_start, chunk.page_end)


def _take(chunks: Iterator[Chunk], count: int) -> list[Chunk]:
    """The next ``count`` chunks (fewer at the end): one bounded worker step."""
    return list(islice(chunks, count))
