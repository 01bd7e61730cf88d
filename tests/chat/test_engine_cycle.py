"""The straight line, with real parts: Conversation -> Ollama protocol -> SmolLM2 -> transcript.

Uses the loopback Ollama stand-in of ``tests/ollama_server.py`` (real HTTP, the
real bundled SmolLM2); fault modes are chosen by model name.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, read_transcript
from offyai_tui.engines.base import TextDelta
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import ChatSettings
from tests.ollama_fixtures import ollama_settings

CHAT = "smollm2:135m"
pytestmark = pytest.mark.slow


async def _send(conv, engine: OllamaEngine, prompt: str, model: str, stop_after: int = 0):
    conv.add_user(prompt)
    handle = await conv.start_reply(
        TokenCounter(engine, model), model=model, settings=ChatSettings()
    )
    deltas = 0
    async with aclosing(engine.stream_chat(handle.messages, handle.options)) as stream:
        async for event in stream:
            if handle.apply(event):
                break
            deltas += isinstance(event, TextDelta)
            if stop_after and deltas >= stop_after:
                handle.stop()
                break
    return handle


async def test_send_stream_complete_and_reload(
    store: ConversationStore,
    ollama_server: str,
) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server))
    try:
        conv = store.create(model=CHAT)
        conv.set_parameter("num_predict", 12)
        handle = await _send(conv, engine, "Say hello in one short sentence.", CHAT)
        assert handle.message.status == "complete", handle.message.error
        assert handle.text.strip() and handle.message.stats["completion_tokens"] > 0
        second = await _send(conv, engine, "Now say goodbye.", CHAT)
        assert second.message.status == "complete"
        # The second request carried the first exchange as context.
        assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    finally:
        await engine.aclose()
    saved = read_transcript(store.path_for(conv.id))
    assert [(m.role, m.status) for m in saved.messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 2
    assert saved.messages[1].content == handle.text and saved.warnings == []


async def test_cut_stream_becomes_an_error_with_partial_text(
    store: ConversationStore,
    ollama_server: str,
) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server))
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 12)
        handle = await _send(conv, engine, "Tell me a story.", "cut-model")
    finally:
        await engine.aclose()
    message = read_transcript(store.path_for(conv.id)).messages[-1]
    assert message.status == "error" and message.error
    assert message.content and message.content == handle.text


async def test_stop_mid_stream_keeps_partial(
    store: ConversationStore,
    ollama_server: str,
) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server))
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 32)
        handle = await asyncio.wait_for(
            _send(conv, engine, "Count slowly.", "slow-model", stop_after=2), timeout=60
        )
    finally:
        await engine.aclose()
    message = read_transcript(store.path_for(conv.id)).messages[-1]
    assert (message.status, message.content) == ("stopped", handle.text)
    assert handle.text
