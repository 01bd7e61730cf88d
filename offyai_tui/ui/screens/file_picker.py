"""Choose a file to attach without typing its path: folders and files under the start folder.

Keyboard only: Up/Down move, Enter opens a folder or picks a file, Backspace
goes back up (never above the folder the picker started in: it lists what is
*under* the folder OffyAI runs in), Esc closes. Hidden entries are not listed,
as in the path completer: a dot file is named on purpose, by typing its path.
Names with control characters are shown inert, so a file name cannot drive
the terminal.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from offyai_tui.ui.bindings import bindings
from offyai_tui.util.textsafe import visible

MAX_LISTED = 2000
"""A huge folder lists this many entries (the picker must open at once)."""


def entries(folder: Path) -> list[tuple[str, bool]]:
    """``(name, is_folder)`` of ``folder``, folders first, hidden ones left out."""
    found: list[tuple[str, bool]] = []
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                found.append((entry.name, is_dir))
                if len(found) >= MAX_LISTED:
                    break
    except OSError:
        return []
    return sorted(found, key=lambda e: (not e[1], e[0].lower()))


class FilePicker(ModalScreen[Path | None]):
    """Returns the chosen file, or ``None`` when closed."""

    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > #frame {
        width: 80%; height: 80%; border: round $primary; background: $surface; padding: 0 1;
    }
    FilePicker #where { height: 1; color: $text-muted; }
    FilePicker #entries { height: 1fr; }
    FilePicker #hint { height: 1; color: $text-muted; }
    """

    BINDINGS = bindings("picker")

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = Path(os.path.abspath(start))
        self.folder = self.start

    def compose(self) -> ComposeResult:
        with Vertical(id="frame"):
            yield Static(id="where")
            yield OptionList(id="entries")
            yield Static(Content("Enter opens or attaches · Backspace up · Esc closes"),
                         id="hint")

    def on_mount(self) -> None:
        self._list()

    def _list(self, select: str = "") -> None:
        where = os.path.relpath(self.folder, self.start)
        shown = self.start.name + ("" if where == "." else f"/{where}")
        self.query_one("#where", Static).update(Content(f"Attach from {visible(shown)}/"))
        options = self.query_one("#entries", OptionList)
        options.clear_options()
        found = entries(self.folder)
        options.add_options([
            Option(Content(visible(name) + ("/" if is_dir else "")), id=name)
            for name, is_dir in found
        ])
        if not found:
            options.add_option(Option(Content("(nothing here)"), id="", disabled=True))
        names = [name for name, _ in found]
        options.highlighted = names.index(select) if select in names else (0 if found else None)
        options.focus()

    @on(OptionList.OptionSelected, "#entries")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        name = event.option.id or ""
        if not name:
            return
        path = self.folder / name
        if path.is_dir():
            self.folder = path
            self._list()
        else:
            self.dismiss(path)

    def action_up(self) -> None:
        if self.folder != self.start:
            came_from = self.folder.name
            self.folder = self.folder.parent
            self._list(select=came_from)

    def action_close(self) -> None:
        self.dismiss(None)
