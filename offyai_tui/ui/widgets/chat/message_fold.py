"""Messages far from the viewport are folded: one empty widget of the same height.

Every layout of the screen walks every displayed widget of the message list,
on screen or not, and a Markdown answer is tens of widgets. With a page of
earlier answers mounted, each layout while a new answer streams took twice as
long (70 ms instead of 34 here with 20 answers above), and on a machine where
the model shares the cores, that time is taken from the model.

A folded message keeps its measured height (so the scroll bar and positions
do not move) and hides its children, so a layout costs one widget for it. A
long answer folds chunk by chunk the same way, so a 20,000-token answer does
not make every later layout walk its thousand widgets. Whatever comes within
:data:`KEEP_SCREENS` screens of the viewport is unfolded before it can be
seen; a message that is still streaming never folds (its finished chunks
can); a width change unfolds everything (heights change with the width).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widget import Widget

KEEP_SCREENS = 1.0
"""Messages within this many screen heights above or below the viewport stay unfolded."""
FOLD_SCREENS = 2.0
"""Messages farther than this many screen heights away are folded (the gap avoids churn)."""


def is_folded(widget: Widget) -> bool:
    return bool(getattr(widget, "_folded", False))


def fold(widget: Widget, height: int | None = None) -> None:
    """Hide the children of ``widget`` at ``height`` (default: as the last layout measured it)."""
    height = widget.region.height if height is None else height
    if is_folded(widget) or not height:
        return
    widget.styles.height = height
    hidden = [child for child in widget.children if child.display]
    for child in hidden:
        child.display = False
    widget._folded = True  # type: ignore[attr-defined]
    widget._fold_hidden = hidden  # type: ignore[attr-defined]


def unfold(widget: Widget) -> None:
    """Show the children of a folded ``widget`` again, back to its stylesheet's height."""
    if not is_folded(widget):
        return
    for child in widget._fold_hidden:  # type: ignore[attr-defined]
        child.display = True
    widget._fold_hidden = []  # type: ignore[attr-defined]
    widget._folded = False  # type: ignore[attr-defined]
    widget.styles.height = None


def refold(views: Sequence[Widget], top: float, height: int, may_fold: bool) -> None:
    """Unfold what is near the viewport (``top``, ``height`` in the list's virtual lines).

    Messages fold whole; within a message near the viewport, the finished
    chunks of a long answer (and of its reasoning, when shown) fold one by one
    (see :meth:`AnswerBody.chunks`).
    Positions come from the last layout, taken relative to each message's
    place in the list, so a scroll not laid out yet is accounted for.
    """
    near = (top - KEEP_SCREENS * height, top + (1 + KEEP_SCREENS) * height)
    far = (top - FOLD_SCREENS * height, top + (1 + FOLD_SCREENS) * height)

    def apply(widget: Widget, y: float, bottom: float) -> None:
        if bottom >= near[0] and y <= near[1]:
            unfold(widget)
        elif may_fold and (bottom < far[0] or y > far[1]):
            fold(widget)

    for view in views:
        place = view.virtual_region
        if getattr(view, "status", "") != "streaming" or is_folded(view):
            apply(view, place.y, place.bottom)
        if is_folded(view):
            continue
        offset = place.y - view.region.y  # screen line -> list line
        for body in _bodies(view):
            for chunk in body.chunks():
                region = chunk.region
                if region.height:
                    apply(chunk, region.y + offset, region.bottom + offset)


def _bodies(view: Widget) -> list[Any]:
    """The streamed Markdown of a message: its shown reasoning, then its answer."""
    thinking = getattr(view, "thinking", None)
    found = [getattr(thinking, "body", None), getattr(view, "body", None)]
    return [body for body in found if body is not None]
