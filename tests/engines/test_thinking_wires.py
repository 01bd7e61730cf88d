"""Reasoning models on every engine's wire: ``think`` goes out, reasoning comes in apart.

Ollama: the loopback stand-in (``thinking-model`` thinks, the others cannot and
refuse ``think`` as Ollama does). OpenAI-compatible: the scripted SSE server,
with ``reasoning_content`` and with ``<think>`` inline in ``content``, cut at
every byte. The embedded engine's side is in ``test_thinking_llamacpp.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    ErrorEvent,
    Message,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.engines.openai_wire import Turn
from offyai_tui.engines.think_tags import split_whole
from offyai_tui.settings.config import OpenAIEndpoint, Settings, parse_settings
from tests.engines.openai_scripted import Route, ScriptedServer, delta, sse
from tests.engines.test_ollama import THINKING_TEXT, last_request

HELLO = [Message("user", "Say hello.")]
HISTORY = [
    Message("user", "Name a colour."),
    Message("assistant", "Red.", thinking="SECRET-REASONING the user wants one colour."),
    Message("user", "Another?"),
]


def split(events: list[ChatEvent]) -> tuple[str, str]:
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    return thinking, "".join(e.text for e in events if isinstance(e, TextDelta))


async def ollama_chat(engine: OllamaEngine, model: str, **options: Any) -> list[ChatEvent]:
    opts = ChatOptions(model=model, num_predict=3, **options)
    return [event async for event in engine.stream_chat(HELLO, opts)]


# -- Ollama ---------------------------------------------------------------------


@pytest.mark.parametrize("think", [True, False, "high"])
async def test_ollama_sends_think_as_asked(
    ollama_engine: OllamaEngine, ollama_server: str, think: bool | str
) -> None:
    events = await ollama_chat(ollama_engine, "thinking-model", think=think)
    assert isinstance(events[-1], Done), events[-1]
    assert last_request(ollama_server, "/api/chat")["think"] == think
    thinking, text = split(events)
    assert thinking == ("" if think is False else THINKING_TEXT)
    assert text and THINKING_TEXT not in text


async def test_ollama_default_sends_no_think(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    events = await ollama_chat(ollama_engine, "thinking-model")
    assert isinstance(events[-1], Done)
    assert "think" not in last_request(ollama_server, "/api/chat")


async def test_ollama_model_that_cannot_think_is_one_clear_line(
    ollama_engine: OllamaEngine,
) -> None:
    events = await ollama_chat(ollama_engine, "smollm2:135m", think=True)
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    error = events[0].error
    assert isinstance(error, Unsupported)
    assert "smollm2:135m" in str(error) and "/set think off" in str(error)
    assert "\n" not in str(error) and "HTTP" not in str(error)


async def test_ollama_off_for_a_model_that_cannot_think_is_accepted(
    ollama_engine: OllamaEngine,
) -> None:
    events = await ollama_chat(ollama_engine, "smollm2:135m", think=False)
    assert isinstance(events[-1], Done), events[-1]


async def test_ollama_reports_the_thinking_capability(ollama_engine: OllamaEngine) -> None:
    assert "thinking" in (await ollama_engine.model_info("thinking-model")).capabilities
    assert "thinking" not in (await ollama_engine.model_info("smollm2:135m")).capabilities


async def test_ollama_never_sends_reasoning_back(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    opts = ChatOptions(model="thinking-model", num_predict=2)
    events = [event async for event in ollama_engine.stream_chat(HISTORY, opts)]
    assert isinstance(events[-1], Done)
    sent = last_request(ollama_server, "/api/chat")
    assert "SECRET-REASONING" not in json.dumps(sent)
    assert all("thinking" not in m for m in sent["messages"])


# -- OpenAI-compatible -------------------------------------------------------------


def openai_engine(url: str, **endpoint: Any) -> OpenAICompatEngine:
    return OpenAICompatEngine(OpenAIEndpoint(name="test-server", url=url, **endpoint), Settings())


async def openai_chat(
    server: ScriptedServer, body: bytes, *, messages: list[Message] = HELLO, **options: Any
) -> list[ChatEvent]:
    server.routes["POST /v1/chat/completions"] = Route(script=[bytes([b]) for b in body])
    engine = openai_engine(server.url)
    try:
        opts = ChatOptions(model="tiny", **options)
        return [event async for event in engine.stream_chat(messages, opts)]
    finally:
        await engine.aclose()


INLINE = "\n<think>\nLet me see: 6 × 7 <b>= 42</b>.\n</think>\n\nThe answer is 42. Écrit <think>."


def inline_body(answer: str) -> bytes:
    """One content delta per character, the stream then sent one byte at a time."""
    pieces = [delta(char) for char in answer]
    return b"".join(sse(delta(role="assistant"), *pieces, delta("", "stop"), "[DONE]"))


@pytest.fixture
async def scripted() -> Any:
    async with ScriptedServer() as server:
        yield server


async def test_openai_inline_think_tags_cut_at_every_byte(scripted: ScriptedServer) -> None:
    events = await openai_chat(scripted, inline_body(INLINE))
    assert isinstance(events[-1], Done), events[-1]
    assert split(events) == ("Let me see: 6 × 7 <b>= 42</b>.\n", "The answer is 42. Écrit <think>.")
    first_text = min(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(not isinstance(e, ThinkingDelta) for e in events[first_text:])


async def test_openai_reasoning_content_and_think_values_on_the_wire(
    scripted: ScriptedServer,
) -> None:
    body = b"".join(
        sse(
            delta(reasoning_content="Pondering"),
            delta(reasoning_content=" hard"),
            delta("Blue."),
            delta("", "stop"),
            "[DONE]",
        )
    )
    for think, field, value in [
        ("low", "reasoning_effort", "low"),
        (True, "chat_template_kwargs", {"enable_thinking": True}),
        (False, "chat_template_kwargs", {"enable_thinking": False}),
    ]:
        events = await openai_chat(scripted, body, messages=HISTORY, think=think)
        assert split(events) == ("Pondering hard", "Blue.")
        sent = scripted.requests[-1].body
        assert sent[field] == value
        assert "SECRET-REASONING" not in json.dumps(sent)
    await openai_chat(scripted, body)
    sent = scripted.requests[-1].body
    assert "reasoning_effort" not in sent and "chat_template_kwargs" not in sent


async def test_openai_thinking_models_mark_and_refuse(scripted: ScriptedServer) -> None:
    engine = openai_engine(scripted.url, thinking_models=["ti*"])
    other = openai_engine(scripted.url, thinking_models=["qwen3*"])
    try:
        caps = {m.name: m.capabilities for m in await engine.list_models()}
        assert "thinking" in caps["tiny"] and "thinking" not in caps["all-MiniLM-L6-v2"]
        events = [e async for e in other.stream_chat(HELLO, ChatOptions("tiny", think=True))]
    finally:
        await engine.aclose()
        await other.aclose()
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert isinstance(events[0].error, Unsupported)
    assert "tiny" in str(events[0].error) and "thinking_models" in str(events[0].error)


def test_thinking_models_is_read_from_config() -> None:
    settings = parse_settings(
        '[[openai]]\nname = "lab"\nurl = "http://127.0.0.1:8080"\nthinking_models = ["qwen3*"]\n'
    )
    assert settings.openai[0].thinking_models == ["qwen3*"]
    bad = parse_settings('[[openai]]\nname = "lab"\nthinking_models = "qwen3"\n')
    assert bad.openai[0].thinking_models == [] and any("thinking_models" in w for w in bad.warnings)


_PIECES = st.sampled_from(["<think>", "</think>", "<thinking>", "</thinking>", "<", "</", "th",
                           ">", " ", "\n", "x", "é", "🤔"])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    answer=st.lists(_PIECES, max_size=20).map("".join),
    cuts=st.lists(st.integers(min_value=0, max_value=100), max_size=12),
)
def test_openai_turn_splits_any_chunking_like_the_whole(answer: str, cuts: list[int]) -> None:
    turn = Turn("tiny")
    events: list[ChatEvent] = []
    start = 0
    for cut in [*sorted({c % (len(answer) + 1) for c in cuts}), len(answer)]:
        events += turn.apply(delta(answer[start:cut]))
        start = cut
    events += turn.apply(delta("", "stop"))
    assert split(events) == split_whole(answer)
    assert turn.text == split_whole(answer)[1]
