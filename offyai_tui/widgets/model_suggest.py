"""Completion for the Models screen's inputs: catalog names to pull, GGUF paths to import.

Both suggest the rest of what is typed, as Textual's ``Input`` expects (accepted with →).
"""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester

from offyai_tui import catalog


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


def _candidates(base: str, partial: str) -> list[tuple[str, bool]]:
    try:
        with os.scandir(base) as entries:
            found = []
            for entry in entries:
                if not entry.name.startswith(partial):
                    continue
                if entry.name.startswith(".") and not partial.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir or entry.name.lower().endswith(".gguf"):
                    found.append((entry.name, is_dir))
    except OSError:
        return []
    return sorted(found, key=lambda c: (c[1], c[0]))


def _common_start(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def complete_path(value: str) -> str | None:
    """``value`` completed to a folder or ``.gguf`` file it names the start of.

    One match completes fully (folders get a trailing ``/``); several complete to
    their common prefix, or to the first (``.gguf`` files before folders) when the
    prefix adds nothing. ``~`` is kept as typed.
    """
    if not value:
        return None
    directory, partial = os.path.split(os.path.expanduser(value))
    candidates = _candidates(directory or ".", partial)
    if not candidates:
        return None
    common = _common_start([name for name, _ in candidates])
    if len(candidates) > 1 and len(common) > len(partial):
        return value + common[len(partial) :]
    name, is_dir = candidates[0]
    rest = name[len(partial) :] + ("/" if is_dir else "")
    return value + rest if rest else None


class PathSuggester(Suggester):
    """Suggests folders and ``.gguf`` files on this machine (never cached: files change)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)
