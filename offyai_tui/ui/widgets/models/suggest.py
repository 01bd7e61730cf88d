"""Completion of catalog model names for the Models screen's pull input.

Suggests the rest of what is typed, as Textual's ``Input`` expects (accepted with →).
GGUF paths to import are completed by :mod:`offyai_tui.ui.widgets.common.path_suggest`.
"""

from __future__ import annotations

from textual.suggester import Suggester

from offyai_tui.hw import catalog


def complete_name(value: str) -> str | None:
    """``value`` completed to a catalog name or alias it starts (any case)."""
    wanted = value.strip().lower()
    if not wanted:
        return None
    for entry in catalog.suggest(wanted):
        for name in (entry.name, *entry.aliases):
            if name.lower().startswith(wanted) and len(name) > len(wanted):
                return value + name[len(wanted) :]
    return None


class CatalogSuggester(Suggester):
    """Suggests model names from the built-in catalog."""

    def __init__(self) -> None:
        super().__init__(use_cache=True, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_name(value)
