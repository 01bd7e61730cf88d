"""The Models screen's entries in the command palette, and where it finds engines.

Kept apart from the screen so that the screen holds layout and workers only;
the palette lists what the screen's own actions would do for the selected row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from offyai_tui.engines.base import Engine
from offyai_tui.manage.rows import COLUMNS

if TYPE_CHECKING:
    from offyai_tui.ui.screens.models import ModelsScreen

PaletteCommand = tuple[str, str, Callable[[], Any]]


class EngineSource(Protocol):
    """Where the screen finds engines (an :class:`~offyai_tui.engines.registry.EngineRegistry`)."""

    def configured(self) -> list[Engine]: ...


class StaticEngines:
    """An engine source holding a fixed list (an app started with one given engine)."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        self._engines = list(engines)

    def configured(self) -> list[Engine]:
        return list(self._engines)


def models_commands(screen: ModelsScreen) -> list[PaletteCommand]:
    """Refresh, pull, import, filter, sort, and the actions the selected row allows."""
    commands: list[PaletteCommand] = [
        ("Models: refresh", "rescan every engine", screen.action_refresh),
        ("Models: pull a model", "download through Ollama", screen.action_focus_pull),
        ("Models: import a GGUF file", "copy a .gguf in", screen.action_focus_import),
        ("Models: filter", "type words to narrow the table", screen.action_focus_filter),
    ]
    commands += [
        (f"Models: sort by {label.lower()}", "ascending; S reverses",
         partial(screen.table.sort_by, key, reverse=False))
        for key, label in COLUMNS
    ]
    row = screen.selected
    if row is None:
        return commands
    name, verb = row.info.name, "unload" if row.loaded else "load"
    offered = [
        ("set_default", ("chat",), f"use {name} for chat", "save as the chat default"),
        ("set_default", ("embedding",), f"use {name} for embeddings", "save as default"),
        ("details", (), f"details of {name}", "template, parameters, license, metadata"),
        ("toggle_load", (), f"{verb} {name}", f"{verb} it now"),
        ("delete", (), f"delete {name}", "asks first"),
    ]
    for action, args, title, help_text in offered:
        if screen.check_action(action, args):
            method = getattr(screen, f"action_{action}")
            commands.append((f"Models: {title}", help_text, partial(method, *args)))
    return commands
