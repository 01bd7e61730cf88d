"""Shared parts of the key-burst tests: bytes a terminal sends, and what they must type.

A burst is what one ``send-keys -H`` writes to the pane: text and control keys
in one go, as a paste without bracketed paste or fast typing over SSH delivers
them. :func:`typed` says what the prompt must hold after a burst (applying
Backspace, Left and Ctrl+J the way the prompt does), so each test states the
keys once and checks the transcript against their meaning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from offyai_tui.chat import read_transcript
from tests.e2e.conftest import transcripts

ENTER = "\r"
BACKSPACE = "\x7f"
LEFT = "\x1b[D"
RIGHT = "\x1b[C"
CTRL_J = "\n"
REPLY = ["ok ", "fine ", "done"]
"""What the scripted engine answers (the tests look at the user's messages)."""


def typed(keys: str) -> list[str]:
    """The prompts the keys send, as the prompt applies them (Enter sends non-blank text)."""
    sent: list[str] = []
    text: list[str] = []
    cursor = 0
    i = 0
    while i < len(keys):
        if keys.startswith(LEFT, i):
            cursor = max(0, cursor - 1)
            i += len(LEFT)
            continue
        if keys.startswith(RIGHT, i):
            cursor = min(len(text), cursor + 1)
            i += len(RIGHT)
            continue
        char = keys[i]
        i += 1
        if char == ENTER:
            if "".join(text).strip():
                sent.append("".join(text))
                text, cursor = [], 0
        elif char == BACKSPACE:
            if cursor:
                del text[cursor - 1]
                cursor -= 1
        else:
            text.insert(cursor, char)
            cursor += 1
    return sent


def user_messages(home: Path) -> list[str]:
    files = transcripts(home)
    if not files:
        return []
    return [m.content for m in read_transcript(files[-1]).messages if m.role == "user"]


def answers_ended(home: Path) -> bool:
    files = transcripts(home)
    if not files:
        return False
    messages = read_transcript(files[-1]).messages
    users = sum(1 for m in messages if m.role == "user")
    done = [m for m in messages if m.role == "assistant" and m.status == "complete"]
    return users > 0 and len(done) == users


def wait_user_messages(
    home: Path, expected: list[str], timeout: float = 60.0, *, answered: bool = True
) -> list[str]:
    """Wait until the transcript holds ``expected`` user messages (and their answers).

    Fails as soon as a message differs from the expected one at its position:
    a lost or reordered key shows as the first difference.
    """
    deadline = time.monotonic() + timeout
    got: list[str] = []
    while time.monotonic() < deadline:
        got = user_messages(home)
        assert got == expected[: len(got)], (got, expected)
        if len(got) == len(expected) and (not answered or answers_ended(home)):
            return got
        time.sleep(0.2)
    raise AssertionError(f"after {timeout:.0f}s the transcript has {got!r}, expected {expected!r}")


def at(start: float, offset: float, action: Callable[[], None]) -> None:
    """Run ``action`` ``offset`` seconds after ``start`` (monotonic clock)."""
    delay = start + offset - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    action()
