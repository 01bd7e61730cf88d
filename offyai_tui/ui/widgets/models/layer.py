"""One layer of a pull: its digest, a progress bar, bytes, speed and time left."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from offyai_tui.manage.pull_track import Layer
from offyai_tui.util.textsafe import visible


class LayerBar(Horizontal):
    """Progress of one blob; the pull panel creates one per digest and updates it."""

    DEFAULT_CSS = """
    LayerBar { height: 1; }
    LayerBar > .digest { width: 14; color: $text-muted; }
    LayerBar > ProgressBar { width: auto; }
    LayerBar > .detail { width: 1fr; padding: 0 0 0 1; }
    """

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        self.digest = layer.digest
        self._layer = layer

    def compose(self) -> ComposeResult:
        yield Label(Text(visible(self._layer.short)), classes="digest")
        yield ProgressBar(total=self._layer.total or None, show_eta=False)
        yield Label(Text(self._layer.describe()), classes="detail")

    def on_mount(self) -> None:
        self._sync()

    def show(self, layer: Layer) -> None:
        """Show ``layer``'s new state (kept until the children exist, if they do not yet)."""
        self._layer = layer
        self._sync()

    def _sync(self) -> None:
        layer = self._layer
        for bar in self.query(ProgressBar):
            bar.update(total=layer.total or None, progress=min(layer.completed, layer.total))
        for label in self.query(".detail").results(Label):
            label.update(Text(layer.describe()))

    @property
    def detail(self) -> str:
        """The bytes/speed/ETA text shown (for tests and screen readers)."""
        return self._layer.describe()
