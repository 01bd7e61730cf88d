"""Snapshots of the chat screen (pytest-textual-snapshot).

Deterministic by construction: a scripted engine with fixed stats, word-count
tokens, no spinner animation and no cursor blink. Update with
``pytest tests/ui/test_snapshots.py --snapshot-update`` after checking the
report, never blindly.
"""

from __future__ import annotations

from offyai_tui.engines.errors import EngineUnavailable
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import OffyApp, make_app
from tests.ui.conftest import chat
from tests.ui.fakes import Script, ScriptedEngine

SIZE = (100, 30)


def still_app(engine: ScriptedEngine) -> OffyApp:
    app = make_app(settings=Settings(), workspace=Workspace.open("default"), engine=engine)
    app.animation_level = "none"
    return app


async def settle(pilot) -> None:
    chat(pilot.app).prompt.cursor_blink = False
    await pilot.pause()


async def ask(pilot, text: str, engine: ScriptedEngine, *, wait_held: bool = False) -> None:
    await settle(pilot)
    await pilot.press(*text, "enter")
    if wait_held:
        await engine.held.wait()
    else:
        while chat(pilot.app).generating:
            await pilot.pause(0.02)
    await pilot.pause()
    await pilot.pause()


def test_empty_chat(snap_compare) -> None:
    assert snap_compare(still_app(ScriptedEngine()), terminal_size=SIZE, run_before=settle)


def test_mid_stream(snap_compare) -> None:
    engine = ScriptedEngine(scripts=[Script(
        ["Local models ", "keep your data ", "on your machine.", "\n\n", "They also ",
         "work offline"], hold_after=6)])

    async def run_before(pilot) -> None:
        await ask(pilot, "Why local AI?", engine, wait_held=True)

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)


def test_error_state(snap_compare) -> None:
    engine = ScriptedEngine(scripts=[Script(
        ["The answer is"], error=EngineUnavailable("connection refused by 127.0.0.1:11434"))])

    async def run_before(pilot) -> None:
        await ask(pilot, "Hello?", engine)

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)


def test_code_block(snap_compare) -> None:
    answer = ("Here is a function:\n\n```python\ndef add(a, b):\n\n    return a + b\n```\n\n"
              "Call it with `add(1, 2)`.")
    engine = ScriptedEngine(scripts=[Script([answer[i : i + 9] for i in range(0, len(answer), 9)])])

    async def run_before(pilot) -> None:
        await ask(pilot, "Add two numbers", engine)

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)


REASONING = ["The user wants ", "a colour. ", "Blue is calm, ", "red is loud.\n\n",
             "- pick **one**\n", "- say why"]
"""A reasoning model's thinking (a few seconds' worth, streamed in well under one)."""


def test_thinking_folded(snap_compare) -> None:
    """The answer began, so the reasoning folded to one line with its duration."""
    engine = ScriptedEngine(scripts=[Script(["Blue: it is calm."], thinking=REASONING)])

    async def run_before(pilot) -> None:
        await ask(pilot, "Pick a colour.", engine)

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)


def test_thinking_open(snap_compare) -> None:
    """``chat.show_thinking = "open"``: the reasoning stays shown, dimmed, above the answer."""
    engine = ScriptedEngine(scripts=[Script(["Blue: it is calm."], thinking=REASONING)])
    settings = Settings()
    settings.chat.show_thinking = "open"
    app = make_app(settings=settings, workspace=Workspace.open("default"), engine=engine)
    app.animation_level = "none"

    async def run_before(pilot) -> None:
        await ask(pilot, "Pick a colour.", engine)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
