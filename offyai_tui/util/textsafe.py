"""Make text from outside safe to print in a terminal.

Anything OffyAI did not write itself is data: model names and details a server
lists, server error messages, mode and theme names from files, file names,
document titles, tool names and output, model replies. A terminal treats some
characters in data as commands: ESC starts sequences that move the cursor,
clear the screen, set the window title (``ESC ]0;…BEL``) or write the
clipboard (OSC 52); C1 characters (U+0080-U+009F) do the same on some
terminals; bidirectional overrides reorder what is shown (a file name can
display as something it is not).

:func:`visible` is the one sanitizer for names and messages: each such
character is shown as its Python escape (``\\x1b``, ``\\x07``, ``\\x9b``,
``\\u202e``; ``\\n``, ``\\t`` and ``\\r`` as those two-character forms), so it
is inert and still visible; a name that differs only by a hidden character
does not look the same as another. Newlines and tabs are kept only with
``multiline=True``, for text that is legitimately several lines (a model's
details, a document passage). Every output applies it: widgets, palette
entries, notifications, the status bar, CLI tables and lines.

:func:`strip_controls` is for streamed model replies, which are prose: there a
control character is dropped rather than shown (the printable tail of an
escape sequence stays visible, so nothing is hidden either).

Neither function escapes Textual markup: put outside text into ``Content`` or
``rich.text.Text`` (plain), never into a markup string, or pass it through
:func:`textual.markup.escape` first.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
"""DEL, C1, bidirectional marks and overrides, line and paragraph separators."""
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")
_UNSAFE_JSON = re.compile(f"[{_OTHERS}]")
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, multiline: bool = False) -> str:
    """``text`` (any object, as ``str``) with control characters shown as escapes.

    Args:
        text: A name, message or detail from outside OffyAI.
        multiline: Keep ``\\n`` and ``\\t`` (text that is legitimately several
            lines); a lone ``\\r`` is still shown, since it moves the cursor back
            (``\\r\\n`` is read as a newline).
    """
    text = str(text)
    if multiline:
        return _UNSAFE_MULTILINE.sub(_escape, text.replace("\r\n", "\n"))
    return _UNSAFE_ONE_LINE.sub(_escape, text)


def inert_json(document: str) -> str:
    """JSON text (from ``json.dumps``) with DEL, C1 and bidi characters as ``\\uXXXX``.

    ``json.dumps`` escapes C0 controls but, with ``ensure_ascii=False``, writes
    the others raw; escaped, a script reads the very same strings and a
    terminal sees nothing it would obey.
    """
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def strip_controls(text: str) -> str:
    """Return ``text`` without terminal control characters (``\\n`` and ``\\t`` kept)."""
    return _CONTROL.sub("", text)
