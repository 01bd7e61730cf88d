"""The workspace's documents and its one indexing run, kept by the app.

The run belongs to the app (an app worker in the exclusive group
``documents-index``), not to the Documents screen: leaving the screen must not
stop indexing, and coming back must show the same progress. Screens read the
state here and subscribe to :attr:`DocumentsJob.changed`; all pipeline work is
done by :class:`offyai_tui.rag.service.Documents`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import App
from textual.signal import Signal
from textual.timer import Timer

from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import RagError, RemoteEmbeddingRefused
from offyai_tui.rag.index import DocumentRecord
from offyai_tui.rag.indexer import (
    IndexProgress,
    IndexReport,
    ProgressCallback,
    throttle_progress,
)
from offyai_tui.rag.service import Documents
from offyai_tui.ui.host import offy

GROUP = "documents-index"
REPAINT_S = 0.1
"""Least time between two progress repaints (phase changes and the end always show)."""


@dataclass(frozen=True)
class WorkspaceState:
    """What the documents list and the summary line show."""

    workspace: str
    records: list[DocumentRecord]
    chunks: int
    identity: EmbeddingIdentity | None
    problem: str = ""
    """Why the index's vectors cannot be searched (then re-indexing rebuilds them)."""
    roots: list[tuple[str, bool]] = field(default_factory=list)
    """The files and folders added so far, saved in the index (re-indexing walks
    them), each with whether it is a folder now."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class DocumentsJob:
    """Owns the :class:`Documents` service of one workspace and its indexing run.

    Args:
        app: The app whose workers run the indexing and whose signal announces changes.
        docs: The workspace's documents service.
        problem: Why no embedding engine could be chosen (shown when indexing starts).
    """

    def __init__(self, app: App[Any], docs: Documents, problem: str = "") -> None:
        self.app = app
        self.docs = docs
        self.problem = problem
        self.changed: Signal[DocumentsJob] = Signal(app, "documents-changed")
        """Published when a run starts, on progress (at most every :data:`REPAINT_S`,
        phase changes always), when it is cancelled or ends, and after a removal."""
        self.busy = False
        self.phase = ""
        """``""`` before any run, an :data:`IndexProgress.phase` while running, then
        ``done``, ``cancelled`` or ``failed``."""
        self.progress: IndexProgress | None = None
        """The latest snapshot of the current or last run (the final one has its counts)."""
        self.report: IndexReport | None = None
        self.error = ""
        self.cancel_requested = False
        self._late_repaint: Timer | None = None

    @classmethod
    def for_app(cls, app: App[Any]) -> DocumentsJob:
        """Build the job from the app's settings, workspace and engine registry.

        The embedding engine is ``settings.rag.embedding_engine`` from the
        registry; an app without a registry (tests) embeds with ``app.engine``.
        """
        host = offy(app)
        settings = host.settings
        registry = host.registry
        engine: Engine | None = None
        problem = ""
        if registry is not None:
            try:
                engine = registry.engine(settings.rag.embedding_engine)
            except EngineError as exc:
                problem = f"rag.embedding_engine: {_one_line(exc)}"
        else:
            engine = host.engine
        docs = Documents(host.workspace, engine, settings)
        return cls(app, docs, problem)

    # ------------------------------------------------------------------ state

    async def state(self) -> WorkspaceState:
        """The documents list (skipped files included), the saved roots and the manifest."""
        index = await self.docs.index()

        def read() -> WorkspaceState:
            index.refresh()
            return WorkspaceState(
                self.docs.workspace.name,
                index.documents(),
                index.chunk_count(),
                index.identity,
                index.problem,
                [(root, os.path.isdir(root)) for root in index.roots()],
            )

        return await asyncio.to_thread(read)

    # ------------------------------------------------------------------ runs

    def start(self, paths: Sequence[str]) -> str:
        """Index ``paths`` in the background (they are saved as roots); returns
        ``""`` or one line why not."""
        if not paths:
            return "nothing to index"
        paths = list(paths)
        return self._launch(lambda progress: self.docs.add(paths, progress))

    def reindex(self) -> str:
        """Walk the saved roots again in the background (new, changed and deleted
        files; also after a restart); returns ``""`` or one line why not."""
        return self._launch(self.docs.refresh)

    def _launch(self, run: Callable[[ProgressCallback], Awaitable[IndexReport]]) -> str:
        if self.busy:
            return "indexing is already running; Esc cancels it"
        if self.docs.engine is None and self.problem:
            return self.problem
        self.busy, self.cancel_requested = True, False
        self.phase, self.progress, self.report, self.error = "scanning", None, None, ""
        self.app.run_worker(
            self._run(run),
            name="index documents",
            group=GROUP,
            exclusive=True,
            exit_on_error=False,
        )
        self.changed.publish(self)
        return ""

    def cancel(self) -> bool:
        """Ask the run to stop now; finished files (and what a large file stored) are kept.

        A cancel between :meth:`start` and the moment the worker begins is kept
        here (the service has no run to stop yet); once it runs, the service
        remembers the request for the whole run.
        """
        if not self.busy:
            return False
        self.cancel_requested = True
        self.docs.cancel()
        self.changed.publish(self)
        return True

    async def _run(self, run: Callable[[ProgressCallback], Awaitable[IndexReport]]) -> None:
        """One run: every snapshot is kept, repaints are throttled.

        A snapshot the throttle holds back is shown :data:`REPAINT_S` later
        unless a newer one was shown first: the next snapshot may be a long
        embedding batch away, and the screen must not show the previous file
        meanwhile.
        """
        shown = False

        def publish(_: IndexProgress) -> None:
            nonlocal shown
            shown = True
            self.changed.publish(self)

        repaint = throttle_progress(publish, REPAINT_S)

        def progress(snapshot: IndexProgress) -> None:
            nonlocal shown
            self.phase, self.progress = snapshot.phase, snapshot
            shown = False
            repaint(snapshot)
            if not shown and self._late_repaint is None:
                self._late_repaint = self.app.set_timer(REPAINT_S, self._repaint_late)

        try:
            if self.cancel_requested:  # cancelled before the worker began
                report = IndexReport(cancelled=True)
                progress(IndexProgress("cancelled"))
            else:
                await self._allowed()
                report = await run(progress)
        except (EngineError, RagError, OSError) as exc:
            self.phase, self.error = "failed", _one_line(exc)
            self.app.notify(self.error, title="Indexing stopped", severity="error", markup=False)
        except asyncio.CancelledError:
            self.phase = "cancelled"
            raise
        else:
            self.report = report
            self.phase = "cancelled" if report.cancelled else "done"
            self.app.notify(
                f"Documents: {report.summary()}",
                markup=False,
                severity="warning" if report.skipped else "information",
            )
            from offyai_tui.rag.language import documents_hint

            hint = await documents_hint(self.docs)
            if hint:  # the bundled embedder is English-only
                self.app.notify(hint[0].upper() + hint[1:], title="Documents language",
                                severity="warning", markup=False, timeout=15)
        finally:
            self.busy = False
            if self._late_repaint is not None:
                self._late_repaint.stop()
                self._late_repaint = None
            self.changed.publish(self)

    async def _allowed(self) -> None:
        """Ask before a remote embedding engine gets the documents (once per host).

        Raises:
            RemoteEmbeddingRefused: the user said No; nothing was sent.
        """
        from offyai_tui.ui.screens.remote_docs import documents_allowed

        refused = await documents_allowed(
            self.app, self.docs.workspace, None, self.docs.engine, indexing=True)
        if refused:
            raise RemoteEmbeddingRefused(refused)

    def _repaint_late(self) -> None:
        self._late_repaint = None
        if self.busy:
            self.changed.publish(self)

    # --------------------------------------------------------------- removal

    async def remove(self, paths: Sequence[str]) -> list[str]:
        """Remove documents (skipped ones too) at or under ``paths``.

        Raises:
            RagError: while indexing runs, or if the index cannot be written.
        """
        if self.busy:
            raise RagError("indexing is running; wait for it or cancel it (Esc) first")
        removed = await self.docs.remove(paths)
        self.changed.publish(self)
        return removed

    def close(self) -> None:
        """Stop a running indexing (finished files are kept) and close the index."""
        self.cancel()
        self.docs.close()


def documents_job(app: App[Any]) -> DocumentsJob:
    """The app's documents job, created on first use and kept for the app's lifetime."""
    host = offy(app)
    if host.documents_job is None:
        host.documents_job = DocumentsJob.for_app(app)
    return host.documents_job
