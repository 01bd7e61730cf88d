"""A modal showing one retrieved chunk: where it is from, its score, its full text.

Used by the Documents screen's search; a chat sources panel can open it the
same way (``app.push_screen(ChunkScreen(source))``). The text is the user's
document, so it is shown as plain text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from offyai_tui.rag.retriever import Source
from offyai_tui.ui.bindings import bindings
from offyai_tui.util.textsafe import visible


class ChunkScreen(ModalScreen[None]):
    """Shows ``source``'s chunk; Esc, Enter or q closes it."""

    DEFAULT_CSS = """
    ChunkScreen { align: center middle; }
    ChunkScreen > Vertical {
        width: 90%; max-width: 110; height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ChunkScreen #chunk-where { text-style: bold; }
    ChunkScreen #chunk-meta { color: $text-muted; margin: 0 0 1 0; }
    ChunkScreen VerticalScroll { height: 1fr; }
    ChunkScreen #chunk-hint { color: $text-muted; text-align: right; }
    """

    BINDINGS = bindings("chunk")

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        source = self.source
        meta = f"{source.path} · {source.location} · score {source.score:.3f}"
        if source.tokens:
            meta += f" · {source.tokens} tokens"
        with Vertical():
            yield Static(
                Content(visible(f"[{source.number}] {source.label}")), id="chunk-where"
            )
            yield Static(Content(visible(meta)), id="chunk-meta")
            with VerticalScroll(id="chunk-scroll"):
                yield Static(Content(visible(source.text, multiline=True)), id="chunk-text")
            yield Static("Esc closes", id="chunk-hint")

    def on_mount(self) -> None:
        self.query_one("#chunk-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
