"""Reasoning in the chat screen, against the Ollama stand-in's ``thinking-model``.

The real Ollama engine reads ``message.thinking`` deltas (non-ASCII, cut into 1-7
byte HTTP chunks, a pace apart) and then the answer the bundled SmolLM2 writes.
What the screen shows is read from the terminal's text; what was stored, from the
transcript on disk; what was sent, from the stand-in's ``/_test/state``.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.widgets.chat.thinking_block import span
from tests.ollama_fixtures import ollama_settings
from tests.ollama_server import CHAT_MODEL, THINKING
from tests.ui.conftest import chat, screen_text, send, transcript_events, wait_for

pytestmark = pytest.mark.slow

REASONING = "".join(THINKING)


def chat_requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"
            and r["body"].get("messages")]


def header(view) -> str:
    assert view.thinking is not None
    return str(view.thinking.query_one(".thinking-header").render())


@pytest.fixture
def thinking_app(build, ollama_server: str):
    settings = ollama_settings(ollama_server)
    settings.chat.model = "thinking-model"
    engine = OllamaEngine(settings)
    yield build(settings=settings, engine=engine)


async def answered(app: OffyApp, pilot: Any) -> None:
    await wait_for(lambda: not chat(app).generating, pilot, timeout=60)
    await pilot.pause()


async def test_thinking_streams_live_folds_on_the_answer_and_keys_toggle_it(
    thinking_app: OffyApp, ollama_server: str
) -> None:
    app = thinking_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Name a colour.")
            await wait_for(lambda: len(chat(app).messages.views) == 2, pilot)
            view = chat(app).messages.views[-1]
            # Live: part of the reasoning on screen, the block open, no answer yet.
            await wait_for(lambda: view.thinking is not None and "réfléchis" in view.thinking.text,
                           pilot, timeout=30)
            assert view.thinking.live and view.thinking.is_open
            assert header(view).startswith("▾ Thinking…")
            await wait_for(lambda: "réfléchis" in screen_text(app), pilot)
            assert not view.message.content
            # The answer begins: folded to one line with how long it took.
            await answered(app, pilot)
            answer = chat(app).conversation.messages[-1]
            assert answer.status == "complete" and answer.content
            assert answer.thinking == REASONING and answer.thinking_s >= 1
            assert not view.thinking.live and not view.thinking.is_open
            assert header(view).startswith(f"▸ Thought for {span(answer.thinking_s)}")
            assert "réfléchis" not in screen_text(app)
            assert f"Thought for {span(answer.thinking_s)}" in screen_text(app)

            await pilot.press("alt+t")  # from the prompt: the last answer's reasoning
            await pilot.pause()
            assert "réfléchis" in screen_text(app) and "日本語" in screen_text(app)
            await pilot.press("alt+t")
            await pilot.pause()
            assert "réfléchis" not in screen_text(app)
            await pilot.press("alt+up", "t")  # the selected message, by its own key
            await pilot.pause()
            assert chat(app).messages.selected == answer.id
            assert "réfléchis" in screen_text(app)
            await pilot.press("t", "escape")
            await pilot.pause()
            assert "réfléchis" not in screen_text(app)

            # The next request carries the answer, never its reasoning.
            await send(pilot, "Why?")
            await answered(app, pilot)
            last = chat_requests(ollama_server)[-1]
            sent = [m for m in last["messages"] if m["role"] == "assistant"]
            assert sent and all("réfléchis" not in json.dumps(m) for m in sent)
            assert all("thinking" not in m for m in sent)
    finally:
        await app.engine.aclose()


async def test_a_reopened_conversation_shows_its_thinking_folded_with_its_time(
    thinking_app: OffyApp,
) -> None:
    app = thinking_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Name a colour.")
            await answered(app, pilot)
            conv_id = chat(app).conversation.id
            stored = [e for e in transcript_events(conv_id) if e.get("role") == "assistant"]
            assert stored[-1]["thinking"] == REASONING
            seconds = stored[-1]["thinking_s"]
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert "Thought for" not in screen_text(app)
            await chat(app).conversations.select(conv_id)
            await wait_for(lambda: chat(app).conversation.id == conv_id, pilot)
            await pilot.pause()
            view = chat(app).messages.views[-1]
            assert view.thinking is not None and not view.thinking.is_open
            assert f"▸ Thought for {span(seconds)}" in screen_text(app)
            assert "réfléchis" not in screen_text(app)
            await pilot.press("alt+t")
            await pilot.pause()
            assert "réfléchis" in screen_text(app)
    finally:
        await app.engine.aclose()


async def test_set_think_reaches_the_wire_and_a_refusal_is_the_answers_error(
    build, ollama_server: str
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "thinking-model"
    app = build(settings=settings, engine=OllamaEngine(settings))
    try:
        async with app.run_test() as pilot:
            await send(pilot, "/set think off")
            await pilot.pause()
            assert "think off" in str(chat(app).status.render())
            await send(pilot, "Name a colour.")
            await answered(app, pilot)
            assert chat_requests(ollama_server)[-1]["think"] is False
            view = chat(app).messages.views[-1]
            assert view.thinking is None and view.message.status == "complete"

            chat(app).conversation.model = CHAT_MODEL  # a model that cannot think
            await send(pilot, "/set think on")
            await pilot.pause()
            assert "does not list thinking" in screen_text(app)
            await send(pilot, "Name another.")
            await answered(app, pilot)
            failed = chat(app).messages.views[-1]
            assert failed.message.status == "error"
            assert "smollm2:135m cannot think" in failed.message.error  # Ollama's 400, one line
            assert "/set think off" in screen_text(app)
    finally:
        await app.engine.aclose()
