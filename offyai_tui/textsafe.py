"""Make model output safe to print in a terminal.

Model output is data: an escape sequence in a reply must not move the cursor,
change colours, set the window title or write the clipboard. Newlines and tabs
are kept; every other C0/C1 control character and DEL is dropped, including
the ESC that starts an ANSI sequence (its printable tail stays visible).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Return ``text`` without terminal control characters (``\\n`` and ``\\t`` kept)."""
    return _CONTROL.sub("", text)
