"""The chat screen with engines that stream reasoning and tool calls (no UI for them yet).

The real Ollama engine talks to the loopback stand-in: ``thinking-model`` sends
``message.thinking`` before its answer, ``tools-model`` answers with tool calls
only. Until the screens that show them exist, the chat must look and save
exactly as for any other answer: the thinking stored apart from the text, the
calls skipped, the answer complete.
"""

from __future__ import annotations

import pytest

from offyai_tui.config import Settings
from offyai_tui.engines.ollama import OllamaEngine
from tests.ollama_fixtures import ollama_settings
from tests.ui.conftest import chat, idle, screen_text, send, transcript_events, wait_for


@pytest.mark.parametrize("model", ["thinking-model", "tools-model"])
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
            assert saved[-1]["status"] == "complete" and "tool_calls" not in saved[-1]
            if model == "thinking-model":
                assert answer.content and "réfléchis" in answer.thinking
                assert saved[-1]["thinking"] == answer.thinking
            else:
                assert answer.content == "" and answer.thinking == ""
    finally:
        await engine.aclose()

