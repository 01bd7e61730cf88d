"""A screen that paints what the user types before it lays out a streaming answer.

Textual refreshes a screen in one step: if any widget asked for a layout, the
whole screen is laid out (every displayed widget measured and placed) and then
painted. While an answer streams, its appends ask for a layout many times a
second, and each one costs tens of milliseconds on a slow machine; a key typed
meanwhile had its echo wait for that layout, on top of whatever work was
already running.

Here, a widget that took a key can be painted at once (:meth:`paint_now`),
without waiting for its repaint request to travel through the message queues
to the next refresh tick; and when the focused widget only needs a repaint (a
character typed into the prompt does not move anything) while a layout is
pending for other widgets, it is painted first and the layout runs at the next
refresh tick, a frame (1/60 s) later.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import Screen
from textual.widget import Widget

ResultType = TypeVar("ResultType")


class KeysFirstScreen(Screen[ResultType]):
    """Paints the focused widget ahead of a pending layout of other widgets."""

    def paint_now(self, widget: Widget) -> None:
        """Paint ``widget`` now if that needs no layout (else the next refresh does it)."""
        if self._paints_alone(widget):
            self._paint(widget)

    def _on_timer_update(self) -> None:
        focused = self.focused
        if (
            focused is None
            or not self._layout_required
            or focused not in self._dirty_widgets
            or not self._paints_alone(focused)
        ):
            super()._on_timer_update()
            return
        self._update_timer.pause()
        self._paint(focused)
        self._update_timer.resume()  # the pending layout, at the next tick

    def _paints_alone(self, widget: Widget) -> bool:
        """Whether ``widget`` can be painted without a layout: it did not ask for one."""
        return (
            not self.app._batch_count
            and self.is_current
            and widget in self._compositor
            and not widget._layout_required
            and widget not in self._layout_widgets
            and not any(widget in asked for asked in self._layout_widgets.values())
        )

    def _paint(self, widget: Widget) -> None:
        others = self._dirty_widgets - {widget}
        self._compositor.update_widgets({widget})
        self._compositor_refresh()  # clears the dirty set: the others wait for the next tick
        self._dirty_widgets.update(others)
