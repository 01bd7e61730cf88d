"""What the terminal sends, made safe before Textual's input parser reads it.

Two faults of Textual's parser (8.x) lost or scrambled input in a real terminal:

- **Escape codes inside a bracketed paste.** A terminal wraps a paste in
  ``ESC[200~`` … ``ESC[201~``. The parser starts an escape sequence at every
  ESC, also inside a paste; nothing matches there, so after 32 characters it
  gives up and sends what it read as key presses. A copied compiler error
  (``ESC[31mfailed ESC[0m at line 3``…) arrived as keys, its line ends lost
  and the rest of the paste out of order. Here, inside a paste every ESC that
  does not open the end marker becomes ``␛`` (U+241B, the Control Picture
  for ESC): the paste arrives whole and shows ``␛[31m``, visibly and inertly.
- **Alt keys.** Terminals send Alt+D as ESC d. The parser waits 100 ms for
  more, then reports ``alt+d`` with the character ``d``, which a text field
  types; if more keys follow in the same read it reports ``^`` and ``d``, and
  Alt+Enter (ESC CR) came out as a plain Enter, which sends. Here ESC followed
  by a lower-case letter, a digit or CR is rewritten to the same key in the
  unambiguous form of the keyboard protocol (``CSI 100;3u``), which the
  parser reads at once as ``alt+d`` / ``alt+enter``.

Outside pastes the input otherwise passes through untouched and without delay
(a lone Esc key must not wait for the next read).

Keys typed before the app starts are kept too. Until a program switches the
terminal to raw mode, the terminal's line discipline echoes input and turns
Enter (CR) into a line feed, which the prompt reads as Ctrl+J (a new line):
"question⏎" typed while ``offyai`` started was not sent. :func:`claim_terminal`
switches to raw mode first thing in ``offyai`` (Textual's driver does it only
after its imports, a few hundred milliseconds later), reads what was typed
before, with its line feeds back as Enter, and the parser reads that first.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
from typing import Any

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
ESC = "\x1b"
INERT_ESC = "\u241b"
_ALT_KEY = re.compile("\x1b([a-z0-9\r])")
"""ESC + a key that opens no escape sequence a terminal sends: an Alt key."""


def _alt_as_protocol_key(match: re.Match[str]) -> str:
    return f"\x1b[{ord(match.group(1))};3u"


def alt_keys(text: str) -> str:
    """``ESC d`` -> ``CSI 100;3u`` (Alt+D), ``ESC CR`` -> ``CSI 13;3u`` (Alt+Enter)."""
    return _ALT_KEY.sub(_alt_as_protocol_key, text) if ESC in text else text


def _marker_prefix_at_end(text: str, marker: str) -> str:
    """The longest end of ``text`` that is the start of ``marker`` (a split marker)."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return text[-size:]
    return ""


class TerminalInput:
    """Stateful filter over the decoded terminal input, one read at a time."""

    def __init__(self, *, rewrite_alt: bool = True) -> None:
        self.rewrite_alt = rewrite_alt
        self.in_paste = False
        self._seen = ""
        """Outside a paste: the end of the input so far, if it may open a paste marker."""
        self._held = ""
        """Inside a paste: text held back because it may be the start of the end marker."""

    def feed(self, data: str) -> str:
        """The input to give the parser for this read."""
        out: list[str] = []
        rest = data
        while rest:
            if not self.in_paste:
                combined = self._seen + rest
                found = combined.find(PASTE_START)
                if found < 0:
                    out.append(self._outside(rest))
                    self._seen = _marker_prefix_at_end(combined, PASTE_START)
                    break
                used = found + len(PASTE_START) - len(self._seen)
                out.append(self._outside(rest[:used]))
                rest = rest[used:]
                self._seen = ""
                self.in_paste = True
            else:
                combined = self._held + rest
                found = combined.find(PASTE_END)
                if found < 0:
                    keep = _marker_prefix_at_end(combined, PASTE_END)
                    out.append(combined[: len(combined) - len(keep)].replace(ESC, INERT_ESC))
                    self._held = keep
                    break
                out.append(combined[:found].replace(ESC, INERT_ESC))
                out.append(PASTE_END)
                rest = rest[found + len(PASTE_END) - len(self._held):]
                self._held = ""
                self.in_paste = False
        return "".join(out)

    def _outside(self, text: str) -> str:
        return alt_keys(text) if self.rewrite_alt else text


