"""The sidebar: the workspace's conversations, newest first, type to filter.

Typing while the list has focus goes into the filter box, so finding a
conversation is "focus the list, type a few letters, Enter".

The filter box and the list are mounted just after the screen's first frame,
so an empty chat shows sooner; entries given before then are shown once they
are there. Asking for the list before that mounts it at once, and focus moves
without waiting for the app's queue: keys typed right after Ctrl+L belong to
the list, not to the prompt that had focus.

Rows are drawn by :class:`~offyai_tui.ui.widgets.chat.conversation_rows.ConversationRows`,
which renders only the rows on screen, so 10,000 conversations cost what 20 do.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.containers import Vertical
from textual.events import Key
from textual.message import Message
from textual.widgets import Input

from offyai_tui.ui.widgets.chat.conversation_rows import ConversationRows, Entry, Titled
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput, is_plain_character

__all__ = ["ConversationSidebar", "Entry", "Titled"]


class _Conversations(ConversationRows):
    """The list itself; printable keys go to the filter box."""

    def on_key(self, event: Key) -> None:
        # Spaces too: keys typed fast can arrive before the filter box has focus.
        if is_plain_character(event) and event.character:  # not Alt+D (ESC d)
            sidebar = self.query_ancestor(ConversationSidebar)
            event.stop()
            event.prevent_default()
            sidebar.type_into_filter(event.character)


class ConversationSidebar(Vertical):
    """Filter box and conversation list; posts :class:`ConversationSidebar.Selected`."""

    DEFAULT_CSS = """
    ConversationSidebar {
        width: 30;
        height: 1fr;
        border-right: vkey $panel-lighten-2;
        background: $surface;
    }
    ConversationSidebar > Input { border: none; height: 1; padding: 0 1; }
    ConversationSidebar > _Conversations { height: 1fr; border: none; }
    ConversationSidebar.-hidden { display: none; }
    """

    class Selected(Message):
        """The user chose a conversation."""

        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[Titled] = []
        self._current = ""
        self._built = False
        self._building = asyncio.Lock()

    def on_mount(self) -> None:
        # Through the app's queue, which runs after Textual's startup batch, so
        # this waits for the first frame on the terminal, not a batched refresh.
        self.app.call_later(self.call_after_refresh, self._build)

    async def _build(self) -> None:
        async with self._building:
            if self._built or not self.is_attached:
                return
            box = OrderedInput(
                placeholder="Filter conversations", id="filter", compact=True,
                select_on_focus=False,
            )
            await self.mount_all([box, _Conversations(id="conversations")])
            if not self.query_children(_Conversations):
                return  # the screen closed while the list was being mounted
            self._built = True
            self._rebuild()

    async def focus_list(self) -> None:
        """Focus the conversation list now (mounting it first if needed)."""
        await self._build()
        if self._built:
            self.screen.set_focus(self.query_one(_Conversations))

    @property
    def entries(self) -> list[Titled]:
        """Every row, unfiltered."""
        return list(self._entries)

    @property
    def filter_text(self) -> str:
        return self.query_one("#filter", Input).value if self._built else ""

    @property
    def visible_ids(self) -> list[str]:
        """Ids shown with the current filter, top to bottom."""
        if not self._built:
            return []
        return [entry.id for entry in self.query_one(_Conversations).rows]

    def set_entries(self, entries: list[Titled], current: str) -> None:
        """Replace the rows (already newest first) and mark the current one."""
        self._entries = entries
        self._current = current
        self._rebuild()

    def type_into_filter(self, text: str) -> None:
        box = self.query_one("#filter", Input)
        self.screen.set_focus(box)
        box.insert_text_at_cursor(text)

    def _rebuild(self) -> None:
        if not self._built:
            return
        wanted = self.filter_text.casefold().strip()
        shown = [e for e in self._entries if wanted in e.title.casefold()] if wanted else (
            self._entries)
        self.query_one(_Conversations).set_rows(shown, self._current)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        rows = self.query_one(_Conversations)
        if rows.option_count:
            rows.highlighted = rows.highlighted or 0
            rows.focus()
            self.post_message(self.Selected(rows.rows[rows.highlighted or 0].id))

    @on(ConversationRows.Chosen)
    def _row_chosen(self, event: ConversationRows.Chosen) -> None:
        event.stop()
        self.post_message(self.Selected(event.entry.id))
