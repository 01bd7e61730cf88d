"""The sidebar's rows: one line per conversation, only the visible ones rendered.

With 10,000 conversations an ``OptionList`` measured every option on each
refresh (about half a second). Here every row is one line (a long title ends
in "…"; the filter box still matches all of it), so the list's height is the
number of rows and each frame renders just the rows on screen: showing,
filtering or re-marking the current conversation costs the same for 20
conversations as for 20,000. :attr:`rows_built` counts
rendered rows, so tests can check that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from textual import events
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual

from offyai_tui.ui.bindings import bindings
from offyai_tui.util.textsafe import visible


class Titled(Protocol):
    """What a row needs: an :class:`Entry`, or the store's ``ConversationSummary`` as is
    (10,000 of them are not copied into entries on every refresh)."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...


@dataclass(frozen=True)
class Entry:
    """One row: a conversation id and its title."""

    id: str
    title: str


class ConversationRows(ScrollView, can_focus=True):
    """Rows of conversations; Up/Down/PageUp/PageDown/Home/End move, Enter or a click opens."""

    COMPONENT_CLASSES = {"rows--highlighted"}
    DEFAULT_CSS = """
    ConversationRows {
        background: $surface; color: $foreground; padding: 0 1;
        &:focus { border: tall $border; background-tint: $foreground 5%; }
        & > .rows--highlighted { color: $foreground; background: $block-cursor-blurred-background; }
        &:focus > .rows--highlighted {
            color: $block-cursor-foreground; background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = bindings("conversation_rows")

    highlighted: reactive[int | None] = reactive(None, layout=False)

    class Chosen(Message):
        """Enter or a click on a row."""

        def __init__(self, entry: Titled) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: Sequence[Titled] = []
        self._current = ""
        self.rows_built = 0
        """Rows rendered so far (each visible row once per frame it is drawn)."""

    @property
    def rows(self) -> Sequence[Titled]:
        return self._rows

    @property
    def option_count(self) -> int:
        return len(self._rows)

    def set_rows(self, rows: Sequence[Titled], current: str) -> None:
        """Show ``rows`` (top to bottom); highlight ``current`` if it is among them."""
        self._rows = rows
        self._current = current
        self.virtual_size = Size(self.scrollable_content_region.width, len(rows))
        index = next((i for i, e in enumerate(rows) if e.id == current), None)
        if index is None and rows:
            index = 0 if self.highlighted is None else min(self.highlighted, len(rows) - 1)
        self.highlighted = index
        self.refresh()

    def watch_highlighted(self, index: int | None) -> None:
        if index is None:
            return
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False, immediate=True)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        visual_style = self.get_visual_style()
        if index >= len(self._rows):
            return Strip.blank(width, visual_style.rich_style)
        self.rows_built += 1
        entry = self._rows[index]
        highlighted = index == self.highlighted
        style = self.get_visual_style("rows--highlighted") if highlighted else visual_style
        mark = "● " if entry.id == self._current else "  "
        content = Content(mark + visible(entry.title).replace("\n", " "))
        if content.cell_length > width:  # one line a row: a long title ends in "…"
            content = content.truncate(width, ellipsis=True)
        strips = Visual.to_strips(self, content, width, 1, style)
        # As OptionList draws a row (same segments, so the screen is the same).
        return strips[0].extend_cell_length(width, style.rich_style).apply_meta({"row": index})

    def action_move(self, delta: int) -> None:
        if not self._rows:
            return
        start = self.highlighted if self.highlighted is not None else -1
        self.highlighted = max(0, min(len(self._rows) - 1, start + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_choose(self) -> None:
        if self.highlighted is not None and self._rows:
            self.post_message(self.Chosen(self._rows[self.highlighted]))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_y) + offset.y
        if 0 <= index < len(self._rows):
            self.highlighted = index
            self.action_choose()
