"""Search every conversation of the workspace; Enter jumps to the hit.

Searching goes through the workspace's FTS5 index (see
:mod:`offyai_tui.chat.search_index`) in a thread worker. Each key restarts a
short debounce, so a query typed fast runs once, after the last key; a key that
arrives while a search runs cancels it (SQLite stops at its next progress
check), and only the latest query's results are ever shown.
"""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from offyai_tui.chat import ConversationStore, SearchHit
from offyai_tui.chat.search_index import SearchCancelled
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.util.textsafe import strip_controls, visible

DEBOUNCE_S = 0.08
"""Quiet time after a key before searching: shorter than a pause, longer than a burst."""


class SearchScreen(ModalScreen[SearchHit | None]):
    """Type to search; Down/Enter to pick a hit; Esc closes."""

    DEFAULT_CSS = """
    SearchScreen { align: center top; }
    SearchScreen > Vertical {
        width: 100; max-width: 100%; height: 80%; margin: 2 0 0 0;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SearchScreen OptionList { height: 1fr; border: none; }
    SearchScreen #summary { color: $text-muted; }
    """

    BINDINGS = bindings("search")

    def __init__(self, store: ConversationStore, query: str = "") -> None:
        super().__init__()
        self._store = store
        self._query = query
        self._hits: list[SearchHit] = []
        self._cancel = threading.Event()
        """Set to stop the search in flight; each query gets a fresh one."""
        self._timer = None
        self._shown = ""
        """The query whose hits are listed."""
        self._open_first = False
        """Enter came before the typed query's hits: open its first hit when they arrive."""
        self.searches = 0
        """Searches started (each debounced query once): what typing fast costs."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield OrderedInput(self._query, placeholder="Search all conversations", id="query")
            yield Static(id="summary")
            yield OptionList(id="hits")

    def on_mount(self) -> None:
        self.query_one("#query", Input).focus()
        if self._query:
            self._start(self._query)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._open_first = False
        self._cancel.set()
        self._cancel = threading.Event()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        query = event.value
        if not query.strip():
            self._show(query, [])
            return
        self._timer = self.set_timer(DEBOUNCE_S, lambda: self._start(query))

    def _start(self, query: str) -> None:
        self._timer = None
        self.searches += 1
        self._search(query, self._cancel)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter opens the first hit of what was typed, never of an earlier prefix."""
        if event.value != self._shown:
            self._open_first = True
            if self._timer is not None:  # still debouncing: search now
                self._timer.stop()
                self._start(event.value)
            return
        if self._hits:
            self.dismiss(self._hits[0])

    @work(exclusive=True, thread=True, group="search")
    def _search(self, query: str, cancel: threading.Event) -> None:
        try:
            hits = self._store.search(query, cancelled=cancel.is_set)
        except SearchCancelled:
            return
        if not cancel.is_set():
            self.app.call_from_thread(self._show, query, hits)

    def _show(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.query_one("#query", Input).value:
            return
        self._hits, self._shown = hits, query
        if self._open_first and hits:
            self.dismiss(hits[0])
            return
        options = self.query_one("#hits", OptionList)
        options.clear_options()
        options.add_options(
            Option(Content.assemble(
                (visible(hit.title), "bold"), "  ",
                (hit.role, "dim"), "  ", strip_controls(hit.snippet),
            ), id=str(index))
            for index, hit in enumerate(hits)
        )
        summary = f"{len(hits)} hit{'s' if len(hits) != 1 else ''}" if query.strip() else ""
        self.query_one("#summary", Static).update(Content(summary))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._hits[int(str(event.option.id))])

    def action_focus_hits(self) -> None:
        hits = self.query_one("#hits", OptionList)
        if hits.option_count:
            hits.focus()
            hits.highlighted = hits.highlighted or 0

    def action_close(self) -> None:
        self.dismiss(None)
