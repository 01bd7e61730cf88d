"""The chips under the prompt: what goes with the next message, before Enter sends it.

``[image 1: photo.png 1200×800 210 KB]  [file 2: notes.txt 1,234 tokens]``, then
one line per change made on the way (downscaled…) and, for an engine that is not
on this machine, where the files go. Tab from the prompt (or Alt+A) focuses the
bar: Left/Right choose a chip, Delete or Backspace removes it, Enter previews an
image, Esc goes back to the prompt. The bar only draws and reports keys; the
list itself is the screen's ``Pending`` (:mod:`offyai_tui.attach.pending`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.content import Content
from textual.widget import Widget

from offyai_tui.ui.bindings import bindings


class AttachBar(Widget):
    """Chips, notes and the remote notice; hidden when nothing is attached."""

    DEFAULT_CSS = """
    AttachBar { height: auto; display: none; padding: 0 2; color: $text-accent; }
    AttachBar.-shown { display: block; }
    AttachBar:focus { background: $boost; }
    """

    BINDINGS = bindings("chips")

    on_action: Callable[[str, int], Awaitable[None]] | None = None
    """What the screen does for a key: ``(action, chip number)``, the action being
    ``remove``, ``preview`` or ``leave`` (called, not posted, as the message list does)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.can_focus = False
        self.labels: list[str] = []
        self.notes: list[str] = []
        self.notice = ""
        self.selected = 0

    def show(self, labels: list[str], notes: list[str] = (), notice: str = "") -> None:  # type: ignore[assignment]
        """Draw these chips (plain text, never markup); hidden when there are none."""
        self.labels, self.notes, self.notice = list(labels), list(notes), notice
        self.selected = min(self.selected, max(0, len(self.labels) - 1))
        self.can_focus = bool(self.labels)
        self.set_class(bool(self.labels), "-shown")
        self.refresh(layout=True)

    def render(self) -> Content:
        parts: list[Content] = []
        for index, label in enumerate(self.labels):
            style = "reverse" if self.has_focus and index == self.selected else ""
            parts.append(Content.styled(label, style) if style else Content(label))
        line = Content(" ").join(parts)
        extra = [Content(note) for note in self.notes]
        if self.notice:
            extra.append(Content.styled(self.notice, "$text-warning"))
        if self.has_focus:
            extra.append(Content.styled(
                "←/→ choose · Delete removes · Enter previews · Esc back", "dim"))
        return Content("\n").join([line, *extra])

    def on_focus(self) -> None:
        self.refresh(layout=True)

    def on_blur(self) -> None:
        self.refresh(layout=True)

    def action_move(self, step: int) -> None:
        if self.labels:
            self.selected = (self.selected + step) % len(self.labels)
            self.refresh()

    async def action_remove(self) -> None:
        await self._act("remove")

    async def action_preview(self) -> None:
        await self._act("preview")

    async def action_leave(self) -> None:
        await self._act("leave")

    async def _act(self, action: str) -> None:
        if self.on_action is not None and (self.labels or action == "leave"):
            await self.on_action(action, self.selected + 1)
