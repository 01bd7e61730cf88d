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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.signal import Signal

from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import RagError
from offyai_tui.rag.index import DocumentRecord
from offyai_tui.rag.indexer import IndexProgress, IndexReport
from offyai_tui.rag.service import Documents

GROUP = "documents-index"
ATTRIBUTE = "documents_job"
"""Name of the app attribute holding the job (created on first use)."""


@dataclass(frozen=True)
class WorkspaceState:
    """What the documents list and the summary line show."""

    workspace: str
    records: list[DocumentRecord]
    chunks: int
    identity: EmbeddingIdentity | None
    problem: str = ""
    """Why the index's vectors cannot be searched (then re-indexing rebuilds them)."""


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
        """Published after every progress step and when a run or a removal ends."""
        self.busy = False
        self.phase = ""
        """``""`` before any run, an :data:`IndexProgress.phase` while running, then
        ``done``, ``cancelled`` or ``failed``."""
        self.progress: IndexProgress | None = None
        """The last snapshot that had counts (the pipeline's final one has none)."""
        self.report: IndexReport | None = None
        self.error = ""
        self.cancel_requested = False
        self.roots: list[str] = []
        """Files and folders added in this session; re-indexing walks them again."""
        self.unrecorded: dict[str, str] = {}
        """Skips the index does not keep (unsupported types, walk errors): path → reason."""

    @classmethod
    def for_app(cls, app: App[Any]) -> DocumentsJob:
        """Build the job from the app's settings, workspace and engine registry.

        The embedding engine is ``settings.rag.embedding_engine`` from the
        registry; an app without a registry (tests) embeds with ``app.engine``.
        """
        settings = app.settings  # type: ignore[attr-defined]
        registry = getattr(app, "registry", None)
        engine: Engine | None = None
        problem = ""
        if registry is not None:
            try:
                engine = registry.engine(settings.rag.embedding_engine)
            except EngineError as exc:
                problem = f"rag.embedding_engine: {_one_line(exc)}"
        else:
            engine = getattr(app, "engine", None)
        docs = Documents(app.workspace, engine, settings)  # type: ignore[attr-defined]
        return cls(app, docs, problem)

    # ------------------------------------------------------------------ state

    async def state(self) -> WorkspaceState:
        """The documents list (index records plus unrecorded skips) and the manifest."""
        index = await self.docs.index()

        def read() -> tuple[list[DocumentRecord], int, EmbeddingIdentity | None, str]:
            index.refresh()
            return index.documents(), index.chunk_count(), index.identity, index.problem

        records, chunks, identity, problem = await asyncio.to_thread(read)
        known = {r.path for r in records}
        for path in [p for p in self.unrecorded if p in known]:
            del self.unrecorded[path]
        extra = [
            DocumentRecord(
                path=path,
                kind=Path(path).suffix.lstrip(".").lower() or "?",
                size=0,
                sha256="",
                status="skipped",
                reason=reason,
            )
            for path, reason in self.unrecorded.items()
        ]
        records = sorted([*records, *extra], key=lambda r: r.path)
        return WorkspaceState(self.docs.workspace.name, records, chunks, identity, problem)

    # ------------------------------------------------------------------ runs

    def start(self, paths: Sequence[str], *, remember: bool = True) -> str:
        """Index ``paths`` in the background; returns ``""`` or one line why not."""
        if self.busy:
            return "indexing is already running; Esc cancels it"
        if not paths:
            return "nothing to index"
        if self.docs.engine is None and self.problem:
            return self.problem
        if remember:
            for path in paths:
                full = os.path.abspath(os.path.expanduser(path))
                if full not in self.roots:
                    self.roots.append(full)
        self.busy, self.cancel_requested = True, False
        self.phase, self.progress, self.report, self.error = "scanning", None, None, ""
        self.app.run_worker(
            self._run(list(paths)),
            name="index documents",
            group=GROUP,
            exclusive=True,
            exit_on_error=False,
        )
        self.changed.publish(self)
        return ""

    def cancel(self) -> bool:
        """Ask the run to stop after its current batch; finished files are kept."""
        if not self.busy:
            return False
        self.cancel_requested = True
        self.docs.cancel()
        self.changed.publish(self)
        return True

    def _on_progress(self, progress: IndexProgress) -> None:
        if self.cancel_requested:
            self.docs.cancel()  # asked before the indexer existed
        self.phase = progress.phase
        if progress.phase in ("indexing", "reembedding") or self.progress is None:
            self.progress = progress
        self.changed.publish(self)

    async def _run(self, paths: list[str]) -> None:
        try:
            report = await self.docs.add(paths, self._on_progress)
        except (EngineError, RagError, OSError) as exc:
            self.phase, self.error = "failed", _one_line(exc)
            self.app.notify(self.error, title="Indexing stopped", severity="error", markup=False)
        except asyncio.CancelledError:
            self.phase = "cancelled"
            raise
        else:
            self.report = report
            self.phase = "cancelled" if report.cancelled else "done"
            for skipped in report.skipped:
                self.unrecorded[skipped.path] = skipped.reason
            for path in [*report.added, *report.updated, *report.unchanged, *report.removed]:
                self.unrecorded.pop(path, None)
            self.app.notify(
                f"Documents: {report.summary()}",
                markup=False,
                severity="warning" if report.skipped else "information",
            )
        finally:
            self.busy = False
            self.changed.publish(self)

    # --------------------------------------------------------------- removal

    async def remove(self, paths: Sequence[str]) -> list[str]:
        """Remove documents (and shown skips) at or under ``paths``.

        Raises:
            RagError: while indexing runs, or if the index cannot be written.
        """
        if self.busy:
            raise RagError("indexing is running; wait for it or cancel it (Esc) first")
        removed = await self.docs.remove(paths)
        prefixes = [os.path.abspath(p) for p in paths]
        for path in list(self.unrecorded):
            if any(path == p or path.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes):
                del self.unrecorded[path]
                removed.append(path)
        self.changed.publish(self)
        return removed


    def close(self) -> None:
        """Stop a running indexing (finished files are kept) and close the index."""
        self.cancel()
        self.docs.close()


def documents_job(app: App[Any]) -> DocumentsJob:
    """The app's documents job, created on first use and kept for the app's lifetime."""
    job = getattr(app, ATTRIBUTE, None)
    if job is None:
        job = DocumentsJob.for_app(app)
        setattr(app, ATTRIBUTE, job)
    return job
