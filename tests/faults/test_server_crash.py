"""The model server dies mid-answer: the answer becomes an error, the app keeps running.

Two real servers, each private to its test so the kill disturbs nobody: the
real ``llama_cpp.server`` (OpenAI-compatible) and the Ollama-protocol stand-in
of ``tests/ollama_server.py``, both serving the bundled SmolLM2 on loopback.
"""

from __future__ import annotations

import pytest

from offyai_tui.chat import read_transcript
from offyai_tui.engines.base import Engine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import make_app
from tests.faults.conftest import (
    LONG_PROMPT,
    SIZE,
    answers_ended,
    chat,
    last_answer,
    send,
    streaming_text,
    wait_for,
)
from tests.ui.conftest import screen_text

pytestmark = pytest.mark.slow


async def _kill_mid_answer(engine: Engine, settings: Settings, kill, num_predict: int) -> None:
    """Send a long prompt, kill the server after a few words, check the aftermath."""
    app = make_app(settings=settings, workspace=Workspace.open("default"), engine=engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, f"/set parameter num_predict {num_predict}")
        await send(pilot, "/set parameter temperature 0")  # a long answer, every run
        await send(pilot, LONG_PROMPT)
        await wait_for(lambda: len(streaming_text(screen).split()) >= 4, pilot,
                       what="four streamed words")
        seen = streaming_text(screen)
        kill()
        await wait_for(answers_ended(screen, 1), pilot, timeout=30, what="the answer ended")

        answer = last_answer(screen)
        assert answer.status == "error", answer.status
        assert answer.error
        assert answer.content.startswith(seen)
        assert "Error" in screen_text(app)
        saved = read_transcript(screen.store.path_for(screen.conversation.id))
        assert (saved.messages[-1].status, saved.messages[-1].content) == ("error", answer.content)

        # The server is gone: the next answer fails fast and visibly, the app lives on.
        await send(pilot, "Are you there?")
        await wait_for(answers_ended(screen, 2), pilot, timeout=30, what="the second answer")
        assert last_answer(screen).status == "error"
        assert app.is_running
        await send(pilot, "/help")
        await pilot.pause(0.2)
        assert app.is_running and "Thinking…" not in screen_text(app)


async def test_openai_compatible_server_killed_mid_stream(doomed_llama_server) -> None:
    settings = Settings()
    endpoint = OpenAIEndpoint(name="local", url=doomed_llama_server.url)
    settings.openai = [endpoint]
    engine = OpenAICompatEngine(endpoint, settings)
    try:
        await _kill_mid_answer(engine, settings, doomed_llama_server.process.kill, 400)
    finally:
        await engine.aclose()
    assert doomed_llama_server.process.wait(5) is not None


async def test_ollama_server_killed_mid_stream(doomed_ollama_server) -> None:
    settings = Settings()
    settings.ollama.host = doomed_ollama_server.url
    settings.chat.model = "slow-model:latest"  # 100 ms a token: time to kill it mid-answer
    engine = OllamaEngine(settings)
    try:
        await _kill_mid_answer(engine, settings, doomed_ollama_server.kill, 200)
    finally:
        await engine.aclose()
