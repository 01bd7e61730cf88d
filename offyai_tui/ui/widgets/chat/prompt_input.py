"""The multi-line prompt: Enter sends, Ctrl+J or Alt+Enter adds a line.

Shift+Enter does not reach applications in most terminals, so it is not used.
Up in an empty prompt walks back through earlier prompts (Down walks forward,
back to what was being typed). Pastes of any size go in as text, newlines
included, without sending; control characters in them show inert (``␛[31m``).
A paste that is nothing but paths of existing files (what terminals paste for
dropped files) becomes attachments instead (:attr:`PromptInput.on_paths_dropped`),
and after ``/image`` or ``/file`` the rest of a path is suggested greyed (→ takes it).

Every key, Enter included, is applied in the prompt's own key handler in the
order it arrived (:mod:`offyai_tui.ui.widgets.common.ordered_keys`), and sending empties
the prompt there and then: "text⏎more⏎" typed in one burst sends "text" and
then "more", whatever the screen is busy with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from textual.message import Message
from textual.widgets import TextArea

from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.widgets.common.ordered_keys import OrderedKeys
from offyai_tui.ui.widgets.common.path_suggest import complete_path

PAINT_EVERY_S = 1 / 60
"""In a burst, the prompt paints at most this often (and at the burst's last key)."""
PATH_COMMANDS = ("/image ", "/file ")
"""Commands whose argument is a path, completed as typed."""


def path_suggestion(text: str) -> str:
    """The rest of the path after ``/image`` or ``/file`` (greyed in the prompt), or ``""``."""
    if "\n" in text:
        return ""
    for command in PATH_COMMANDS:
        if text.startswith(command):
            value = text[len(command):].lstrip()
            if not value or value[0] in "'\"":
                return ""
            full = complete_path(value)
            return full[len(value):] if full else ""
    return ""


def may_be_paths(text: str) -> bool:
    """Cheap test before parsing a paste as dropped files (which loads the attach package)."""
    return "/" in text and len(text) <= 64 * 1024 and not text.lstrip().startswith("//")


class PromptInput(OrderedKeys, TextArea):
    """Where the user types; posts :class:`PromptInput.Submitted`."""

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 12;
        border: round $primary 50%;
        padding: 0 1;
    }
    PromptInput:focus { border: round $primary; }
    """

    TYPES_IN_BATCHES = True

    BINDINGS = bindings("prompt")

    class Submitted(Message):
        """The user pressed Enter with this text (possibly empty)."""

        def __init__(self, prompt: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

        @property
        def control(self) -> PromptInput:
            return self.prompt

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder=placeholder,
            compact=True,
        )
        self.prompt_history: list[str] = []
        """Earlier prompts, oldest first."""
        self._history_index: int | None = None
        self._draft = ""
        self._painted_at = 0.0
        self.on_paths_dropped: Callable[[list[Path]], None] | None = None
        """Given the files a paste named when it was nothing but their paths."""

    def update_suggestion(self) -> None:
        at_end = self.cursor_location == self.document.end
        self.suggestion = path_suggestion(self.text) if at_end else ""

    def paste_taken(self, text: str) -> bool:
        """A paste of existing files' paths attaches them instead of typing them."""
        if self.on_paths_dropped is None or not may_be_paths(text):
            return False
        from offyai_tui.attach.paths import dropped_paths

        paths = dropped_paths(text, os.getcwd())
        if not paths:
            return False
        self.on_paths_dropped(paths)
        return True

    def key_applied(self, count: int = 1) -> None:
        """Paint the key at once (a streaming answer's layout can wait).

        In a burst (a paste without bracketed paste) a key with more keys
        right behind it paints only if a frame's time has passed since the last
        paint: a paint per key costs more than the key itself, so a burst is
        drawn as it goes, at most once a frame, and in full at its last key.
        """
        pending = getattr(self.app, "keys_pending", None)
        now = time.monotonic()
        if pending is not None and pending(self) and now - self._painted_at < PAINT_EVERY_S:
            return
        paint = getattr(self.screen, "paint_now", None)
        if paint is not None and self.is_attached:
            self._painted_at = now
            paint(self)

    def action_submit(self) -> None:
        """Send: the text goes in the message and the prompt is emptied now.

        Emptying it later (when the screen handles the message) would also
        wipe keys typed after Enter in the meantime.
        """
        self._history_index = None
        text = self.text
        if text.strip():
            self.load_text("")
        self.post_message(self.Submitted(self, text))

    def action_newline(self) -> None:
        self._history_index = None
        self.insert("\n")

    def action_history_previous(self) -> None:
        browsing = self._history_index is not None
        if not self.prompt_history or not (browsing or not self.text):
            self.action_cursor_up()
            return
        if self._history_index is None:
            self._draft = self.text
            self._history_index = len(self.prompt_history)
        if self._history_index > 0:
            self._history_index -= 1
        self._show(self.prompt_history[self._history_index])

    def action_history_next(self) -> None:
        if self._history_index is None:
            self.action_cursor_down()
            return
        self._history_index += 1
        if self._history_index >= len(self.prompt_history):
            self._history_index = None
            self._show(self._draft)
        else:
            self._show(self.prompt_history[self._history_index])

    def _show(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    def remember(self, text: str) -> None:
        """Add a sent prompt to the history (consecutive repeats once)."""
        if text.strip() and (not self.prompt_history or self.prompt_history[-1] != text):
            self.prompt_history.append(text)
        self._history_index = None
