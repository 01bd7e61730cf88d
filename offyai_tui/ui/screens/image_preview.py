"""The picture an attachment holds, drawn in the terminal before (or after) it is sent.

A chip says ``photo.png 1200×800``; only seeing it says it is the right photo.
The picture is the stored file (what the model gets, downscaled or not),
drawn with Kitty or Sixel graphics where the terminal has them and half-block
cells otherwise (:mod:`offyai_tui.ui.widgets.common.image_cells`). Left/Right
go through the images of a message; Esc closes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.widgets.common.image_cells import (
    PictureCells,
    graphics_protocol,
    graphics_widget,
)

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage


def load_picture(path: Path) -> PILImage:
    """The stored picture, decoded at once (a GIF: its first frame)."""
    from PIL import Image

    with Image.open(path) as picture:
        picture.seek(0)
        return picture.convert("RGB")


class ImagePreview(ModalScreen[None]):
    """One or more pictures (``(file, label)``), one at a time."""

    DEFAULT_CSS = """
    ImagePreview { align: center middle; }
    ImagePreview > #frame {
        width: 90%; height: 90%; border: round $primary; background: $surface; padding: 0 1;
    }
    ImagePreview #title { height: 1; color: $text-muted; }
    ImagePreview #picture { height: 1fr; width: 1fr; }
    ImagePreview #hint { height: 1; color: $text-muted; }
    """

    BINDINGS = bindings("preview")

    def __init__(self, pictures: list[tuple[Path, str]], index: int = 0) -> None:
        super().__init__()
        self.pictures = pictures
        self.index = max(0, min(index, len(pictures) - 1))
        self.protocol = graphics_protocol()
        self.shown: PILImage | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="frame"):
            yield Static(id="title")
            yield Vertical(id="picture")
            more = " · ←/→ other images" if len(self.pictures) > 1 else ""
            yield Static(Content(f"Esc closes{more}"), id="hint")

    async def on_mount(self) -> None:
        await self._show()

    async def _show(self) -> None:
        path, label = self.pictures[self.index]
        self.query_one("#title", Static).update(Content(label))
        holder = self.query_one("#picture", Vertical)
        await holder.remove_children()
        try:
            self.shown = await asyncio.to_thread(load_picture, path)
        except Exception as exc:  # gone, unreadable or damaged on disk: say so in place
            self.shown = None
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            await holder.mount(Static(Content(f"cannot show {label}: {why}"), id="broken"))
            return
        widget = graphics_widget(self.protocol, self.shown)
        await holder.mount(widget if widget is not None else PictureCells(self.shown, id="cells"))

    async def action_step(self, step: int) -> None:
        if len(self.pictures) > 1:
            self.index = (self.index + step) % len(self.pictures)
            await self._show()

    def action_close(self) -> None:
        self.dismiss(None)
