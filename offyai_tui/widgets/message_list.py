"""The scrolling list of messages, rendered lazily.

Only the newest :attr:`MessageList.PAGE` messages are mounted when a
conversation opens, so a 1,000-message conversation opens as fast as a short
one; reaching the top mounts the previous page and keeps the reading position.
The list is anchored to the bottom: new text is followed while the user is at
the bottom, and scrolling up to read is never yanked back. Mounted messages
far from the viewport are folded (:mod:`offyai_tui.widgets.message_fold`).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.geometry import Size
from textual.widgets import Static

from offyai_tui.chat.records import ChatMessage
from offyai_tui.widgets.message_fold import refold, unfold
from offyai_tui.widgets.message_view import MessageView


class MessageList(VerticalScroll, can_focus=True):
    """Shows one conversation's messages; the screen feeds it."""

    PAGE = 20
    """Messages mounted at a time: enough to fill a tall terminal twice."""

    DEFAULT_CSS = """
    MessageList { height: 1fr; padding: 0 1; }
    MessageList > #earlier { color: $text-muted; text-align: center; width: 1fr; }
    MessageList > #empty { color: $text-muted; padding: 1 2; }
    MessageList > .note {
        color: $text-muted; border-left: outer $secondary; padding: 0 1; margin: 0 1 1 1;
    }
    MessageList > .note.-warning { color: $text-warning; border-left: outer $warning; }
    """

    def __init__(self, *, id: str | None = None, empty_hint: str = "") -> None:
        super().__init__(id=id)
        self._messages: list[ChatMessage] = []
        self._first = 0
        """Index in ``_messages`` of the oldest mounted message."""
        self._views: dict[str, MessageView] = {}
        self._loading = False
        self._empty_hint = empty_hint
        """The hint shown by the ``#empty`` line, if there is one."""
        self._width = 0

    def compose(self):
        # Composed already showing the empty conversation, so the screen's
        # first frame is complete and opening it mounts nothing.
        earlier = Static(id="earlier")
        earlier.display = False
        yield earlier
        if self._empty_hint:
            yield Static(Content(self._empty_hint), id="empty")

    @property
    def hidden_count(self) -> int:
        """Older messages not mounted yet."""
        return self._first

    @property
    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    def view_for(self, message_id: str) -> MessageView | None:
        return self._views.get(message_id)

    async def show(self, messages: Sequence[ChatMessage], empty_hint: str = "") -> None:
        """Replace the content with ``messages`` (newest page mounted)."""
        self._messages = list(messages)
        self._first = max(0, len(self._messages) - self.PAGE)
        self._views = {}
        if not self._messages and empty_hint and self._shows_only(empty_hint):
            self._update_earlier()
            self.anchor()
            return
        self._empty_hint = empty_hint if not self._messages else ""
        views = [self._make_view(m) for m in self._messages[self._first :]]
        with self.app.batch_update():
            await self.remove_children()
            widgets: list = [Static(id="earlier"), *views]
            if not self._messages and empty_hint:
                widgets.append(Static(Content(empty_hint), id="empty"))
            await self.mount_all(widgets)
        self._update_earlier()
        self.anchor()

    async def add(self, message: ChatMessage) -> MessageView:
        """Append a message at the bottom and return its view."""
        self._messages.append(message)
        for hint in self.query_children("#empty"):
            await hint.remove()
        view = self._make_view(message)
        await self.mount(view)
        return view

    def rebind(self, old_id: str, message: ChatMessage) -> MessageView | None:
        """Point a placeholder's view at the real message once it exists."""
        view = self._views.pop(old_id, None)
        self._messages = [message if m.id == old_id else m for m in self._messages]
        if view is not None:
            view.rebind(message)
            self._views[message.id] = view
        return view

    async def add_note(self, text: str, *, warning: bool = False) -> Static:
        """A line from the app (slash command output), not part of the conversation."""
        note = Static(Content(text), classes="note -warning" if warning else "note")
        await self.mount(note)
        return note

    async def remove_message(self, message_id: str) -> None:
        self._messages = [m for m in self._messages if m.id != message_id]
        view = self._views.pop(message_id, None)
        if view is not None:
            await view.remove()

    async def load_earlier(self) -> int:
        """Mount the previous page above the current top; returns how many."""
        if self._first == 0 or self._loading:
            return 0
        self._loading = True
        try:
            start = max(0, self._first - self.PAGE)
            views = [self._make_view(m) for m in self._messages[start : self._first]]
            old_y, old_max = self.scroll_y, self.max_scroll_y
            self._first = start
            await self.mount_all(views, after="#earlier")
            self._update_earlier()
            self.call_after_refresh(self._restore, old_y, old_max)
            return len(views)
        finally:
            self._loading = False

    async def reveal(self, message_id: str) -> MessageView | None:
        """Scroll to a message (mounting older pages as needed) and highlight it."""
        index = next((i for i, m in enumerate(self._messages) if m.id == message_id), None)
        if index is None:
            return None
        while index < self._first:
            await self.load_earlier()
        view = self._views.get(message_id)
        if view is None:
            return None
        for other in self.query_children(".-hit"):
            other.remove_class("-hit")
        view.add_class("-hit")
        self.release_anchor()
        self.call_after_refresh(self.scroll_to_widget, view, animate=False, top=True)
        return view

    def follow(self) -> None:
        """Jump to the bottom and follow new text again (after the user sends)."""
        self.anchor()

    def _make_view(self, message: ChatMessage) -> MessageView:
        view = MessageView(message)
        self._views[message.id] = view
        return view

    def _shows_only(self, empty_hint: str) -> bool:
        """Whether nothing but ``empty_hint`` is shown (as composed, or after ``show([])``)."""
        ids = [child.id for child in self.children]
        return ids == ["earlier", "empty"] and self._empty_hint == empty_hint

    def _update_earlier(self) -> None:
        earlier = self.query_one("#earlier", Static)
        earlier.display = self._first > 0
        earlier.update(
            Content(f"▲ {self._first} earlier messages: scroll up or press Home to load")
        )

    def _restore(self, old_y: float, old_max: float) -> None:
        self.scroll_to(y=old_y + (self.max_scroll_y - old_max), animate=False, immediate=True)

    def refold(self) -> None:
        """Fold the messages far from the viewport and unfold those near it."""
        if self.is_attached and self.size.height:
            views = list(self.query_children(MessageView))
            refold(views, self.scroll_y, self.size.height, may_fold=self.size.width == self._width)

    def on_resize(self, event: Resize) -> None:
        if self.size.width != self._width:
            self._width = self.size.width  # measured heights are for the old width
            for view in self.query_children(MessageView):
                unfold(view)
            self.call_after_refresh(self.refold)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.refold()
        if new_value <= 0 < self._first and not self._loading and self.max_scroll_y > 0:
            self.call_after_refresh(self.load_earlier)

    def on_answer_body_reshaped(self) -> None:
        self.call_after_refresh(self.refold)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """Messages were added, removed or grew (an answer streaming): positions moved."""
        if new.height != old.height:
            self.call_after_refresh(self.refold)

    def action_scroll_home(self) -> None:
        """Home: to the top, which loads the previous page if there is one."""
        self.release_anchor()
        self.scroll_home(animate=False)
        if self.max_scroll_y == 0 and self._first:
            self.call_after_refresh(self.load_earlier)
