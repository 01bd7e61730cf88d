"""Choosing a message with the keyboard, and the actions on the one chosen.

From the prompt, a key (``chat.messages``) focuses the message list and selects
the newest message; Up/Down move between messages (mounting earlier or later
pages when the window ends), Esc goes back to the prompt. The action keys hand a
:class:`MessageAction` naming the selected message to :attr:`MessageCursor.on_action`:
the chat screen owns the conversation, so it decides what editing, cycling or
deleting means there. It is called, not posted, so the action (focus moving to the
prompt for an edit) is done before the app gives this list's key gate the next key
of a burst (:data:`MessageCursor.LETTERS_ARE_KEYS`).

The selection is a message id, not a widget: the list mounts and unmounts views
as it slides, and a view made for the selected id is marked again as it mounts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual.containers import VerticalScroll

from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.widgets.chat.message_view import MessageView

SELECTED = "-selected"


@dataclass(frozen=True)
class MessageAction:
    """A key asked for ``action`` (``edit``, ``cycle``, ``delete``, ``leave``) on a message."""

    action: str
    message_id: str
    step: int = 0


class MessageCursor(VerticalScroll):
    """The base of the message list: a selected message and the keys that act on it."""

    BINDINGS = bindings("messages")

    DEFAULT_CSS = """
    MessageCursor:focus > MessageView.-selected {
        background: $accent 15%; border-left: outer $accent;
    }
    """

    LETTERS_ARE_KEYS = True
    """``e`` and ``c`` here are commands: the key gate holds the rest of a burst until
    each is handled, so the letters typed after ``e`` go into the prompt it opens."""

    selected: str | None = None
    """The id of the selected message (kept while the list is not focused)."""
    variant_label: Callable[[str], str] | None = None
    """``‹ 2/3 ›`` for a message id with versions, ``""`` otherwise (set by the screen)."""
    on_action: Callable[[MessageAction], Awaitable[None]] | None = None
    """What the screen does for an action key (set by the screen)."""

    # ------------------------------------------------ hooks the list provides

    async def load_earlier(self, count: int | None = None) -> int:
        return 0

    async def load_later(self, count: int | None = None) -> int:
        return 0

    # ------------------------------------------------------------- selection

    def mounted_views(self) -> list[MessageView]:
        return list(self.query_children(MessageView))

    def mark(self, view: MessageView) -> None:
        """Dress a view as it is made: selected or not, and its versions."""
        view.set_class(view.message.id == self.selected, SELECTED)
        if self.variant_label is not None:
            view.set_variant(self.variant_label(view.message.id))

    def refresh_variants(self) -> None:
        """Recompute every mounted message's ``‹ i/n ›`` (after a regenerate, edit or delete)."""
        for view in self.mounted_views():
            self.mark(view)

    def select_message(self, message_id: str | None) -> MessageView | None:
        """Select ``message_id`` (``None``: nothing) and scroll it into view."""
        self.selected = message_id
        chosen = None
        for view in self.mounted_views():
            mine = view.message.id == message_id
            view.set_class(mine, SELECTED)
            chosen = view if mine else chosen
        if chosen is not None:
            self.release_anchor()
            self.call_after_refresh(self.scroll_to_widget, chosen, animate=False)
        return chosen

    def focus_messages(self) -> None:
        """Focus the list, on the selected message if it is still shown, else the newest."""
        views = self.mounted_views()
        if not views:
            self.notify("No messages yet.", timeout=3)
            return
        self.screen.set_focus(self)  # now, not queued: the next key of a burst comes here
        ids = [view.message.id for view in views]
        self.select_message(self.selected if self.selected in ids else ids[-1])

    async def action_select(self, step: int) -> None:
        """Up/Down: the previous or next message, mounting more at either end."""
        views = self.mounted_views()
        ids = [view.message.id for view in views]
        if self.selected not in ids:
            if ids:
                self.select_message(ids[-1])
            return
        at = ids.index(self.selected) + step
        beyond = self.load_earlier(2) if at < 0 else self.load_later(2) if at >= len(ids) else None
        if beyond is not None and await beyond:
            ids = [view.message.id for view in self.mounted_views()]
            at = ids.index(self.selected) + step
        self.select_message(ids[max(0, min(at, len(ids) - 1))])

    # --------------------------------------------------------------- actions

    def selected_view(self) -> MessageView | None:
        return next((v for v in self.mounted_views() if v.message.id == self.selected), None)

    async def action_act(self, action: str, step: int = 0) -> None:
        view = self.selected_view()
        if action == "edit" and view is not None and view.message.role == "tool":
            if not view.toggle_tool_result():  # Enter on a tool's result folds it open/shut
                self.notify("This tool result is shown whole.", timeout=3)
            return
        if self.selected is not None and self.on_action is not None:
            await self.on_action(MessageAction(action, self.selected, step))

    def action_copy_message(self) -> None:
        """Copy the selected message's text, whoever wrote it."""
        view = self.selected_view()
        if view is None or not view.message.content.strip():
            self.notify("This message has no text to copy.", timeout=3)
            return
        what = "your message" if view.message.role == "user" else "the message"
        offy(self.app).copy_text(view.message.content, what)

    async def action_toggle_thinking(self) -> None:
        """Show or hide the selected answer's reasoning."""
        await self.toggle_thinking(self.selected)

    async def toggle_thinking(self, message_id: str | None = None) -> None:
        """Show or hide the reasoning of ``message_id``, else of the newest answer with one."""
        views = self.mounted_views()
        if message_id is not None:
            views = [v for v in views if v.message.id == message_id]
        view = next((v for v in reversed(views) if v.thinking is not None), None)
        if view is None:
            self.notify("This message has no thinking." if message_id is not None
                        else "No answer on screen has thinking.", timeout=3)
            return
        await view.toggle_thinking()

    async def action_leave(self) -> None:
        if self.on_action is not None:
            await self.on_action(MessageAction("leave", self.selected or ""))
