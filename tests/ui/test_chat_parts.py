"""The chat screen with engines that stream reasoning and tool calls, with no tools on.

The real Ollama engine talks to the loopback stand-in: ``thinking-model`` sends
``message.thinking`` before its answer, ``tools-model`` answers with tool calls
only. With no tools enabled nothing runs: the thinking is stored apart from the
text, the calls the model made are kept in the transcript as it made them (never
run, never drawn as answer text), and the answer is complete.
"""

from __future__ import annotations

import pytest

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from tests.ollama_fixtures import ollama_settings
from tests.tools.test_files import allow_folders
from tests.ui.conftest import chat, idle, screen_text, send, transcript_events, wait_for


@pytest.mark.parametrize("model", ["thinking-model"])
async def test_reasoning_and_tool_calls_do_not_reach_the_screen(
    build, ollama_server: str, model: str
) -> None:
    settings: Settings = ollama_settings(ollama_server)
    settings.chat.model = model
    engine = OllamaEngine(settings)
    app = build(settings=settings, engine=engine)
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Weather in Zürich?")
            await wait_for(lambda: len(chat(app).messages.views) == 2, pilot)
            view = chat(app).messages.views[-1]
            await wait_for(lambda: view.status != "streaming", pilot, timeout=30)
            await idle(app, pilot)
            assert view.status == "complete"
            shown = screen_text(app)
            assert "réfléchis" not in shown and "get_weather" not in shown
            conversation = chat(app).conversation
            answer = conversation.messages[-1]
            saved = [e for e in transcript_events(conversation.id) if e.get("id") == answer.id]
            assert saved[-1]["status"] == "complete"
            if model == "thinking-model":
                assert answer.content and "réfléchis" in answer.thinking
                assert saved[-1]["thinking"] == answer.thinking
    finally:
        await engine.aclose()


async def test_a_tool_call_waits_for_approval_and_its_result_is_shown(
    build, ollama_server: str, tmp_path
) -> None:
    """``read_file`` asks first (its default policy); Deny is focused, ``a`` allows once."""
    from offyai_tui.ui.screens.tool_approval import ARM_DELAY_S, ToolApprovalScreen

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plan.txt").write_text(
        "Launch on Tuesday.\n" + "".join(f"Step {i}.\n" for i in range(1, 21)))
    allow_folders(Workspace.open("default"), folder)
    settings: Settings = ollama_settings(ollama_server)
    settings.chat.model = "tools-model"
    app = build(settings=settings, engine=OllamaEngine(settings))
    try:
        async with app.run_test() as pilot:
            toolbox = app.toolbox()
            toolbox.settings.tools.enabled = ["read_file", "calculator"]
            call = '{"name": "calculator", "arguments": {"expression": "6*7"}}'
            ask = '{"name": "read_file", "arguments": {"path": "%s"}}' % (folder / "plan.txt")
            await send(pilot, f"calls: [{call}, {ask}]")
            await wait_for(lambda: isinstance(app.screen, ToolApprovalScreen), pilot, timeout=30)
            dialog = app.screen
            question = str(dialog.query_one("#tool-question").render())
            arguments = str(dialog.query_one("#arguments").query_one("Static").render())
            assert "read_file" in question and "plan.txt" in arguments
            assert app.screen.focused is not None and app.screen.focused.id == "deny"
            await pilot.press("a")  # too soon after the question opened: nothing is allowed
            await pilot.pause(0.2)
            assert isinstance(app.screen, ToolApprovalScreen)
            await pilot.pause(ARM_DELAY_S)
            await pilot.press("a")
            conversation = chat(app).conversation
            await wait_for(lambda: conversation.messages[-1].role == "assistant"
                           and conversation.messages[-1].status != "streaming"
                           and len(conversation.messages) >= 5, pilot, timeout=60)
            await idle(app, pilot)
            roles = [(m.role, m.name) for m in conversation.messages]
            assert roles[:4] == [("user", ""), ("assistant", ""), ("tool", "calculator"),
                                 ("tool", "read_file")]
            results = [m.content for m in conversation.messages if m.role == "tool"]
            assert "42" in results[0]
            views = chat(app).messages.views
            headers = [str(v.query_one(".header").render()) for v in views]
            assert "Tool result · calculator" in headers and "Tool result · read_file" in headers
            calls = [str(c.render()) for v in views for c in v.query(".calls")]
            assert calls and "⚙ calculator(expression='6*7')" in calls[0]
            saved = [e.get("role") for e in transcript_events(conversation.id)
                     if e.get("type") == "message"]
            assert saved.count("tool") == 2

            # A long result shows its first lines; Enter on it shows it whole, and again cuts it.
            result = next(v for v in views if v.message.name == "read_file")
            text = lambda: str(result.query_one(".text").render())  # noqa: E731
            assert "more lines" in text() and "Step 20." not in text()
            await pilot.press("alt+up")
            while chat(app).messages.selected != result.message.id:
                await pilot.press("up")
            await pilot.press("enter")
            assert "Step 20." in text() and "more lines" not in text()
            await pilot.press("enter")
            assert "more lines" in text() and "Step 20." not in text()
            assert len(conversation.messages) == len(roles)  # nothing was edited or sent
    finally:
        await app.engine.aclose()

