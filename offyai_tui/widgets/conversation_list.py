"""The sidebar: the workspace's conversations, newest first, type to filter.

Typing while the list has focus goes into the filter box, so finding a
conversation is "focus the list, type a few letters, Enter".

The filter box and the list are mounted just after the screen's first frame,
so an empty chat shows sooner; entries given before then are shown once they
are there. Asking for the list before that mounts it at once, and focus moves
without waiting for the app's queue: keys typed right after Ctrl+L belong to
the list, not to the prompt that had focus.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from textual import on
from textual.containers import Vertical
from textual.content import Content
from textual.events import Key
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from offyai_tui.textsafe import visible
from offyai_tui.widgets.ordered_keys import OrderedInput, is_plain_character


@dataclass(frozen=True)
class Entry:
    """One row: a conversation id and its title."""

    id: str
    title: str


class _Conversations(OptionList):
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
        self._entries: list[Entry] = []
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
    def entries(self) -> list[Entry]:
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
        options = self.query_one(_Conversations)
        return [
            str(options.get_option_at_index(i).id) for i in range(options.option_count)
        ]

    def set_entries(self, entries: list[Entry], current: str) -> None:
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
        options = self.query_one(_Conversations)
        wanted = self.filter_text.casefold().strip()
        shown = [e for e in self._entries if wanted in e.title.casefold()]
        options.clear_options()
        options.add_options(
            Option(Content(("● " if e.id == self._current else "  ") + visible(e.title)),
                   id=e.id)
            for e in shown
        )
        for index, entry in enumerate(shown):
            if entry.id == self._current:
                options.highlighted = index
                break

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        options = self.query_one(_Conversations)
        if options.option_count:
            options.highlighted = options.highlighted or 0
            options.focus()
            option = options.get_option_at_index(options.highlighted or 0)
            self.post_message(self.Selected(str(option.id)))

    @on(OptionList.OptionSelected)
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Selected(str(event.option.id)))
