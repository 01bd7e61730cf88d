"""Search across a workspace's conversations (case-insensitive substring)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from offyai_tui.chat.errors import TranscriptError
from offyai_tui.chat.records import SearchHit
from offyai_tui.chat.transcript import read_transcript

SNIPPET_SIDE = 40
THINKING_ROLE = "thinking"
"""``SearchHit.role`` of a match in an answer's reasoning rather than its text."""
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def search_files(
    files: Iterable[tuple[str, str, Path]], query: str, limit: int = 100,
    cancelled: Callable[[], bool] | None = None,
) -> list[SearchHit]:
    """Find ``query`` in message contents, else in their reasoning; one hit per message.

    Args:
        files: ``(conversation id, title, transcript path)``, in the order to report.
        query: Text to find; surrounding whitespace is ignored.
        limit: Stop after this many hits.
        cancelled: Polled before each file; once true the hits so far are returned
            (the caller discards them: a newer query replaced this one).

    A file is parsed only if its raw bytes contain the query (for ASCII
    queries without characters JSON would escape), so searching stays fast.
    """
    needle = query.strip()
    if not needle:
        return []
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    raw_needle = needle.lower().encode("utf-8")
    prefilter = needle.isascii() and not _JSON_ESCAPED.search(needle)
    hits: list[SearchHit] = []
    for conv_id, title, path in files:
        if cancelled is not None and cancelled():
            return hits
        try:
            if prefilter and raw_needle not in path.read_bytes().lower():
                continue
            data = read_transcript(path)
        except (OSError, TranscriptError):
            continue
        for message in data.messages:
            role, text = message.role, message.content
            found = pattern.search(text)
            if found is None and message.thinking:
                role, text = THINKING_ROLE, message.thinking
                found = pattern.search(text)
            if found is None:
                continue
            hits.append(
                SearchHit(
                    conv_id,
                    title or data.title,
                    message.id,
                    role,
                    snippet(text, found.start(), found.end()),
                    found.start(),
                )
            )
            if len(hits) >= limit:
                return hits
    return hits


def snippet(text: str, start: int, end: int) -> str:
    """The match with some context, whitespace collapsed to one line."""
    left = max(0, start - SNIPPET_SIDE)
    right = min(len(text), end + SNIPPET_SIDE)
    body = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")
