"""Helpers for UI tests: build the real app around a scripted engine."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.engines.base import Engine
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import OffyApp, make_app
from offyai_tui.ui.screens.chat import ChatScreen
from tests.ollama_fixtures import ollama_settings
from tests.ui.fakes import ScriptedEngine

SIZE = (110, 32)


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def build(engine: ScriptedEngine) -> Callable[..., OffyApp]:
    """``build(settings=..., engine=...)`` -> a fresh app on workspace ``default``."""

    def factory(settings: Settings | None = None, **kwargs: Any) -> OffyApp:
        kwargs.setdefault("engine", engine)
        return make_app(settings=settings or Settings(), workspace=Workspace.open("default"),
                        **kwargs)

    return factory


def chat(app: OffyApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen), screen
    return screen


async def wait_for(condition: Callable[[], bool], pilot: Any, timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds (fails the test after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


async def palette(pilot: Any, command: str) -> None:
    """Run ``command`` from the command palette (Ctrl+P) once it is the highlighted match.

    The palette searches in the background: pressing Enter before the match is
    listed would pick whatever was highlighted then.
    """
    from textual.command import CommandList
    from textual.css.query import NoMatches

    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*command)

    def listed() -> bool:
        try:
            options = pilot.app.screen.query_one(CommandList)
        except NoMatches:
            return False
        index = options.highlighted
        if index is None:
            return False
        prompt = options.get_option_at_index(index).prompt
        return command.casefold() in str(getattr(prompt, "plain", prompt)).casefold()

    await wait_for(listed, pilot)
    await pilot.press("enter")


async def send(pilot: Any, text: str) -> None:
    """Type ``text`` (long texts are inserted at once) and press Enter."""
    if len(text) > 40:
        chat(pilot.app).prompt.insert(text)
    else:
        await pilot.press(*text)
    await pilot.press("enter")


async def idle(app: OffyApp, pilot: Any) -> None:
    """Wait until no answer is being generated."""
    await wait_for(lambda: not chat(app).generating, pilot)
    await pilot.pause()


def transcript_events(conv_id: str) -> list[dict[str, Any]]:
    path = Workspace.open("default").chats_dir / f"{conv_id}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


_SVG_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
    r'clip-path="url\(#[^)]*-line-(\d+)\)">(.*?)</text>'
)


def screen_text(app: OffyApp) -> str:
    """What the terminal shows, as plain text lines (from the SVG screenshot)."""
    rows: dict[int, list[tuple[float, str]]] = {}
    for match in _SVG_TEXT.finditer(app.export_screenshot()):
        x, line, text = float(match.group(1)), int(match.group(2)), match.group(3)
        rows.setdefault(line, []).append((x, html.unescape(text).replace("\xa0", " ")))
    out = []
    for line in sorted(rows):
        row = ""
        for x, text in sorted(rows[line]):
            column = round(x / 12.2)
            row = row.ljust(column)[:column] + text
        out.append(row)
    return "\n".join(out)


def notices(app: OffyApp, severity: str | None = None) -> list[str]:
    """Messages of the notifications (toasts) the app has shown and not yet expired."""
    return [n.message for n in app._notifications
            if severity is None or n.severity == severity]


def workspace_dir() -> Path:
    return Workspace.open("default").root


@pytest.fixture
def settings(ollama_server: str) -> Settings:
    return ollama_settings(ollama_server)


@pytest.fixture
async def real_engines(settings: Settings) -> AsyncIterator[list[Engine]]:
    engines: list[Engine] = [OllamaEngine(settings), LlamaCppEngine(settings)]
    yield engines
    for engine in engines:
        await engine.aclose()
