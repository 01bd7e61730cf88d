"""The Documents screen: add, list, remove and re-index files; try a search.

Indexing is not run here: :mod:`offyai_tui.ui.screens.documents_job` keeps the run
on the app, so this screen can be left and re-entered while it goes on. The
screen renders the job's state when the job announces a change, and reads the
documents list from the index whenever a run or a removal ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from offyai_tui.engines.errors import EngineError
from offyai_tui.rag.errors import RagError
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.documents_job import DocumentsJob, WorkspaceState, documents_job
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.ui.widgets.common.path_suggest import PathSuggester
from offyai_tui.ui.widgets.documents.chunk import ChunkScreen
from offyai_tui.ui.widgets.documents.hits import SearchHits
from offyai_tui.ui.widgets.documents.progress import IndexProgressPanel
from offyai_tui.ui.widgets.documents.summary import WorkspaceSummary, roots_phrase
from offyai_tui.ui.widgets.documents.table import DocumentTable
from offyai_tui.util.textsafe import visible

EMPTY_HINT = "No documents yet: type a file or folder path above and press Enter."
PaletteCommand = tuple[str, str, Callable[[], Any]]
_SETTLED = ("done", "cancelled", "failed", "committing")
"""Phases after which the documents list is read again."""


class DocumentsScreen(Screen[None]):
    """Documents of the current workspace, their indexing and a retrieval try-out."""

    DEFAULT_CSS = """
    DocumentsScreen Input { margin: 0 0 0 0; }
    DocumentsScreen #note { height: auto; padding: 0 1; color: $text-muted; display: none; }
    DocumentsScreen #note.-shown { display: block; }
    DocumentsScreen #note.-error { color: $text-error; }
    DocumentsScreen #detail { height: auto; padding: 0 1; background: $panel; display: none; }
    DocumentsScreen #detail.-shown { display: block; }
    DocumentsScreen #hits-title { padding: 0 1; color: $text-muted; display: none; }
    DocumentsScreen #hits-title.-shown { display: block; }
    """

    BINDINGS = bindings("documents")

    def __init__(self, job: DocumentsJob) -> None:
        super().__init__()
        self.job = job
        self.state: WorkspaceState | None = None
        self._seen_phase = job.phase

    def compose(self) -> ComposeResult:
        yield WorkspaceSummary("Reading the index…", id="summary")
        yield OrderedInput(
            placeholder="Add a file or folder: type a path (→ completes, Enter indexes)",
            suggester=PathSuggester(),
            id="path",
        )
        yield IndexProgressPanel(id="progress")
        yield Static(id="note")
        yield DocumentTable(id="table")
        yield Static(id="detail")
        yield OrderedInput(placeholder="Try a search in these documents (Enter searches)",
                           id="search")
        yield Static("Hits (Enter shows the chunk)", id="hits-title")
        yield SearchHits(id="hits")
        yield Footer()

    def on_mount(self) -> None:
        self.job.changed.subscribe(self, self._job_changed)
        self._render_job()
        self.refresh_documents()
        self.query_one("#path", Input).focus()

    # ----------------------------------------------------------------- state

    def _job_changed(self, job: DocumentsJob) -> None:
        self._render_job()
        if job.phase != self._seen_phase and (job.phase in _SETTLED or not job.busy):
            self.refresh_documents()
        self._seen_phase = job.phase

    def _render_job(self) -> None:
        job = self.job
        self.query_one(IndexProgressPanel).show(
            job.phase,
            job.progress,
            job.report,
            job.error,
            running=job.busy,
            cancelling=job.busy and job.cancel_requested,
        )

    @work(exclusive=True, group="documents-list")
    async def refresh_documents(self) -> None:
        """Read the documents list and the manifest from the index."""
        try:
            state = await self.job.state()
        except (RagError, OSError) as exc:
            self.note(str(exc), error=True)
            return
        self.state = state
        skipped = sum(1 for r in state.records if r.status != "indexed")
        self.query_one(WorkspaceSummary).show(
            state.workspace,
            len(state.records),
            skipped,
            state.chunks,
            state.identity,
            state.problem,
            state.roots,
        )
        self.query_one(DocumentTable).show(state.records)
        if not state.records and not self.job.busy and not self.query_one("#note").has_class(
            "-error"
        ):
            self.note(EMPTY_HINT)  # a hint never hides an error the user has not seen

    def note(self, text: str, *, error: bool = False) -> None:
        """One line under the progress panel (what just happened, or what went wrong)."""
        note = self.query_one("#note", Static)
        note.update(Content(visible(" ".join(text.split()))))
        note.set_class(error, "-error")
        note.set_class(bool(text), "-shown")

    @on(DocumentTable.RowHighlighted)
    @on(events.DescendantFocus)
    @on(events.DescendantBlur)
    def _show_detail(self) -> None:
        """Full path and full status of the highlighted document, while the list has focus."""
        table = self.query_one(DocumentTable)
        detail = self.query_one("#detail", Static)
        record = table.records.get(table.selected_path or "")
        if record is None or not table.has_focus:
            detail.remove_class("-shown")
            return
        if record.status == "indexed":
            line = f"{record.path} · {record.title}" if record.title else record.path
            if record.notes:
                line += " · " + "; ".join(record.notes)
        elif record.status == "partial":
            line = f"{record.path} · {record.chunks} chunks so far · {record.reason}"
        else:
            line = f"{record.path} · skipped: {record.reason}"
        detail.update(Content(visible(line)))
        detail.add_class("-shown")

    # ------------------------------------------------------------ add, index

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            return
        path = os.path.expanduser(value)
        if not os.path.lexists(path):
            self.note(f"no such file or folder: {value}", error=True)
            return
        refused = self.job.start([path])
        if refused:
            self.note(refused, error=True)
            return
        event.input.clear()
        self.note(f"indexing {value}")

    def action_reindex(self) -> None:
        """Walk the saved files and folders again (the index keeps them across restarts)."""
        state = self.state
        if state is not None and not state.roots and not state.records:
            self.note("nothing to re-index yet: add a file or folder first", error=True)
            return
        refused = self.job.reindex()
        if refused:
            self.note(refused, error=True)
            return
        what = "the listed documents"
        if state is not None and state.roots:
            what = roots_phrase(state.roots)
        self.note(f"re-indexing {what} (unchanged files are skipped)")

    def action_cancel_or_back(self) -> None:
        if self.job.cancel():
            self.note("cancelling: finished files are kept")
        else:
            self.action_back()

    def action_back(self) -> None:
        """Leave the screen; a running indexing goes on (the app keeps it)."""
        self.app.pop_screen()

    @on(IndexProgressPanel.CancelPressed)
    def _cancel_pressed(self) -> None:
        if self.job.cancel():
            self.note("cancelling: finished files are kept")

    # ---------------------------------------------------------------- remove

    def action_remove(self) -> None:
        path = self.query_one(DocumentTable).selected_path
        if path is None:
            self.note("no document selected", error=True)
            return
        if self.job.busy:
            self.note("indexing is running; wait for it or cancel it (Esc) first", error=True)
            return
        name = Path(path).name
        question = f"Remove {visible(name)} from the index? The file itself stays."

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(path)

        self.app.push_screen(ConfirmScreen(question, yes="Remove"), answered)

    @work(exclusive=True, group="documents-remove")
    async def _remove(self, path: str) -> None:
        try:
            removed = await self.job.remove([path])
        except (RagError, OSError) as exc:
            self.note(str(exc), error=True)
            return
        self.note(f"removed {Path(path).name}" if removed else f"{path} was not indexed")
        self.refresh_documents()

    # ---------------------------------------------------------------- search

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.search(event.value.strip())

    @work(exclusive=True, group="documents-search")
    async def search(self, query: str) -> None:
        """Retrieve the top chunks for ``query`` the way a chat would."""
        self.note(f"searching for {query!r}…")
        try:
            retrieval = await self.job.docs.retrieve(query)
        except (RagError, EngineError, OSError) as exc:
            self.note(f"search failed: {exc}", error=True)
            return
        hits = self.query_one(SearchHits)
        hits.show(retrieval.sources)
        self.query_one("#hits-title").set_class(bool(retrieval.sources), "-shown")
        found = len(retrieval.sources)
        line = (
            f"{found} hit{'s' if found != 1 else ''} ({retrieval.mode}, "
            f"{retrieval.elapsed_ms:.0f} ms)"
            if found
            else f"no hits for {query!r}"
        )
        if retrieval.note:
            line += f" · {retrieval.note}"
        self.note(line, error=bool(retrieval.note))
        if found:
            hits.focus()

    @on(SearchHits.Opened)
    def _open_hit(self, event: SearchHits.Opened) -> None:
        self.app.push_screen(ChunkScreen(event.source))

    # ----------------------------------------------------------- focus, palette

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_toggle_follow_symlinks(self) -> None:
        """Flip ``rag.follow_symlinks`` for the next runs and save it in config.toml.

        Off (the default), a link whose target is outside the added folder is
        listed as skipped; on, it is followed, but never into a hidden or
        ignored folder (:func:`offyai_tui.util.confine.resolve_inside`).
        """
        from offyai_tui.settings.config_write import ConfigWriteError, set_config_value

        rag = offy(self.app).settings.rag
        rag.follow_symlinks = not rag.follow_symlinks
        state = "followed" if rag.follow_symlinks else "listed as skipped"
        try:
            set_config_value("rag.follow_symlinks", rag.follow_symlinks)
        except ConfigWriteError as exc:
            self.notify(f"Links out of added folders are now {state} until you quit; "
                        f"not saved: {exc}", severity="warning", markup=False)
            return
        self.notify(f"Links out of added folders are now {state} (saved); "
                    "re-index (F5) to apply it.", markup=False)

    async def palette_commands(self) -> list[PaletteCommand]:
        """Entries the app's command palette shows while this screen is open."""
        commands: list[PaletteCommand] = [
            ("Documents: add a file or folder", "type a path to index", self.action_focus_path),
            (
                "Documents: re-index changed files",
                "unchanged files are skipped",
                self.action_reindex,
            ),
            (
                "Documents: remove selected",
                "remove the highlighted document from the index",
                self.action_remove,
            ),
            (
                "Documents: search",
                "try retrieval on the indexed documents",
                self.action_focus_search,
            ),
            ("Documents: back", "leave this screen (indexing goes on)", self.action_back),
        ]
        following = offy(self.app).settings.rag.follow_symlinks
        commands.append((
            f"Documents: {'stop following' if following else 'follow'} links out of folders",
            f"now {'on' if following else 'off'}; hidden folders are never followed; saved",
            self.action_toggle_follow_symlinks,
        ))  # fmt: skip
        if self.job.busy:
            commands.insert(
                0, ("Documents: cancel indexing", "finished files are kept", self.job.cancel)
            )
        return commands


def make_screen(app: App[Any]) -> DocumentsScreen:
    """The hook ``OffyApp.action_open_screen('documents')`` calls."""
    return DocumentsScreen(documents_job(app))