_early_input: list[str] = []
_saved_mode: list[list[Any]] = []
"""The terminal's mode before :func:`claim_terminal` (what exit and suspend restore)."""
"""Keys read by :func:`claim_terminal`, for the parser to read before anything else."""


def claim_terminal(fd: int = 0) -> bool:
    """Raw input now (no echo, no line editing, CR stays CR); restored at exit.

    Returns whether the terminal was claimed (``fd`` is a terminal). Signals
    stay on until Textual's driver takes over, so Ctrl+C still stops a start.
    """
    try:
        import termios
    except ImportError:  # pragma: no cover - Windows
        return False
    if not os.isatty(fd):
        return False
    try:
        saved = termios.tcgetattr(fd)
        raw = termios.tcgetattr(fd)
        raw[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON | termios.IXOFF)
        raw[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)
        raw[6][termios.VMIN] = 1
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, raw)
    except termios.error:
        return False
    atexit.register(_restore, fd, saved)
    _saved_mode.append(saved)
    typed = _read_pending(fd)
    if typed:  # typed in cooked mode: Enter arrived as a line feed
        _early_input.append(typed.decode("utf-8", "replace").replace("\n", "\r"))
    return True


def _restore(fd: int, attributes: list[Any]) -> None:
    import termios

    with contextlib.suppress(termios.error):
        termios.tcsetattr(fd, termios.TCSANOW, attributes)


def _read_pending(fd: int) -> bytes:
    """What is waiting to be read on ``fd`` now (without blocking)."""
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def hand_back_mode(driver: Any) -> None:
    """Make ``driver`` restore the terminal's own mode on suspend, not the raw one.

    Textual's driver records the mode it finds at start to restore it when the
    app is suspended (SIGTSTP) or stops; after :func:`claim_terminal` that is
    already raw, and a shell would get a terminal without echo.
    """
    if _saved_mode and getattr(driver, "attrs_before", None) is not None:
        driver.attrs_before = _saved_mode[0]


def take_early_input() -> str:
    """The keys :func:`claim_terminal` read (once; later calls get ``""``)."""
    text = "".join(_early_input)
    _early_input.clear()
    return text


def install() -> bool:
    """Put :class:`TerminalInput` in front of the parser of Textual's Linux/macOS driver.

    Returns whether it is in place. The driver builds its parser from a module
    name, so a subclass under that name is used for every input thread; if a
    future Textual moves it, nothing is changed (and the terminal tests say so).
    """
    try:
        from textual import constants
        from textual.drivers import linux_driver
    except ImportError:  # pragma: no cover - Windows
        return False
    base: Any = getattr(linux_driver, "XTermParser", None)
    if base is None or not callable(getattr(base, "feed", None)):
        return False
    if getattr(base, "offyai_input", False):
        return True
    rewrite_alt = not getattr(constants, "DISABLE_KITTY_KEY", False)

    class SafeInputParser(base):  # type: ignore[misc, valid-type]
        """Textual's parser, fed through :class:`TerminalInput`."""

        offyai_input = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._offyai_input = TerminalInput(rewrite_alt=rewrite_alt)
            self._early = take_early_input()

        def feed(self, data: str) -> Any:
            early, self._early = self._early, ""
            if not data and not early:
                return super().feed("")  # the end of input
            text = self._offyai_input.feed(early + data)
            # Empty (a split paste marker held back) is not the end of input.
            return super().feed(text) if text else iter(())

        def tick(self) -> Any:
            """The driver ticks its parser every tenth of a second: keys typed early go now."""
            if self._early:
                yield from self.feed("")
            yield from super().tick()

    linux_driver.XTermParser = SafeInputParser  # type: ignore[attr-defined]
    return True
