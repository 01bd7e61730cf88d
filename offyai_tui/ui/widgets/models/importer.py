"""Importing a GGUF file for llama.cpp: a path with completion, an Import button, a status.

The panel only collects the path and shows the outcome; the screen checks the header
and copies the file in a worker.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.ui.widgets.common.path_suggest import PathSuggester
from offyai_tui.util.textsafe import visible


class ImportPanel(Vertical):
    """Path input (→ accepts a completion), Import button and a status line."""

    DEFAULT_CSS = """
    ImportPanel { height: auto; border: round $primary-background; padding: 0 1; }
    ImportPanel > .title { text-style: bold; }
    ImportPanel > Horizontal { height: auto; }
    ImportPanel Input { width: 1fr; }
    ImportPanel Button { min-width: 10; margin: 0 0 0 1; }
    ImportPanel > .status { height: auto; }
    ImportPanel > .status.-error { color: $text-error; }
    """

    class Requested(Message):
        """The user asked to import the file at ``path``."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static("Import a GGUF file (llama.cpp)", classes="title")
        with Horizontal():
            yield OrderedInput(
                placeholder="path to a .gguf file, e.g. ~/Downloads/model.gguf",
                suggester=PathSuggester(suffix=".gguf", files_first=True),
                id="import-path",
            )
            yield Button("Import", id="import-start")
        yield Static("", classes="status", id="import-status")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "import-path":
            event.stop()
            self._request()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "import-start":
            event.stop()
            self._request()

    def _request(self) -> None:
        if not self.running:
            self.post_message(self.Requested(self.query_one("#import-path", Input).value))

    def set_running(self, running: bool) -> None:
        self.running = running
        self.query_one("#import-start", Button).disabled = running

    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#import-status", Static)
        status.update(Text(visible(text)))  # file names: inert
        status.set_class(error, "-error")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#import-status", Static).content)
