"""The indexing service: files in, chunks and vectors committed, progress out.

One :class:`Indexer` run walks the given paths, skips files whose content hash
is unchanged, and indexes the rest. Small files are loaded and chunked whole
in a worker thread (PDF parsing must not freeze the interface) and their
chunks share embedding batches (``batcher``); text files over a megabyte are
streamed: read, chunked, embedded and stored a batch at a time, with bounded
memory (``bigfile``). The run commits every :attr:`Indexer.commit_every_s`
seconds or more (never more than a tenth of its time goes to commits), so a
long run that is stopped or killed keeps most of its work.

:meth:`Indexer.cancel` stops at once: the awaited batch or read step is
dropped (a worker thread finishes its step, well under a second, unwaited),
everything stored so far is committed, and a file of many batches that was
stopped part-way is listed as ``partial``; a file is never left half indexed
while looking complete.

The paths a run is given are remembered in the index as roots (see
``DocumentIndex.roots``); :meth:`Indexer.refresh` walks them again, so files
added to those folders since are found after a restart too. Files skipped on
the way (unsupported types, symlink loops, unreadable folders) are recorded in
the documents list with their reason, like files that failed to load.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from offyai_tui.rag.batcher import Batcher, load_one, skip_kind
from offyai_tui.rag.bigfile import BigFile, streams
from offyai_tui.rag.documents import Skipped
from offyai_tui.rag.embedder import Embedder, EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord, IndexWriter, is_under
from offyai_tui.rag.loaders import kind_of
from offyai_tui.rag.progress import (
    IndexProgress,
    IndexReport,
    Phase,
    ProgressCallback,
    throttle_progress,
)
from offyai_tui.rag.reembed import realign
from offyai_tui.rag.threads import in_thread
from offyai_tui.rag.walk import canonical, iter_files, pulled_through_links
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace

__all__ = [
    "IndexProgress",
    "IndexReport",
    "Indexer",
    "Phase",
    "ProgressCallback",
    "Stopped",
    "open_indexer",
    "throttle_progress",
]

T = TypeVar("T")


class Stopped(Exception):
    """Raised out of the step a run was awaiting when :meth:`Indexer.cancel` is called."""


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
        self._halt = threading.Event()
        """The cancel as worker threads see it (a folder walk stops between files)."""
        self._callback: ProgressCallback | None = None
        self._last = IndexProgress("scanning")
        self._commit_lock = threading.Lock()
        self._last_commit = time.monotonic()
        self._commit_cost = 0.0

    def cancel(self) -> None:
        """Stop now: the batch being embedded is dropped, what is stored is committed.

        Works at any moment, also before :meth:`run` starts or while the
        embedding model loads: the step being awaited ends at once.
        """
        self._cancel.set()
        self._halt.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    async def until_cancelled(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` unless :meth:`cancel` comes first (then raise :class:`Stopped`).

        A result that arrives together with the cancel is still returned. The
        abandoned task is cancelled (an engine stops its request); a thread
        step left behind finishes on its own.
        """
        if self.cancelled:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise Stopped
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._cancel.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.add_done_callback(_consume)
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()
        raise Stopped

    def _until_halted(self, items: Iterable[T]) -> list[T]:
        """``list(items)`` in a worker thread, ending early once the run is cancelled."""
        out = []
        for item in items:
            if self._halt.is_set():
                break
            out.append(item)
        return out

    # -- commits ----------------------------------------------------------------

    def _commit_now(self, writer: IndexWriter) -> None:
        """Commit (from any thread); never two commits at once on one writer."""
        with self._commit_lock:
            writer.commit()

    async def commit_if_due(self, writer: IndexWriter) -> None:
        """Commit if :attr:`commit_every_s` has passed since the last commit, and ten
        times what that commit took: writing a large index costs more, and commits
        must stay a small part of the run."""
        interval = max(self.commit_every_s, 10 * self._commit_cost)
        if not writer.pending or time.monotonic() - self._last_commit < interval:
            return
        self._emit(replace(self._last, phase="committing"))
        clock = time.monotonic()
        await asyncio.to_thread(self._commit_now, writer)
        self._last_commit = time.monotonic()
        self._commit_cost = self._last_commit - clock

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
            bytes_done=last.bytes_total if not report.cancelled else last.bytes_done,
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
        self._last_commit = time.monotonic()
        try:
            identity = await self.until_cancelled(self.embedder.probe())
            await self._align_model(writer, identity, report)
            if paths and not self.cancelled:
                await self._index_files(writer, paths, identity, report, remember)
        except Stopped:
            pass
        except asyncio.CancelledError:
            report.cancelled = True
            self._commit_now(writer)  # waits for a commit still running in a thread
            raise
        finally:
            try:
                if writer.pending:
                    self._emit(IndexProgress("committing"))
                    await asyncio.to_thread(self._commit_now, writer)
            finally:
                with self._commit_lock:
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
        if await realign(self, writer, identity, report):
            await asyncio.to_thread(self._commit_now, writer)
            self._last_commit = time.monotonic()

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
        found = await self.until_cancelled(in_thread(
            lambda: self._until_halted(iter_files(paths, excluded, follow_symlinks=follow))
        ))  # fmt: skip
        if self.cancelled:
            return
        files = [f for f in found if isinstance(f, Path)]
        walk_skips = [f for f in found if isinstance(f, Skipped)]
        if any(s.target for s in walk_skips):  # links the folder rule refuses: what an older
            pulled = await asyncio.to_thread(  # index took in through them goes (confine.py)
                lambda: pulled_through_links(
                    walk_skips, [r.path for r in self.index.documents()],
                    [*self.index.roots(), *(given if remember else [])],
                )
            )  # fmt: skip
            files = [f for f in files if str(f) not in pulled]
            for path in sorted(pulled):
                writer.remove_document(path)
                report.removed.append(path)
        if remember:
            for path in given:
                if await asyncio.to_thread(os.path.exists, path):
                    writer.put_root(path)
        for skipped in walk_skips:
            self._skip(writer, skipped.path, skip_kind(skipped.path), skipped.reason, report)
        sizes = await self.until_cancelled(
            in_thread(lambda: self._until_halted(_size(f) for f in files))
        )
        total_bytes = max(sum(sizes), 1)
        max_bytes = self.settings.rag.max_file_mb * 2**20
        started = time.monotonic()
        done_bytes = streamed = 0
        position = (0, "")
        batcher = Batcher(self, writer, identity, report)

        def snapshot(i: int, current: str) -> IndexProgress:
            chunks = batcher.embedded + big.embedded
            rate = chunks / report.embed_seconds if report.embed_seconds else 0.0
            elapsed = time.monotonic() - started
            done = min(max(done_bytes + streamed - batcher.bytes_left(), 0.0), total_bytes)
            byte_rate = done / elapsed if elapsed > 0 and done else 0.0
            eta = (total_bytes - done) / byte_rate if byte_rate else None
            estimate = round(chunks * total_bytes / done) if done and chunks else 0
            stored = i - len(batcher.pending)  # files still embedding are not done yet
            return IndexProgress(
                "indexing", stored, len(files), chunks, rate, eta, current,
                len(report.skipped), estimate, int(done), total_bytes,
            )

        def tick() -> None:
            self._emit(snapshot(*position))

        def streamed_to(read: int) -> None:
            nonlocal streamed
            streamed = read
            tick()

        batcher.tick = tick
        big = BigFile(self, writer, identity, report, streamed_to)
        self._emit(snapshot(0, str(files[0]) if files else ""))
        finished = 0
        try:
            for i, path in enumerate(files):
                if self.cancelled:
                    break
                position = (i, str(path))
                if i:
                    self._emit(snapshot(i, str(path)))
                kind = kind_of(path)
                if kind is not None and streams(kind, sizes[i]):
                    await batcher.flush_all()  # the files before it are stored first
                    await big.index(path, kind, max_bytes)
                else:
                    loaded = await load_one(self, writer, path, max_bytes, report)
                    if loaded is not None:
                        await batcher.add(loaded)
                done_bytes, streamed = done_bytes + sizes[i], 0
                finished = i + 1
                await self.commit_if_due(writer)
                self._emit(snapshot(i + 1, ""))
            await batcher.flush_all()
        except Stopped:
            pass
        # Files still waiting for vectors were not stored: the snapshot counts only
        # those kept.
        self._emit(snapshot(finished, ""))
        if not self.cancelled:
            skipped_now = {s.path for s in report.skipped}
            report.removed.extend(self._prune(writer, paths, skipped_now))

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


def _consume(task: asyncio.Future[object]) -> None:
    """Retrieve the outcome of a task nobody awaits any more (no "never retrieved" log)."""
    if not task.cancelled():
        task.exception()


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
