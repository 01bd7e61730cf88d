"""Path completion for typed paths (documents to add, GGUF files to import).

Textual's ``Input`` shows the suggestion greyed after the cursor and accepts it
with →. One match completes fully (folders end in ``/`` so the next → goes on
into them); several complete to their common prefix, else to the first.
Hidden entries appear only once a ``.`` is typed, and ``~`` stays as typed.
A name with control characters is never suggested: the suggestion is drawn as
typed text, and its escapes would reach the terminal (the user can still type it).
"""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester

from offyai_tui.util.textsafe import visible

MAX_SCANNED = 5000
"""A huge folder is not listed past this many entries (completion must stay instant)."""


def _candidates(
    folder: str, partial: str, suffix: str | None, files_first: bool
) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_SCANNED:
                    break
                if not entry.name.startswith(partial):
                    continue
                if entry.name.startswith(".") and not partial.startswith("."):
                    continue
                if visible(entry.name) != entry.name:
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir or suffix is None or entry.name.lower().endswith(suffix):
                    found.append((entry.name, is_dir))
    except OSError:
        return []
    return sorted(found, key=lambda c: (c[1] == files_first, c[0]))


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    for i, (a, b) in enumerate(zip(first, last)):
        if a != b:
            return first[:i]
    return first


def complete_path(
    value: str, *, suffix: str | None = None, files_first: bool = False
) -> str | None:
    """``value`` with the rest of the file or folder name it starts, or ``None``.

    Args:
        value: what the user typed so far.
        suffix: only files ending in this (lower-case) suffix are offered;
            folders always are, so the user can walk into them.
        files_first: offer matching files before folders (folders first otherwise).
    """
    if not value or "\x00" in value:
        return None
    folder, partial = os.path.split(os.path.expanduser(value))
    candidates = _candidates(folder or ".", partial, suffix, files_first)
    if not candidates:
        return None
    common = _common_prefix([name for name, _ in candidates])
    if len(candidates) > 1 and len(common) > len(partial):
        return value + common[len(partial) :]
    name, is_dir = candidates[0]
    rest = name[len(partial) :] + ("/" if is_dir else "")
    return value + rest if rest else None


class PathSuggester(Suggester):
    """Suggests files and folders; never cached, since files come and go."""

    def __init__(self, *, suffix: str | None = None, files_first: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._suffix = suffix
        self._files_first = files_first

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(
            complete_path, value, suffix=self._suffix, files_first=self._files_first
        )
