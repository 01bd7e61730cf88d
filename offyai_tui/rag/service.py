"""One workspace's documents behind one object, and one-call helpers for the CLI.

:class:`Documents` keeps the index and the embedder open between calls (the
Documents screen and the chat share one); the module functions open, act and
close, which is what ``offyai index`` and ``offyai ask --docs`` need.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError
from offyai_tui.rag import fts_text
from offyai_tui.rag.embedder import Embedder
from offyai_tui.rag.errors import IndexBusy, RagError
from offyai_tui.rag.fusion import FusionConfig
from offyai_tui.rag.index import DocumentIndex, DocumentRecord, is_under
from offyai_tui.rag.indexer import Indexer, IndexProgress, IndexReport, ProgressCallback
from offyai_tui.rag.retriever import Mode, Retrieval, Retriever
from offyai_tui.rag.walk import canonical
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace


class Documents:
    """Index, list, remove and search the documents of one workspace.

    Args:
        workspace: Whose index (``workspace.index_dir``) and documents list.
        engine: The engine that computes embeddings (``settings.rag.embedding_engine``).
        settings: App settings; ``rag`` holds chunk size, overlap, top-k, limits.
        fusion: Hybrid fusion parameters (defaults tuned on the bench set).
        remote_this_run: A remote embedding engine may get the documents without the
            workspace's stored opt-in (``--allow-remote-docs``; see
            :mod:`offyai_tui.settings.privacy`).
    """

    def __init__(
        self,
        workspace: Workspace,
        engine: Engine | None,
        settings: Settings,
        fusion: FusionConfig | None = None,
        *,
        remote_this_run: bool = False,
    ) -> None:
        self.workspace = workspace
        self.engine = engine
        self.settings = settings
        self.remote_this_run = remote_this_run
        self.fusion = fusion or FusionConfig()
        self._index: DocumentIndex | None = None
        self._embedder: Embedder | None = None
        self._indexer: Indexer | None = None
        self._running = False
        self._cancel_requested = False

    async def index(self) -> DocumentIndex:
        if self._index is None:
            self.workspace.ensure()
            self._index = await asyncio.to_thread(
                open_index, self.workspace.index_dir, self.workspace.documents_manifest
            )
        return self._index

    async def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.engine is None:
                raise RagError("no engine is available to compute embeddings")
            self._embedder = await Embedder.for_engine(
                self.engine, self.settings, workspace=self.workspace,
                remote_this_run=self.remote_this_run,
            )  # fmt: skip
        return self._embedder

    async def add(
        self, paths: Iterable[str | os.PathLike[str]], progress: ProgressCallback | None = None
    ) -> IndexReport:
        """Index files and folders (unchanged files are skipped); see :class:`Indexer`.

        The paths are remembered as roots (:meth:`roots`). With no paths this is
        :meth:`refresh`: every saved root is walked again.
        """
        paths = list(paths)
        if not paths:
            return await self.refresh(progress)
        return await self._run(lambda indexer: indexer.run(paths, progress), progress)

    async def refresh(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Re-index everything added before, also after a restart: new files in the
        saved folders are added, changed ones updated, deleted ones removed."""
        return await self._run(lambda indexer: indexer.refresh(progress), progress)

    async def reembed(self, progress: ProgressCallback | None = None) -> IndexReport:
        """Re-embed every stored chunk with the current model (after a model change)."""
        return await self._run(lambda indexer: indexer.run([], progress), progress)

    async def _run(
        self,
        action: Callable[[Indexer], Awaitable[IndexReport]],
        progress: ProgressCallback | None,
    ) -> IndexReport:
        """One indexing run, cancellable from its first moment.

        A ``scanning`` snapshot goes out at once, before the embedder is
        created (which may wait for an engine), and a :meth:`cancel` made at any
        point, even before the indexer exists, stops the run.
        """
        if self._running:
            raise IndexBusy("an indexing run is already going on in this workspace")
        self._running, self._cancel_requested = True, False
        try:
            if progress:
                progress(IndexProgress("scanning"))
            index = await self.index()
            embedder = None if self._cancel_requested else await self.embedder()
            if embedder is None or self._cancel_requested:
                report = IndexReport(cancelled=True)
                if progress:
                    progress(IndexProgress("cancelled"))
                return report
            indexer = Indexer(index, embedder, self.settings)
            self._indexer = indexer
            if self._cancel_requested:
                indexer.cancel()
            return await action(indexer)
        finally:
            self._running, self._indexer = False, None

    def cancel(self) -> bool:
        """Stop a running :meth:`add`, :meth:`refresh` or :meth:`reembed` at once (the
        batch being embedded is dropped; finished files and the stored part of a
        large file stay); returns whether a run was going on.

        The request is remembered for the whole run, so a cancel while the
        embedding model is still starting stops the run as soon as it can.
        """
        if not self._running:
            return False
        self._cancel_requested = True
        if self._indexer is not None:
            self._indexer.cancel()
        return True

    @property
    def indexing(self) -> bool:
        return self._running

    async def roots(self) -> list[str]:
        """The files and folders added so far (kept in the index across restarts)."""
        index = await self.index()
        return await asyncio.to_thread(index.roots)

    async def remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Remove documents (a folder removes all under it); returns the removed paths.

        Removed roots are forgotten; a path removed from inside a saved folder is
        excluded from it, so :meth:`refresh` does not bring it back (adding it
        again does).
        """
        return await asyncio.to_thread(remove_documents, await self.index(), paths)

    async def documents(self) -> list[DocumentRecord]:
        index = await self.index()
        return await asyncio.to_thread(index.documents)

    async def retrieve(
        self,
        query: str,
        top_k: int | None = None,
        budget_tokens: int | None = None,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        """Numbered sources for ``query``.

        If no embedding can be computed (engine down, model missing, index
        built with another model), the search falls back to BM25 alone and
        :attr:`Retrieval.note` says why, so a chat keeps working.
        """
        index = await self.index()
        top_k = top_k or self.settings.rag.top_k
        note = ""
        embedder = None
        if mode != "lexical":
            try:
                embedder = await self.embedder()
                index.check_identity(await embedder.probe())
                if index.problem:
                    raise RagError(index.problem)
            except (EngineError, RagError) as exc:
                note = f"keyword search only: {exc}"
                mode, embedder = "lexical", None
        retriever = Retriever(index, embedder, self.fusion)
        retrieval = await retriever.retrieve(query, top_k, budget_tokens, mode)
        retrieval.note = note
        return retrieval

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def open_index(directory: Path, manifest: Path | None = None) -> DocumentIndex:
    """Open an index, first bringing keywords stored before ``fts_text`` folded Greek
    and split Chinese/Japanese up to date (a writer does it when it opens), so such
    words are found before the next indexing run."""
    index = DocumentIndex.open(directory, manifest)
    # An empty index has nothing to re-feed: its first writer (an indexing run, which
    # must not find the lock taken by this one) records the version.
    if index.meta().get("fts_text") != fts_text.VERSION and index.vector_count():
        # Busy: the writer holding it re-feeds; read-only: searched as it is.
        with contextlib.suppress(IndexBusy, OSError, sqlite3.Error):
            index.writer().close()
    return index


def remove_documents(index: DocumentIndex, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Remove the documents at or under ``paths``, and those roots, in one commit.

    A path is resolved like the walk resolves it, except a listed path itself
    (a skipped symlink is listed under its own name): removing the row of a
    link that loops back to its folder must not remove the folder.
    """
    records = index.documents()
    listed = {record.path for record in records}
    prefixes = []
    for raw in paths:
        given = os.path.abspath(os.path.expanduser(os.fspath(raw)))
        prefixes.append(given if given in listed else str(canonical(given)))
    removed = []
    with index.writer() as writer:
        for record in records:
            if any(is_under(record.path, p) for p in prefixes):
                writer.remove_document(record.path)
                removed.append(record.path)
        for prefix in prefixes:
            writer.remove_root(prefix)
        writer.commit()
    return removed


