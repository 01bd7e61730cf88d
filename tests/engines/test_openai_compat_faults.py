"""The OpenAI-compatible engine against a scripted server on loopback, for faults no real
server produces on demand: a refused connection, streams cut at awkward bytes, an error
line mid-stream, malformed data, a stall, a refused key, HTTP errors, an unknown model.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from offyai_tui.engines.base import (
    ChatOptions,
    Done,
    ErrorEvent,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import (
    EngineError,
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
)
from tests.engines.openai_scripted import (
    HANG,
    HELLO,
    Route,
    ScriptedServer,
    collect,
    delta,
    engine_for,
    scripted,
    sse,
    text_of,
)
from tests.llama_server import free_port

__all__ = ["scripted"]  # the fixture, imported for pytest


async def test_connection_refused_names_the_url_and_how_to_start_a_server() -> None:
    port = free_port()
    engine = engine_for(f"http://127.0.0.1:{port}/v1")
    try:
        started = time.monotonic()
        health = await engine.health()
        assert not health.ok and time.monotonic() - started < 1.5
        with pytest.raises(EngineUnavailable) as caught:
            await engine.list_models()
        events = await collect(engine, ChatOptions())
    finally:
        await engine.aclose()
    message = str(caught.value)
    assert f"http://127.0.0.1:{port}/v1" in message and f"llama-server --port {port}" in message
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert isinstance(events[0].error, EngineUnavailable)


async def test_stream_split_at_awkward_bytes_with_reasoning_and_usage(
    scripted: ScriptedServer,
) -> None:
    body = b"".join(
        [
            b": ping\r\n\r\n",
            *sse(
                delta(role="assistant"),
                delta(reasoning_content="Thinking"),
                delta(reasoning=" more"),
                delta("H\u00e9llo "),
                delta("\U0001f44b", "length"),
                {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 4}},
                "[DONE]",
            ),
        ]
    ).replace(b"\n", b"\r\n")
    # Three-byte pieces cut through CRLFs and the multi-byte characters.
    scripted.routes["POST /v1/chat/completions"] = Route(
        script=[body[i : i + 3] for i in range(0, len(body), 3)]
    )
    engine = engine_for(scripted.url)
    options = ChatOptions(
        model="tiny", temperature=0.2, top_p=0.9, top_k=20, seed=3, num_predict=8, num_ctx=512,
        stop=["\n\n"],
    )  # fmt: skip
    try:
        events = await collect(engine, options)
    finally:
        await engine.aclose()
    thinking = [e.text for e in events if isinstance(e, ThinkingDelta)]
    assert thinking == ["Thinking", " more"]
    assert text_of(events) == "H\u00e9llo \U0001f44b"
    assert isinstance(events[-1], Done)
    stats = events[-1].stats
    assert (stats.model, stats.prompt_tokens, stats.completion_tokens) == ("tiny", 7, 4)
    assert stats.done_reason == "length"
    sent = scripted.requests[-1].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert {k: sent[k] for k in ("model", "temperature", "top_p", "top_k", "seed")} == {
        "model": "tiny", "temperature": 0.2, "top_p": 0.9, "top_k": 20, "seed": 3,
    }  # fmt: skip
    assert sent["max_tokens"] == 8 and sent["stop"] == ["\n\n"] and "num_ctx" not in sent


async def test_without_usage_completion_tokens_are_counted(scripted: ScriptedServer) -> None:
    scripted.routes["POST /v1/chat/completions"] = Route(
        script=sse(delta("a"), delta("b"), delta("c"), delta(finish="stop"), "[DONE]")
    )
    engine = engine_for(scripted.url, model="tiny")
    try:
        events = await collect(engine, ChatOptions())
    finally:
        await engine.aclose()
    assert isinstance(events[-1], Done)
    assert events[-1].stats.completion_tokens == 3 and events[-1].stats.prompt_tokens == 0


async def test_error_line_mid_stream_keeps_the_partial_text(scripted: ScriptedServer) -> None:
    error = {"error": {"message": "the request exceeds the context size", "type": "server_error"}}
    scripted.routes["POST /v1/chat/completions"] = Route(
        script=sse(delta("Once upon"), delta(" a time"), error)
    )
    engine = engine_for(scripted.url)
    try:
        events = await collect(engine, ChatOptions(model="tiny"))
    finally:
        await engine.aclose()
    last = events[-1]
    assert isinstance(last, ErrorEvent)
    assert "exceeds the context size" in str(last.error)
    assert last.partial_text == "Once upon a time" == last.error.partial_text


@pytest.mark.parametrize(
    ("ending", "why"),
    [
        (sse("{not json"), "malformed"),
        (sse('"just a string"'), "malformed"),
        ([], "ended before"),
    ],
    ids=["bad-json", "not-an-object", "cut-before-done"],
)
async def test_malformed_or_cut_streams_are_interruptions(
    scripted: ScriptedServer, ending: list[bytes], why: str
) -> None:
    scripted.routes["POST /v1/chat/completions"] = Route(script=[*sse(delta("partial")), *ending])
    engine = engine_for(scripted.url)
    try:
        events = await collect(engine, ChatOptions(model="tiny"))
    finally:
        await engine.aclose()
    assert events[:-1] == [TextDelta("partial")]
    last = events[-1]
    assert isinstance(last, ErrorEvent) and isinstance(last.error, StreamInterrupted)
    assert why in str(last.error) and last.partial_text == "partial"


async def test_a_stalled_stream_is_interrupted(scripted: ScriptedServer) -> None:
    scripted.routes["POST /v1/chat/completions"] = Route(script=[*sse(delta("slow")), 30.0])
    engine = engine_for(scripted.url, stall_timeout=0.5)
    started = time.monotonic()
    try:
        events = await collect(engine, ChatOptions(model="tiny"))
    finally:
        await engine.aclose()
    assert time.monotonic() - started < 5
    last = events[-1]
    assert isinstance(last, ErrorEvent) and isinstance(last.error, StreamInterrupted)
    assert "no data for 0.5 s" in str(last.error) and last.partial_text == "slow"


async def test_closing_the_stream_closes_the_connection_promptly(scripted: ScriptedServer) -> None:
    scripted.routes["POST /v1/chat/completions"] = Route(script=[*sse(delta("first")), HANG])
    engine = engine_for(scripted.url)
    try:
        stream = engine.stream_chat(HELLO, ChatOptions(model="tiny"))
        assert await anext(stream) == TextDelta("first")
        await stream.aclose()
        await asyncio.wait_for(scripted.client_left.wait(), timeout=1.0)
    finally:
        await engine.aclose()


async def test_api_key_comes_from_the_named_env_var(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFYAI_TEST_KEY", "sk-local-123")
    with_key = engine_for(scripted.url, api_key_env="OFFYAI_TEST_KEY")
    without = engine_for(scripted.url)
    try:
        await with_key.list_models()
        await without.list_models()
    finally:
        await with_key.aclose()
        await without.aclose()
    assert scripted.requests[0].headers["authorization"] == "Bearer sk-local-123"
    assert "authorization" not in scripted.requests[1].headers


async def test_a_refused_key_names_the_env_var_not_the_key(
    scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFYAI_TEST_KEY", "sk-wrong-456")
    refused = {"error": {"message": "invalid api key sk-wrong-456"}}
    scripted.routes["GET /v1/models"] = ScriptedServer.json(refused, 401)
    engine = engine_for(scripted.url, api_key_env="OFFYAI_TEST_KEY")
    try:
        with pytest.raises(EngineError) as caught:
            await engine.list_models()
        events = await collect(engine, ChatOptions(model="tiny"))
    finally:
        await engine.aclose()
    for error in (caught.value, events[-1].error):
        assert "OFFYAI_TEST_KEY" in str(error) and "sk-wrong" not in str(error)


async def test_unknown_model_never_reaches_the_server(scripted: ScriptedServer) -> None:
    engine = engine_for(scripted.url)
    try:
        events = await collect(engine, ChatOptions(model="tinny"))
    finally:
        await engine.aclose()
    assert len(events) == 1 and isinstance(events[0].error, ModelNotFound)
    assert "tinny" in str(events[0].error) and "tiny" in events[0].error.installed
    assert [r.path for r in scripted.requests] == ["/v1/models"]


async def test_http_errors_carry_the_server_message(scripted: ScriptedServer) -> None:
    scripted.routes["POST /v1/chat/completions"] = ScriptedServer.json(
        {"error": {"message": "out of memory"}}, 500
    )
    scripted.routes["POST /v1/embeddings"] = ScriptedServer.json(
        {"error": {"message": "model 'nope' not found"}}, 404
    )
    engine = engine_for(scripted.url)
    try:
        events = await collect(engine, ChatOptions(model="tiny"))
        with pytest.raises(ModelNotFound) as caught:
            await engine.embed(["x"], model="nope")
    finally:
        await engine.aclose()
    assert len(events) == 1
    assert f"HTTP 500 at {scripted.url}/chat/completions: out of memory" in str(events[0].error)
    assert caught.value.installed == ["tiny", "all-MiniLM-L6-v2"]


async def test_default_model_and_capabilities(scripted: ScriptedServer) -> None:
    engine = engine_for(scripted.url)
    configured = engine_for(scripted.url, model="all-MiniLM-L6-v2")
    try:
        models = await engine.list_models()
        assert [m.capabilities for m in models] == [("chat",), ("embedding",)]
        assert await engine.default_model() == "tiny"
        assert await configured.default_model() == "all-MiniLM-L6-v2"
    finally:
        await engine.aclose()
        await configured.aclose()
    assert len(scripted.requests) == 1  # the default comes from the cached list
