"""The prompt box: Enter sends, Ctrl+J adds a line, Up recalls, pastes stay text."""

from __future__ import annotations

from textual import events

from tests.ui.conftest import chat, idle, send
from tests.ui.fakes import ScriptedEngine


async def test_ctrl_j_inserts_newline_and_enter_sends_both_lines(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        await pilot.press("a", "ctrl+j", "b")
        assert chat(app).prompt.text == "a\nb"
        assert engine.requests == []
        await pilot.press("enter")
        await idle(app, pilot)
        assert engine.requests[0].messages[-1].content == "a\nb"
        assert chat(app).prompt.text == ""


async def test_up_in_empty_prompt_recalls_earlier_prompts(build):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "first")
        await idle(app, pilot)
        await send(pilot, "second")
        await idle(app, pilot)
        prompt = chat(app).prompt
        await pilot.press("d", "r", "a", "f", "t")
        await pilot.press("up")
        assert prompt.text == "draft"  # not empty: Up moves the cursor, no recall
        prompt.load_text("")
        await pilot.press("up")
        assert prompt.text == "second"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("up")
        assert prompt.text == "first"
        await pilot.press("down")
        assert prompt.text == "second"
        await pilot.press("down")
        assert prompt.text == ""


async def test_history_comes_from_the_open_conversation(build):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "remember me")
        await idle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        prompt = chat(app).prompt
        await pilot.press("up")
        assert prompt.text == ""


async def test_large_paste_is_inserted_without_sending(build, engine: ScriptedEngine):
    text = "\n".join(f"line {i} " + "x" * 70 for i in range(3000))
    app = build()
    async with app.run_test() as pilot:
        prompt = chat(app).prompt
        app.post_message(events.Paste(text))
        await pilot.pause()
        assert prompt.text == text
        assert engine.requests == []
        await pilot.press("enter")
        await idle(app, pilot)
        assert engine.requests[0].messages[-1].content == text
