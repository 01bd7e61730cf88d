"""Pulling a model through Ollama: a name with catalog suggestions, then per-layer progress.

The panel only renders; the screen runs the download in a worker. Typing shows the
matching catalog entries (size, tier) so a user sees what a name costs before pulling.
When Ollama is not reachable the controls are disabled and a note says why.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from offyai_tui.hw import catalog
from offyai_tui.hw.hardware import format_bytes
from offyai_tui.manage.pull_track import Layer, PullTracker
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.ui.widgets.models.layer import LayerBar
from offyai_tui.ui.widgets.models.suggest import CatalogSuggester
from offyai_tui.util.textsafe import visible

HINTS = 3


def catalog_hint(value: str) -> Text:
    """The catalog entries matching a typed name, one per line."""
    entries = catalog.suggest(value, limit=HINTS)
    if not entries:
        return Text("not in the built-in catalog; Ollama will look it up", style="dim")
    text = Text()
    for index, entry in enumerate(entries):
        if index:
            text.append("\n")
        text.append(entry.name, style="bold")
        text.append(
            f"  {entry.tier} · {entry.parameter_size} · {format_bytes(entry.size_bytes)}"
            f" · {entry.description}",
            style="dim",
        )
    return text


class PullPanel(Vertical):
    """Name input, Pull/Cancel buttons, status line and one bar per layer."""

    DEFAULT_CSS = """
    PullPanel { height: auto; border: round $primary-background; padding: 0 1; }
    PullPanel > .title { text-style: bold; }
    PullPanel > Horizontal { height: auto; }
    PullPanel Input { width: 1fr; }
    PullPanel Button { min-width: 10; margin: 0 0 0 1; }
    PullPanel > .hint {
        color: $text-muted; height: 3; text-wrap: nowrap; text-overflow: ellipsis;
    }
    PullPanel > .status { height: auto; }
    PullPanel > .status.-error { color: $text-error; }
    PullPanel > #pull-layers { height: auto; }
    """

    class Requested(Message):
        """The user asked to pull ``model``."""

        def __init__(self, model: str) -> None:
            super().__init__()
            self.model = model

    class CancelRequested(Message):
        """The user pressed Cancel."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.running = False
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Static("Pull from Ollama", classes="title")
        with Horizontal():
            yield OrderedInput(
                placeholder="model name, e.g. llama3.2:3b",
                suggester=CatalogSuggester(),
                id="pull-name",
            )
            yield Button("Pull", id="pull-start", variant="primary")
            yield Button("Cancel", id="pull-cancel", disabled=True)
        yield Static(catalog_hint(""), classes="hint", id="pull-hint")
        yield Static("", classes="status", id="pull-status")
        yield Vertical(id="pull-layers")

    # -- input -------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "pull-name":
            event.stop()
            self.query_one("#pull-hint", Static).update(catalog_hint(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "pull-name":
            event.stop()
            self._request()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "pull-start":
            self._request()
        elif event.button.id == "pull-cancel":
            self.post_message(self.CancelRequested())

    def _request(self) -> None:
        name = self.query_one("#pull-name", Input).value.strip()
        if not name:
            self.set_status("type a model name to pull", error=True)
        elif not self.running:
            self.post_message(self.Requested(name))

    # -- state set by the screen ---------------------------------------------------

    def set_available(self, available: bool, note: str = "") -> None:
        """Enable the controls, or disable them with ``note`` saying why."""
        self.query_one("#pull-name", Input).disabled = not available
        self.query_one("#pull-start", Button).disabled = not available or self.running
        if not available:
            self._note = note
            self.set_status(note, error=True)
        elif self._note and self.status_text == self._note:
            self.set_status("")
            self._note = ""

    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#pull-status", Static)
        status.update(Text(visible(text)))  # server messages: inert
        status.set_class(error, "-error")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#pull-status", Static).content)

    def started(self, name: str) -> None:
        self.running = True
        self.query_one("#pull-layers", Vertical).remove_children()
        self.query_one("#pull-start", Button).disabled = True
        self.query_one("#pull-cancel", Button).disabled = False
        self.set_status(f"{name}: starting")

    def progress(self, tracker: PullTracker, layer: Layer | None) -> None:
        self.set_status(tracker.summary())
        if layer is None:
            return
        layers = self.query_one("#pull-layers", Vertical)
        for bar in layers.query(LayerBar):
            if bar.digest == layer.digest:
                bar.show(layer)
                return
        layers.mount(LayerBar(layer))

    def finished(self, message: str, *, error: bool = False) -> None:
        self.running = False
        self.query_one("#pull-start", Button).disabled = self.query_one(
            "#pull-name", Input
        ).disabled
        self.query_one("#pull-cancel", Button).disabled = True
        self.set_status(message, error=error)

    def layer_details(self) -> list[str]:
        """What each layer bar shows (for tests)."""
        return [bar.detail for bar in self.query(LayerBar)]
