"""Fault tests: real processes die, disks fill, two apps meet on one workspace.

The app runs in-process under Pilot where the test must reach into it (kill its
worker by pid, watch its state), and in tmux where a second real process is the
point. Helpers shared with the terminal tests come from ``tests.e2e.conftest``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.chat import ChatMessage
from offyai_tui.settings.config import Settings
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.screens.chat import ChatScreen
from tests.e2e.conftest import app_home, user_home  # noqa: F401 - fixtures
from tests.ollama_fixtures import OLLAMA_SERVER, _wait_for_banner

SIZE = (100, 30)
ENDED = frozenset({"complete", "stopped", "error"})
LONG_PROMPT = "Write a very long essay about the history of computers, with many sections."


def real_settings() -> Settings:
    """Default settings with one llama.cpp thread (the machine is shared)."""
    settings = Settings()
    settings.llamacpp.n_threads = 1
    return settings


def chat(app: OffyApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen), screen
    return screen


async def wait_for(
    condition: Callable[[], bool], pilot: Any, timeout: float = 45.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` holds; generous for real engines."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f}s: {what or condition}")
        await pilot.pause(0.05)


async def send(pilot: Any, text: str) -> None:
    """Type ``text`` into the prompt and press Enter."""
    await pilot.press(*text)
    await pilot.press("enter")


def answers_ended(screen: ChatScreen, count: int) -> Callable[[], bool]:
    """``count`` assistant messages in the open conversation, the last ended, none running."""

    def condition() -> bool:
        answers = [m for m in screen.conversation.messages if m.role == "assistant"]
        return len(answers) >= count and answers[-1].status in ENDED and not screen.generating

    return condition


def streaming_text(screen: ChatScreen) -> str:
    return screen.reply.text if screen.reply is not None else ""


def last_answer(screen: ChatScreen) -> ChatMessage:
    message = screen.conversation.messages[-1]
    assert message.role == "assistant"
    return message


@pytest.fixture
def doomed_ollama_server(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A private Ollama stand-in (real SmolLM2) that a test may kill.

    ``process.url`` holds its base URL.
    """
    log = tmp_path / "ollama-server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(OLLAMA_SERVER), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    try:
        process.url = _wait_for_banner(process, log)  # type: ignore[attr-defined]
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