async def index_paths(
    workspace: Workspace,
    engine: Engine,
    settings: Settings,
    paths: Iterable[str | os.PathLike[str]],
    progress: ProgressCallback | None = None,
    *,
    remote_this_run: bool = False,
) -> IndexReport:
    """``offyai index PATH...``: index files and folders into ``workspace``."""
    docs = Documents(workspace, engine, settings, remote_this_run=remote_this_run)
    try:
        return await docs.add(paths, progress)
    finally:
        docs.close()


async def retrieve(
    workspace: Workspace,
    engine: Engine | None,
    settings: Settings,
    query: str,
    *,
    top_k: int | None = None,
    budget_tokens: int | None = None,
    mode: Mode = "hybrid",
    remote_this_run: bool = False,
) -> Retrieval:
    """``offyai ask --docs``: numbered sources for ``query`` from ``workspace``."""
    docs = Documents(workspace, engine, settings, remote_this_run=remote_this_run)
    try:
        return await docs.retrieve(query, top_k, budget_tokens, mode)
    finally:
        docs.close()


async def remove_paths(
    workspace: Workspace, paths: Iterable[str | os.PathLike[str]]
) -> list[str]:
    """Remove documents from ``workspace``'s index (no engine needed)."""
    workspace.ensure()
    index = await asyncio.to_thread(
        DocumentIndex.open, workspace.index_dir, workspace.documents_manifest
    )
    try:
        return await asyncio.to_thread(remove_documents, index, paths)
    finally:
        index.close()


def list_roots(workspace: Workspace) -> list[str]:
    """The files and folders added to ``workspace`` (empty if nothing was ever indexed)."""
    if not (workspace.index_dir / "index.sqlite").exists():
        return []
    with DocumentIndex.open(workspace.index_dir, workspace.documents_manifest) as index:
        return index.roots()


def list_documents(workspace: Workspace) -> list[DocumentRecord]:
    """The documents list of ``workspace`` (empty if nothing was ever indexed)."""
    if not (workspace.index_dir / "index.sqlite").exists():
        return []
    with DocumentIndex.open(workspace.index_dir, workspace.documents_manifest) as index:
        return index.documents()
