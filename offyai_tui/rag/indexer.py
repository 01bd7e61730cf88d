"""The indexing service: files in, chunks and vectors committed, progress out.

One :class:`Indexer` run walks the given paths, skips files whose content hash
is unchanged, loads and chunks the rest in a worker thread (PDF parsing must
not freeze the interface), embeds chunk batches through the engine, and
commits every few seconds so a long run that is killed keeps most of its work.
A cancelled run commits the files it finished and stops between batches;
a file is never left half indexed.

The paths a run is given are remembered in the index as roots (see
``DocumentIndex.roots``); :meth:`Indexer.refresh` walks them again, so files
added to those folders since are found after a restart too. Files skipped on
the way (unsupported types, symlink loops, unreadable folders) are recorded in
the documents list with their reason, like files that failed to load.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from offyai_tui.config import Settings
from offyai_tui.rag.chunker import chunk_document
from offyai_tui.rag.documents import Chunk, LoadedDocument, Skipped
from offyai_tui.rag.embedder import Embedder, EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord, IndexWriter, is_under
from offyai_tui.rag.loaders import LoadError, kind_of, parse_bytes, read_bytes
from offyai_tui.rag.walk import canonical, iter_files
from offyai_tui.workspace import Workspace

Phase = Literal["scanning", "reembedding", "indexing", "committing", "done", "cancelled"]


@dataclass(frozen=True)
class IndexProgress:
    """A snapshot for a progress bar (files, chunks, speed, time left)."""

    phase: Phase
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    chunks_per_s: float = 0.0
    eta_s: float | None = None
    """Seconds left, estimated from bytes still to read at the speed so far."""
    current: str = ""
    skipped: int = 0
    chunks_total: int = 0
    """Chunks to re-embed (``reembedding``); 0 while the total is unknown."""

    @property
    def fraction(self) -> float:
        if self.phase == "reembedding" and self.chunks_total:
            return self.chunks_done / self.chunks_total
        return self.files_done / self.files_total if self.files_total else 0.0

    @property
    def finished(self) -> bool:
        """The last snapshot of a run (``done`` or ``cancelled``)."""
        return self.phase in ("done", "cancelled")


@dataclass
class IndexReport:
    """What a run did; ``summary()`` is the one line a CLI prints."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    """Chunks embedded in this run (re-embedded ones included)."""
    reembedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cancelled: bool = False

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.embed_seconds if self.embed_seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added", f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged", f"{len(self.removed)} removed",
            f"{len(self.skipped)} skipped", f"{self.chunks} chunks embedded",
        ]
        if self.reembedded:
            parts.append(f"{self.reembedded} re-embedded for a new model")
        line = ", ".join(parts) + f" in {self.seconds:.1f} s"
        return ("cancelled: " if self.cancelled else "") + line


ProgressCallback = Callable[[IndexProgress], None]


def throttle_progress(
    callback: ProgressCallback, interval_s: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
) -> ProgressCallback:
    """Wrap ``callback`` so it is called at most every ``interval_s`` seconds,
    except that a snapshot whose phase differs from the last one passed (the
    first ``indexing`` one included) and the final ``done``/``cancelled`` one
    always go through: a short run still shows its counts and its end.
    """
    last_phase = [""]
    last_time = [float("-inf")]

    def throttled(progress: IndexProgress) -> None:
        now = clock()
        if (progress.phase != last_phase[0] or progress.finished
                or now - last_time[0] >= interval_s):
            last_phase[0], last_time[0] = progress.phase, now
            callback(progress)

    return throttled


def _load_and_chunk(
    path: Path, data: bytes, kind: str, settings: Settings
) -> tuple[LoadedDocument, list[Chunk]]:
    doc = parse_bytes(path, data, kind, settings.rag.max_file_mb * 2**20)
    chunks = chunk_document(doc, settings.rag.chunk_tokens, settings.rag.chunk_overlap)
    return doc, chunks


@dataclass
class _Pending:
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


class _Batcher:
    """Fills embedding batches across files, so many small files still make full
    batches, and stores each file once all its chunks have vectors."""

    def __init__(
        self, indexer: Indexer, writer: IndexWriter, identity: EmbeddingIdentity,
        report: IndexReport,
    ) -> None:
        self.indexer = indexer
        self.writer = writer
        self.identity = identity
        self.report = report
        self.pending: list[_Pending] = []
        self.embedded = 0
        self.tick: Callable[[], None] = lambda: None
        """Called after each batch (the indexer reports progress from it)."""

    def bytes_left(self) -> float:
        return sum(p.bytes_left for p in self.pending)

    def _waiting(self) -> int:
        return sum(len(p.chunks) - p.embedded for p in self.pending)

    async def add(self, item: _Pending) -> None:
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
        parts: list[tuple[_Pending, int, int]] = []
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
        vectors = await self.indexer.embedder.embed(texts)
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


class Indexer:
    """Indexes files into one workspace's index with one embedder.

    Args:
        index: The workspace's index.
        embedder: Produces the vectors (its model becomes the index's model).
        settings: ``rag`` settings: chunk size, overlap, file size limit.
        commit_every_s: Seconds between intermediate commits during a long run.
    """

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder,
        settings: Settings,
        *,
        commit_every_s: float = 20.0,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.commit_every_s = commit_every_s
        self._cancel = asyncio.Event()
        self._callback: ProgressCallback | None = None
        self._last = IndexProgress("scanning")

    def cancel(self) -> None:
        """Stop after the current batch; finished files are kept.

        Works at any moment, also before :meth:`run` starts or while the
        embedding model loads: the run then stops at its next check.
        """
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- progress ---------------------------------------------------------------

    def _emit(self, progress: IndexProgress) -> None:
        """Report progress: when each file starts and ends, and after each batch.

        Calls are not throttled (the indexer cannot know how often a screen
        wants to repaint); a UI should coalesce them, e.g. with
        :func:`throttle_progress`. Counts carry over into the final snapshot.
        """
        if progress.phase in ("indexing", "reembedding"):
            self._last = progress
        if self._callback:
            self._callback(progress)

    def _final(self, report: IndexReport) -> IndexProgress:
        """The ``done``/``cancelled`` snapshot: the last counts, nothing current."""
        last = self._last
        files_done = last.files_total if not report.cancelled else last.files_done
        return replace(
            last,
            phase="cancelled" if report.cancelled else "done",
            files_done=files_done,
            chunks_done=max(last.chunks_done, report.chunks),
            chunks_per_s=report.chunks_per_s or last.chunks_per_s,
            eta_s=None if report.cancelled else 0.0,
            current="",
            skipped=len(report.skipped),
        )

    # -- runs ---------------------------------------------------------------------

    async def run(
        self,
        paths: Iterable[str | os.PathLike[str]],
        progress: ProgressCallback | None = None,
        *,
        remember: bool = True,
    ) -> IndexReport:
        """Index ``paths`` (files or folders); see the module docstring.

        Args:
            paths: Files and folders; none only re-embeds for a new model.
            progress: Called with :class:`IndexProgress` snapshots.
            remember: Record the paths as roots that :meth:`refresh` walks again.
        """
        self._callback = progress
        report = IndexReport()
        started = time.monotonic()
        paths = list(paths)
        if self.cancelled:
            report.cancelled = True
            self._emit(self._final(report))
            return report
        writer = await asyncio.to_thread(self.index.writer)
        try:
            identity = await self.embedder.probe()
            if not self.cancelled:
                await self._align_model(writer, identity, report)
            if paths and not self.cancelled:
                await self._index_files(writer, paths, identity, report, remember)
        except asyncio.CancelledError:
            report.cancelled = True
            writer.commit()
            raise
        finally:
            try:
                if writer.pending:
                    self._emit(IndexProgress("committing"))
                    await asyncio.to_thread(writer.commit)
            finally:
                writer.close()
                report.seconds = time.monotonic() - started
        report.cancelled = report.cancelled or self.cancelled
        self._emit(self._final(report))
        return report

    async def refresh(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Re-index what the user added before: walk every saved root again
        (finding new, changed and deleted files) and re-check documents given
        one by one; with nothing saved, only re-embeds for a new model."""
        targets = await asyncio.to_thread(self.index.targets)
        return await self.run(targets, progress, remember=False)

    async def _align_model(
        self, writer: IndexWriter, identity: EmbeddingIdentity, report: IndexReport
    ) -> None:
        """Re-embed every stored chunk when the model changed or the vectors are damaged."""
        stored = writer.identity
        if self.index.chunk_count() == 0:
            return
        if stored == identity and not self.index.problem:
            return
        total = self.index.chunk_count()
        writer.reset(identity)
        done = 0
        clock = time.monotonic()
        self._emit(IndexProgress("reembedding", chunks_total=total))
        try:
            for batch in self.index.iter_chunks(self.embedder.batch_size):
                if self.cancelled:
                    writer.rollback()
                    return
                vectors = await self.embedder.embed([c.indexed_text() for c in batch])
                writer.put_vectors([c.id for c in batch], vectors)
                done += len(batch)
                elapsed = time.monotonic() - clock
                rate = done / elapsed if elapsed > 0 else 0.0
                eta = (total - done) / rate if rate > 0 else None
                self._emit(IndexProgress("reembedding", 0, 0, done, rate, eta, chunks_total=total))
        except BaseException:
            writer.rollback()  # half the vectors of a new model must never be committed
            raise
        report.reembedded = done
        report.chunks += done
        report.embed_seconds += time.monotonic() - clock
        await asyncio.to_thread(writer.commit)

    async def _index_files(
        self,
        writer: IndexWriter,
        paths: Sequence[str | os.PathLike[str]],
        identity: EmbeddingIdentity,
        report: IndexReport,
        remember: bool = True,
    ) -> None:
        self._emit(IndexProgress("scanning"))
        given = [str(canonical(p)) for p in paths]
        excluded = [  # adding a path again takes back its removal
            e for e in self.index.excluded()
            if not (remember and any(is_under(e, g) for g in given))
        ]
        follow = self.settings.rag.follow_symlinks
        found = await asyncio.to_thread(
            lambda: list(iter_files(paths, excluded, follow_symlinks=follow))
        )
        if self.cancelled:
            return
        files = [f for f in found if isinstance(f, Path)]
        walk_skips = [f for f in found if isinstance(f, Skipped)]
        if remember:
            for path in given:
                if await asyncio.to_thread(os.path.exists, path):
                    writer.put_root(path)
        for skipped in walk_skips:
            self._skip(writer, skipped.path, _skip_kind(skipped.path), skipped.reason, report)
        sizes = await asyncio.to_thread(lambda: [_size(f) for f in files])
        total_bytes = max(sum(sizes), 1)
        batcher = _Batcher(self, writer, identity, report)
        last_commit = started = time.monotonic()
        done_bytes = 0
        max_bytes = self.settings.rag.max_file_mb * 2**20

        position = (0, "")

        def snapshot(i: int, current: str) -> IndexProgress:
            chunks = batcher.embedded
            rate = chunks / report.embed_seconds if report.embed_seconds else 0.0
            elapsed = time.monotonic() - started
            done = max(done_bytes - batcher.bytes_left(), 0.0)
            byte_rate = done / elapsed if elapsed > 0 and done else 0.0
            eta = (total_bytes - done) / byte_rate if byte_rate else None
            return IndexProgress(
                "indexing", i, len(files), chunks, rate, eta, current, len(report.skipped)
            )

        batcher.tick = lambda: self._emit(snapshot(*position))
        self._emit(snapshot(0, str(files[0]) if files else ""))
        finished = 0
        for i, path in enumerate(files):
            if self.cancelled:
                break
            position = (i, str(path))
            if i:
                self._emit(snapshot(i, str(path)))
            loaded = await self._load_one(writer, path, max_bytes, report)
            if loaded is not None:
                await batcher.add(loaded)
            done_bytes += sizes[i]
            finished = i + 1
            if time.monotonic() - last_commit >= self.commit_every_s and writer.pending:
                self._emit(IndexProgress("committing", i + 1, len(files), batcher.embedded))
                await asyncio.to_thread(writer.commit)
                last_commit = time.monotonic()
            self._emit(snapshot(i + 1, ""))
        await batcher.flush_all()
        if self.cancelled:
            # Files still waiting for vectors were not stored: count only those kept.
            waiting = sum(1 for p in batcher.pending if p.embedded < len(p.chunks))
            finished = max(finished - waiting, 0)
        self._emit(snapshot(finished, ""))
        if not self.cancelled:
            skipped_now = {s.path for s in report.skipped}
            report.removed.extend(self._prune(writer, paths, skipped_now))

    async def _load_one(
        self, writer: IndexWriter, path: Path, max_bytes: int, report: IndexReport
    ) -> _Pending | None:
        """Read, hash, parse and chunk one file; ``None`` if skipped or unchanged."""
        name = str(path)
        kind = kind_of(path)
        if kind is None:
            reason = f"unsupported file type ({path.suffix.lower()})"
            self._skip(writer, name, _skip_kind(name), reason, report)
            return None
        try:
            data = await asyncio.to_thread(read_bytes, path, max_bytes)
        except LoadError as exc:
            self._skip(writer, name, kind, str(exc), report)
            return None
        digest = hashlib.sha256(data).hexdigest()
        known = self.index.document(name)
        if known and known.sha256 == digest:
            if known.status == "indexed":
                report.unchanged.append(name)
            else:
                report.skipped.append(Skipped(name, known.reason))
            return None
        try:
            doc, chunks = await asyncio.to_thread(_load_and_chunk, path, data, kind, self.settings)
        except LoadError as exc:
            self._skip(writer, name, kind, str(exc), report, len(data), digest)
            return None
        record = DocumentRecord(
            path=name, kind=doc.kind, size=doc.size, sha256=digest, lines=doc.lines,
            pages=doc.pages, title=doc.title, notes=list(doc.notes), indexed_at=time.time(),
        )
        return _Pending(record, chunks, known is not None)

    def _skip(
        self, writer: IndexWriter, name: str, kind: str, reason: str, report: IndexReport,
        size: int = 0, digest: str = "",
    ) -> None:
        report.skipped.append(Skipped(name, reason))
        record = DocumentRecord(
            path=name, kind=kind, size=size, sha256=digest, indexed_at=time.time(),
            status="skipped", reason=reason,
        )
        writer.put_skipped(record)

    def _prune(
        self, writer: IndexWriter, roots: Sequence[str | os.PathLike[str]],
        skipped_now: set[str],
    ) -> list[str]:
        """Remove documents under ``roots`` whose files no longer exist, and skip
        records of folders that were walked without trouble this time.

        A dangling or looping symlink still exists as a link: its skip record
        stays, so the documents list keeps saying why it is not indexed.
        """
        prefixes = [str(canonical(r)) for r in roots]
        gone = []
        for record in self.index.documents():
            if not any(is_under(record.path, p) for p in prefixes):
                continue
            stale_skip = (
                record.status == "skipped" and record.path not in skipped_now
                and os.path.isdir(record.path)
            )
            if not os.path.lexists(record.path) or stale_skip:
                writer.remove_document(record.path)
                gone.append(record.path)
        return gone

    async def events(
        self, paths: Iterable[str | os.PathLike[str]]
    ) -> AsyncIterator[IndexProgress | IndexReport]:
        """The same run as an async iterator: progress snapshots, then the report.

        Leaving the loop early cancels the run (finished files are kept).
        """
        queue: asyncio.Queue[IndexProgress | IndexReport | BaseException] = asyncio.Queue()
        task = asyncio.ensure_future(self.run(paths, queue.put_nowait))
        task.add_done_callback(
            lambda t: queue.put_nowait(
                t.exception() or t.result() if not t.cancelled() else asyncio.CancelledError()
            )
        )
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, IndexReport):
                    return
        finally:
            if not task.done():
                self.cancel()
                await asyncio.wait({task})


def _skip_kind(path: str) -> str:
    """The kind shown for a skipped path: its loader, ``folder``, or its suffix."""
    if os.path.isdir(path):
        return "folder"
    suffix = Path(path).suffix.lower().lstrip(".")
    return kind_of(Path(path)) or suffix or "file"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


async def open_indexer(workspace: Workspace, embedder: Embedder, settings: Settings) -> Indexer:
    """An indexer on ``workspace``'s index (created on first use, 0700/0600)."""
    workspace.ensure()
    index = await asyncio.to_thread(
        DocumentIndex.open, workspace.index_dir, workspace.documents_manifest
    )
    return Indexer(index, embedder, settings)
