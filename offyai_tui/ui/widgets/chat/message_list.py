"""The scrolling list of messages, rendered lazily.

Only the newest :attr:`MessageList.PAGE` messages are mounted when a
conversation opens, so a 1,000-message conversation opens as fast as a short
one; nearing the top mounts earlier messages, :attr:`MessageList.STEP` at a
time after each frame (a PageUp then finds its page there and costs a scroll),
and the message being read is pinned where it is on screen meanwhile.
The list is anchored to the bottom: new text is followed while the user is at
the bottom, and scrolling up to read is never yanked back. Mounted messages
far from the viewport are folded (:mod:`offyai_tui.ui.widgets.chat.message_fold`).

The mounted messages are a window of at most :attr:`MessageList.WINDOW`
(``_first`` to ``_last``) that slides both ways: growing it above unmounts a
page at the bottom, nearing the bottom of the window mounts the next messages
and unmounts a page at the top. Memory and the cost of each page (layout, refold)
are therefore the same 10 messages or 10,000 messages back. Home jumps to the
first message (one page mounted there) and End back to the newest, so both ends
of a 10,000-message chat are one key away. An answer still streaming is never
unmounted.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.events import Resize
from textual.geometry import Size
from textual.widgets import Static

from offyai_tui.chat.records import ChatMessage, new_message_id
from offyai_tui.ui.host import offy
from offyai_tui.ui.widgets.chat.message_cursor import MessageCursor
from offyai_tui.ui.widgets.chat.message_fold import refold, unfold
from offyai_tui.ui.widgets.chat.message_view import MessageView
from offyai_tui.ui.widgets.chat.sources_panel import SourceList, SourcesPanel

PENDING = "pending-"
"""Id prefix of an answer's placeholder before the chat core has created it."""


def placeholder(model: str = "") -> ChatMessage:
    """An empty answer, shown as soon as a prompt is sent; the answer takes its place."""
    return ChatMessage(id=PENDING + new_message_id(), role="assistant", content="",
                       status="streaming", model=model)


