"""Pictures drawn in the terminal: Kitty or Sixel graphics, half-block cells otherwise.

Which one is chosen from the environment only, never by asking the terminal:
a query (``ESC [ c``) is answered on stdin, which the app is already reading,
so the answer would arrive as keys and a key typed meanwhile could be lost.
The environment is also what survives SSH (``TERM`` is forwarded, and
``LC_TERMINAL`` with the usual ``SendEnv LC_*``). tmux and screen pass no
graphics through, so inside them pictures are half-block cells, which any
terminal with colour shows. ``OFFYAI_GRAPHICS=kitty|sixel|halfcell`` overrides.

Kitty and Sixel are drawn by the ``textual-image`` package, imported the first
time a preview opens and with its own terminal queries kept off for the same
reason (the cell size in pixels comes from the ``TIOCGWINSZ`` ioctl instead).
Half-block cells are drawn here: one character ``▀`` per two pixels, the upper
one as its colour and the lower one as its background.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from rich.segment import Segment
from rich.style import Style
from textual.widget import Widget

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from rich.console import Console, ConsoleOptions

Protocol = Literal["kitty", "sixel", "halfcell"]
PROTOCOLS: tuple[Protocol, ...] = ("kitty", "sixel", "halfcell")
SIXEL_TERMINALS = ("WezTerm", "iTerm.app", "iTerm2", "mintty", "contour", "foot")
SIXEL_TERMS = ("foot", "mlterm", "contour", "yaft", "xterm-sixel")


def graphics_protocol(environ: Mapping[str, str] | None = None) -> Protocol:
    """How this terminal can show a picture, judged from ``environ`` alone."""
    env = os.environ if environ is None else environ
    forced = env.get("OFFYAI_GRAPHICS", "").strip().lower()
    if forced in PROTOCOLS:
        return forced  # type: ignore[return-value]
    term = env.get("TERM", "")
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return "halfcell"
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return "kitty"
    program = env.get("TERM_PROGRAM", "") or env.get("LC_TERMINAL", "")
    if program in SIXEL_TERMINALS or term.startswith(SIXEL_TERMS) or env.get("KONSOLE_VERSION"):
        return "sixel"
    return "halfcell"


class HalfBlocks:
    """A Rich renderable: ``image`` fitted into ``width`` × ``height`` cells, two pixels a cell."""

    def __init__(self, image: PILImage, width: int, height: int) -> None:
        self.image = image
        self.width = max(1, width)
        self.height = max(1, height)

    def fitted(self) -> PILImage:
        """The picture scaled to fit the cells, aspect kept (a cell is two pixels tall)."""
        from PIL import Image

        picture = self.image.convert("RGB")
        scale = min(self.width / picture.width, self.height * 2 / picture.height, 1.0)
        size = (max(1, round(picture.width * scale)), max(2, round(picture.height * scale)))
        return picture.resize(size, Image.Resampling.LANCZOS)

    def lines(self) -> list[list[Segment]]:
        picture = self.fitted()
        pixels = picture.load()
        assert pixels is not None
        rows: list[list[Segment]] = []
        for y in range(0, picture.height, 2):
            row = []
            for x in range(picture.width):
                top = pixels[x, y]
                bottom = pixels[x, y + 1] if y + 1 < picture.height else (0, 0, 0)
                row.append(Segment("▀", Style(color=_hex(top), bgcolor=_hex(bottom))))
            rows.append(row)
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[Segment]:
        for row in self.lines():
            yield from row
            yield Segment.line()


class PictureCells(Widget):
    """Half-block cells filling the widget: redrawn to fit whenever its size changes."""

    DEFAULT_CSS = "PictureCells { width: 1fr; height: 1fr; }"

    def __init__(self, image: PILImage, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.image = image

    def render(self) -> HalfBlocks:
        return HalfBlocks(self.image, self.content_size.width, self.content_size.height)


def _hex(pixel: Any) -> str:
    red, green, blue = pixel[:3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def graphics_widget(protocol: Protocol, image: PILImage) -> Widget | None:
    """A ``textual-image`` widget drawing ``image`` with ``protocol``; ``None`` for half-blocks
    or when the package cannot be loaded (the caller then draws half-blocks)."""
    if protocol == "halfcell":
        return None
    try:
        module = _textual_image()
    except Exception:  # a broken install must not cost the preview
        return None
    widget_class = module.TGPImage if protocol == "kitty" else module.SixelImage
    return widget_class(image)


def _textual_image() -> Any:
    """``textual_image.widget``, imported without its terminal queries (see the module doc)."""
    if "textual_image.widget" in sys.modules:
        return sys.modules["textual_image.widget"]
    from textual_image import _terminal

    if not hasattr(_terminal.get_cell_size, "_result"):
        _terminal.get_cell_size._result = _terminal.CellSize(*cell_pixels())  # type: ignore[attr-defined]
    real = sys.__stdout__
    sys.__stdout__ = _NotATerminal()  # type: ignore[misc]
    try:
        import textual_image.widget as module
    finally:
        sys.__stdout__ = real  # type: ignore[misc]
    return module


class _NotATerminal:
    """Stands in for stdout while ``textual-image`` decides at import whether to query."""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def cell_pixels() -> tuple[int, int]:
    """A cell's width and height in pixels from the ``TIOCGWINSZ`` ioctl (10 × 20 if unknown)."""
    try:
        import fcntl
        import struct
        import termios

        packed = fcntl.ioctl(sys.__stdout__.fileno() if sys.__stdout__ else 1,
                             termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns, width, height = struct.unpack("HHHH", packed)
        if rows and columns and width and height:
            return width // columns, height // rows
    except (OSError, ImportError, ValueError, AttributeError):
        pass
    return 10, 20
