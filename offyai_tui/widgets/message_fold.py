"""Messages far from the viewport are folded: one empty widget of the same height.

Every layout of the screen walks every displayed widget of the message list,
on screen or not, and a Markdown answer is tens of widgets. With a page of
earlier answers mounted, each layout while a new answer streams took twice as
long (70 ms instead of 34 here with 20 answers above), and on a machine where
the model shares the cores, that time is taken from the model.

A folded message keeps its measured height (so the scroll bar and positions
do not move) and hides its children, so a layout costs one widget for it.
Messages within :data:`KEEP_SCREENS` screens of the viewport are unfolded
before they can be seen; a message that is still streaming is never folded;
a width change unfolds everything (heights change with the width).
"""

from __future__ import annotations

from textual.widget import Widget

KEEP_SCREENS = 1.0
"""Messages within this many screen heights above or below the viewport stay unfolded."""
FOLD_SCREENS = 2.0
"""Messages farther than this many screen heights away are folded (the gap avoids churn)."""


def is_folded(view: Widget) -> bool:
    return bool(getattr(view, "_folded", False))


def fold(view: Widget) -> None:
    """Hide the children of ``view``, keeping its height as measured by the last layout."""
    if is_folded(view) or not view.region.height:
        return
    view.styles.height = view.region.height
    hidden = [child for child in view.children if child.display]
    for child in hidden:
        child.display = False
    view._folded = True  # type: ignore[attr-defined]
    view._fold_hidden = hidden  # type: ignore[attr-defined]


def unfold(view: Widget) -> None:
    """Show the children of a folded ``view`` again, back to its stylesheet's height."""
    if not is_folded(view):
        return
    for child in view._fold_hidden:  # type: ignore[attr-defined]
        child.display = True
    view._fold_hidden = []  # type: ignore[attr-defined]
    view._folded = False  # type: ignore[attr-defined]
    view.styles.height = None


def refold(views: list[Widget], top: float, height: int, may_fold: bool) -> None:
    """Unfold the views near the viewport (``top``, ``height``); fold far ones if allowed."""
    near_top = top - KEEP_SCREENS * height
    near_bottom = top + (1 + KEEP_SCREENS) * height
    far_top = top - FOLD_SCREENS * height
    far_bottom = top + (1 + FOLD_SCREENS) * height
    for view in views:
        region = view.virtual_region
        if region.bottom >= near_top and region.y <= near_bottom:
            unfold(view)
        elif (
            may_fold
            and (region.bottom < far_top or region.y > far_bottom)
            and getattr(view, "status", "") != "streaming"
        ):
            fold(view)