class MessageList(MessageCursor, can_focus=True):
    """Shows one conversation's messages; the screen feeds it."""

    PAGE = 20
    """Messages mounted at a time: enough to fill a tall terminal twice."""
    WINDOW = 3 * PAGE
    """At most this many messages mounted (plus an answer still streaming)."""
    STEP = 2
    """Messages mounted ahead at a time while reading: a small step keeps keys responsive."""
    MARGIN_SCREENS = 1.5
    """Keep this many screens of messages mounted beyond the viewport, in both directions."""

    DEFAULT_CSS = """
    MessageList { height: 1fr; padding: 0 1; }
    MessageList > #earlier, MessageList > #later {
        color: $text-muted; text-align: center; width: 1fr;
    }
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
        self._last = 0
        """Index in ``_messages`` just past the newest mounted message."""
        self._views: dict[str, MessageView] = {}
        self._loading = False
        self._empty_hint = empty_hint
        """The hint shown by the ``#empty`` line, if there is one."""
        self._width = 0
        self._pin: tuple[MessageView, float] | None = None
        """A message kept at its place on screen while pages mount around it, and its
        offset from the viewport's top; dropped when the user scrolls."""
        self._pinning = False
        self._code_cursor = 0
        """Code blocks of the last answer copied so far: Alt+B goes back one each time."""

    def compose(self):
        # Composed already showing the empty conversation, so the screen's
        # first frame is complete and opening it mounts nothing.
        earlier = Static(id="earlier")
        earlier.display = False
        yield earlier
        if self._empty_hint:
            yield Static(Content(self._empty_hint), id="empty")
        later = Static(id="later")
        later.display = False
        yield later

    @property
    def hidden_count(self) -> int:
        """Older messages not mounted."""
        return self._first

    @property
    def later_count(self) -> int:
        """Newer messages not mounted (after paging back far)."""
        return len(self._messages) - self._last

    @property
    def views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    def view_for(self, message_id: str) -> MessageView | None:
        return self._views.get(message_id)

    async def show(self, messages: Sequence[ChatMessage], empty_hint: str = "") -> None:
        """Replace the content with ``messages`` (newest page mounted)."""
        self._messages = list(messages)
        self._pin = None
        self._code_cursor = 0
        self._last = len(self._messages)
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
            widgets.append(Static(id="later"))
            await self.mount_all(widgets)
        self._update_earlier()
        self.anchor()

    async def add(self, message: ChatMessage) -> MessageView:
        """Append a message at the bottom (jumping there first) and return its view."""
        self._code_cursor = 0
        if self._last < len(self._messages):
            await self._jump(max(0, len(self._messages) - self.PAGE))
        self._messages.append(message)
        self._last = len(self._messages)
        for hint in self.query_children("#empty"):
            await hint.remove()
        view = self._make_view(message)
        await self.mount(view, before="#later")
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
        await self.mount(note, before="#later")
        return note

    async def remove_message(self, message_id: str) -> None:
        index = self._index_of(message_id)
        if index is None:
            return
        del self._messages[index]
        self._first -= index < self._first
        self._last -= index < self._last
        view = self._views.pop(message_id, None)
        if view is not None:
            await view.remove()

    async def remove_placeholders(self) -> None:
        """Remove answers that never started (a failed send leaves one behind)."""
        for view in self.views:
            if view.message.id.startswith(PENDING):
                await self.remove_message(view.message.id)

    async def load_earlier(self, count: int | None = None) -> int:
        """Mount the previous page (or ``count``) above the current top; returns how many.

        A page at the bottom is unmounted when the window is full; the line
        being read stays where it is on screen.
        """
        if self._first == 0 or self._loading:
            return 0
        self._loading = True
        try:
            start = max(0, self._first - (count or self.PAGE))
            views = [self._make_view(m) for m in self._messages[start : self._first]]
            self._pin_to(self._views.get(self._messages[self._first].id))
            self._first = start
            with self.app.batch_update():
                await self.mount_all(views, after="#earlier")
                await self._trim(top=False)
            self._update_earlier()
            self.call_after_refresh(self._apply_pin)
            return len(views)
        finally:
            self._loading = False

    async def load_later(self, count: int | None = None) -> int:
        """Mount the next page below the window (after paging back); returns how many."""
        if self._last >= len(self._messages) or self._loading:
            return 0
        self._loading = True
        try:
            end = min(len(self._messages), self._last + (count or self.PAGE))
            views = [self._make_view(m) for m in self._messages[self._last : end]]
            anchor = self._views.get(self._messages[self._last - 1].id)
            self._pin_to(anchor)
            self._last = end
            with self.app.batch_update():
                if anchor is not None:
                    await self.mount_all(views, after=anchor)
                else:
                    await self.mount_all(views, before="#later")
                await self._trim(top=True)
            self._update_earlier()
            self.call_after_refresh(self._apply_pin)
            return len(views)
        finally:
            self._loading = False

    async def _trim(self, *, top: bool) -> None:
        """Unmount whole pages from one end while more than :attr:`WINDOW` are mounted."""
        doomed = []
        while self._last - self._first > self.WINDOW:
            if top:
                page = self._messages[self._first : self._first + self.PAGE]
            else:
                page = self._messages[self._last - self.PAGE : self._last]
            if any(m.status == "streaming" for m in page):
                break
            for message in page:
                view = self._views.pop(message.id, None)
                if view is not None:
                    doomed.append(view)
            if top:
                self._first += len(page)
            else:
                self._last -= len(page)
        if doomed:
            await self.remove_children(doomed)

    async def _jump(self, first: int) -> None:
        """Mount one page starting at ``first`` in place of the whole window."""
        first = max(0, min(first, len(self._messages) - 1))
        last = min(len(self._messages), first + self.PAGE)
        views = [self._make_view(m) for m in self._messages[first:last]]
        old = [v for v in self.query_children(MessageView)]
        keep = {m.id for m in self._messages[first:last]}
        self._views = {k: v for k, v in self._views.items() if k in keep}
        self._views.update({v.message.id: v for v in views})
        self._first, self._last = first, last
        self._pin = None
        with self.app.batch_update():
            await self.remove_children(old)
            await self.mount_all(views, after="#earlier")
        self._update_earlier()

    async def reveal(self, message_id: str) -> MessageView | None:
        """Scroll to a message (mounting the page around it as needed) and highlight it."""
        index = self._index_of(message_id)
        if index is None:
            return None
        if not self._first <= index < self._last:
            await self._jump(max(0, index - self.PAGE // 2))
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

    def _index_of(self, message_id: str) -> int | None:
        return next((i for i, m in enumerate(self._messages) if m.id == message_id), None)

    def _make_view(self, message: ChatMessage) -> MessageView:
        view = MessageView(message)
        self.mark(view)
        self._views[message.id] = view
        return view

    def _shows_only(self, empty_hint: str) -> bool:
        """Whether nothing but ``empty_hint`` is shown (as composed, or after ``show([])``)."""
        ids = [child.id for child in self.children]
        return ids == ["earlier", "empty", "later"] and self._empty_hint == empty_hint

    def _update_earlier(self) -> None:
        earlier = self.query_one("#earlier", Static)
        earlier.display = self._first > 0
        earlier.update(
            Content(f"▲ {self._first} earlier messages: scroll up, or Home for the first")
        )
        later = self.query_one("#later", Static)
        later.display = self.later_count > 0
        later.update(
            Content(f"▼ {self.later_count} later messages: scroll down, or End for the newest")
        )

    def _pin_to(self, anchor: MessageView | None) -> None:
        """Keep ``anchor`` where it is on screen while the window changes (unless pinned)."""
        if anchor is not None and (self._pin is None or not self._pin[0].is_attached):
            self._pin = (anchor, anchor.virtual_region.y - self.scroll_y)

    def _apply_pin(self) -> None:
        """Scroll so the pinned message is back at its place (pages and Markdown settle)."""
        if self._pin is None:
            self._want_more()
            return
        anchor, offset = self._pin
        if not anchor.is_attached:
            self._pin = None
            return
        y = anchor.virtual_region.y - offset
        if y != self.scroll_y:
            self._pinning = True
            try:
                self.scroll_to(y=y, animate=False, immediate=True)
            finally:
                self._pinning = False
        self._want_more()

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
        if not self._pinning:
            self._pin = None  # the user scrolled: what they see now is theirs
        if new_value < self.max_scroll_y - 1:
            self._bring_back_hidden()
        self.refold()
        self._want_more()

    def _bring_back_hidden(self) -> None:
        """The view left the bottom: parts of the streaming message hidden meanwhile return.

        A streaming body hides its far chunks while the view follows the stream and
        brings them back at its next flush once the user scrolls up; a model that
        pauses (a long think, a slow machine) flushes nothing, and scrolling up would
        find blank lines of their height until it spoke again.
        """
        views = self.query_children(MessageView)
        if views:  # by type name: the Markdown parser loads with the first answer, not here
            for body in views.last().query("AnswerBody"):
                body.show_hidden()  # type: ignore[attr-defined]

    def _want_more(self) -> None:
        """Mount a few more messages when the viewport nears either end of the window.

        Done a :attr:`STEP` at a time after each refresh, while the user reads,
        so a PageUp usually finds its page mounted already and costs a scroll.
        """
        if self._loading or not self.is_attached or not self.size.height:
            return
        margin = self.size.height * self.MARGIN_SCREENS
        if self._first and self.scroll_y < margin and (
            self.scroll_y < self.max_scroll_y or self.max_scroll_y <= 0
        ):
            self.call_after_refresh(self.load_earlier, self.STEP)
        elif self.later_count and self.max_scroll_y - self.scroll_y < margin:
            self.call_after_refresh(self.load_later, self.STEP)

    def on_answer_body_reshaped(self) -> None:
        self.call_after_refresh(self.refold)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """Messages were added, removed or grew (an answer streaming): positions moved."""
        if new.height != old.height:
            self.call_after_refresh(self.refold)
            if self._pin is not None:
                self.call_after_refresh(self._apply_pin)

    def action_page_up(self) -> None:
        """PageUp moves a page at once, as a pager does (an animated page costs ~0.5 s)."""
        self.release_anchor()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    async def action_scroll_home(self) -> None:
        """Home: to the first message of the conversation, however long it is."""
        self.release_anchor()
        if self._first:
            await self._jump(0)
            self.call_after_refresh(self._want_more)
        self.scroll_home(animate=False, immediate=True)

    async def action_scroll_end(self) -> None:
        """End: back to the newest message, following new text again."""
        if self._last < len(self._messages):
            await self._jump(max(0, len(self._messages) - self.PAGE))
        self.scroll_end(animate=False, immediate=True)
        self.anchor()

    # ------------------------------------------------------ the messages' actions

    def copy_answer(self, messages: Sequence[ChatMessage]) -> None:
        """Copy the last answer of ``messages`` (the conversation shown)."""
        text = _last_answer(messages)
        if not text:
            self.notify("No answer to copy yet.", timeout=3)
            return
        offy(self.app).copy_text(text, "the last answer")

    def copy_code(self, messages: Sequence[ChatMessage]) -> None:
        """Copy the last code block of the last answer; again: the one before it."""
        from offyai_tui.ui.widgets.chat.blocks import code_blocks

        blocks = code_blocks(_last_answer(messages))
        if not blocks:
            self.notify("The last answer has no code block.", timeout=3)
            return
        index = len(blocks) - 1 - (self._code_cursor % len(blocks))
        self._code_cursor += 1
        block = blocks[index]
        language = f" ({block.language})" if block.language else ""
        offy(self.app).copy_text(block.code,
                                 f"code block {index + 1} of {len(blocks)}{language}")

    def focus_sources(self) -> None:
        """Focus the sources of the newest answer; again: those of the answer before."""
        lists = list(self.query(SourceList))
        if not lists:
            self.notify("No answer on screen has sources.", timeout=3)
            return
        focused = self.screen.focused
        index = lists.index(focused) - 1 if focused in lists else len(lists) - 1
        target = lists[index % len(lists)]
        if target.highlighted is None:
            target.highlighted = 0
        target.focus()

    def scroll_pages(self, direction: int) -> None:
        """A page up (``direction < 0``) or down, wherever focus is."""
        if direction < 0:
            self.scroll_page_up()
        else:
            self.scroll_page_down()

    def on_sources_panel_opened(self, event: SourcesPanel.Opened) -> None:
        from offyai_tui.ui.widgets.documents.chunk import ChunkScreen

        event.stop()
        self.app.push_screen(ChunkScreen(event.source))


def _last_answer(messages: Sequence[ChatMessage]) -> str:
    for message in reversed(messages):
        if message.role == "assistant" and message.content.strip():
            return message.content
    return ""
