"""The cold-start baseline: the smallest Textual app that draws a frame."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

MARK = "Hello from Textual"


class HelloApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(MARK)


if __name__ == "__main__":
    HelloApp().run()
