"""The OpenAI-compatible engine against the real llama_cpp.server and a scripted fault server.

The real server proves the happy path and a server killed mid-answer. Faults no
real server produces on demand (an error line mid-stream, malformed data, a
stall, a refused key) come from a small HTTP server on loopback that plays a
fixed script over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    ErrorEvent,
    Message,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import (
    EngineError,
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
)
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from tests.llama_server import LlamaServer, free_port

HELLO = [Message("user", "Say hello in one short sentence.")]


def engine_for(
    url: str, *, api_key_env: str = "", model: str = "", **kw: Any
) -> OpenAICompatEngine:
    endpoint = OpenAIEndpoint(name="test-server", url=url, api_key_env=api_key_env, model=model)
    return OpenAICompatEngine(endpoint, Settings(), **kw)


async def collect(
    engine: OpenAICompatEngine, options: ChatOptions, messages: Sequence[Message] = HELLO
) -> list[ChatEvent]:
    return [event async for event in engine.stream_chat(messages, options)]


def text_of(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


# -- the real llama_cpp.server -------------------------------------------------


@pytest.mark.slow
async def test_lists_the_served_model(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.url)
    try:
        models = await engine.list_models()
        health = await engine.health()
    finally:
        await engine.aclose()
    assert [m.name for m in models] == [str(bundled.smollm2_path())]
    assert models[0].capabilities == ("chat",)
    assert health.ok and health.endpoint == llama_server.url
    assert not engine.is_remote


@pytest.mark.slow
async def test_streams_a_real_answer_with_stats(llama_server: LlamaServer) -> None:
    engine = engine_for(llama_server.url)
    try:
        events = await collect(engine, ChatOptions(num_predict=16, temperature=0.0, seed=1))
    finally:
        await engine.aclose()
    *deltas, last = events
    assert deltas and all(isinstance(e, TextDelta) for e in deltas)
    assert isinstance(last, Done), last
    stats = last.stats
    assert text_of(events).strip()
    assert stats.model == str(bundled.smollm2_path())
    assert 0 < stats.completion_tokens <= 16
    assert stats.done_reason in {"stop", "length"}
    assert 0 < stats.ttft_s <= stats.total_s
    assert stats.tokens_per_s > 0


@pytest.mark.slow
async def test_unknown_model_is_refused_with_the_served_list(llama_server: LlamaServer) -> None:
    # llama_cpp.server itself answers any model name with the model it has loaded ...
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            llama_server.url + "/chat/completions",
            json={"model": "no-such-model", "messages": [HELLO[0].as_dict()], "max_tokens": 1},
            timeout=60,
        )
    assert response.status_code == 200
    # ... so the engine checks the name itself rather than answer with another model.
    engine = engine_for(llama_server.url)
    try:
        events = await collect(engine, ChatOptions(model="no-such-model", num_predict=4))
    finally:
        await engine.aclose()
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    error = events[0].error
    assert isinstance(error, ModelNotFound)
    assert "no-such-model" in str(error) and str(bundled.smollm2_path()) in str(error)


@pytest.mark.slow
async def test_server_killed_mid_stream_keeps_the_partial_text(
    doomed_llama_server: LlamaServer,
) -> None:
    engine = engine_for(doomed_llama_server.url)
    prompt = [Message("user", "Count from 1 to 100, separated by commas.")]
    events: list[ChatEvent] = []
    try:
        async for event in engine.stream_chat(prompt, ChatOptions(num_predict=200, seed=1)):
            events.append(event)
            if len(events) == 2:
                os.kill(doomed_llama_server.process.pid, signal.SIGKILL)
        after = await collect(engine, ChatOptions(num_predict=4))
    finally:
        await engine.aclose()
    last = events[-1]
    assert isinstance(last, ErrorEvent), events[-3:]
    assert isinstance(last.error, StreamInterrupted)
    assert last.partial_text == text_of(events) != ""
    assert last.error.partial_text == last.partial_text
    # The next request finds nobody listening and says how to start a server.
    assert len(after) == 1 and isinstance(after[0], ErrorEvent)
    assert isinstance(after[0].error, EngineUnavailable)


@pytest.mark.slow
async def test_embeddings_from_the_converted_minilm(llama_embed_server: LlamaServer) -> None:
    engine = engine_for(llama_embed_server.url)
    texts = ["The cat sat on the mat.", "A cat was sitting on a rug.", "Stock prices fell sharply."]
    try:
        models = await engine.list_models()
        vectors = await engine.embed(texts)
    finally:
        await engine.aclose()
    assert models[0].capabilities == ("embedding",)
    assert [len(v) for v in vectors] == [384, 384, 384]

    def cosine(a: list[float], b: list[float]) -> float:
        dot = sum(x * y for x, y in zip(a, b))
        return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2


# -- a scripted server for faults ----------------------------------------------

HANG = object()
"""Script item: keep the connection open until the client goes away."""


@dataclass
class Route:
    status: int = 200
    script: list[Any] = field(default_factory=list)
    """Bytes to send, or seconds to sleep, or ``HANG``."""
    content_type: str = "text/event-stream"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """Answers each request from its route's script, one request per connection."""

    def __init__(self) -> None:
        models = {"object": "list", "data": [{"id": "tiny"}, {"id": "all-MiniLM-L6-v2"}]}
        self.routes = {"GET /v1/models": self.json(models)}
        self.requests: list[Recorded] = []
        self.client_left = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @staticmethod
    def json(body: Any, status: int = 200) -> Route:
        return Route(status, [json.dumps(body).encode()], "application/json")

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {
                k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)
            }
            raw = await reader.readexactly(int(headers.get("content-length", 0)))
            self.requests.append(Recorded(method, path, headers, json.loads(raw) if raw else None))
            route = self.routes.get(f"{method} {path}", self.json({"error": "no route"}, 404))
            writer.write(
                f"HTTP/1.1 {route.status} X\r\nContent-Type: {route.content_type}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            for item in route.script:
                if item is HANG:
                    await reader.read()
                    self.client_left.set()
                elif isinstance(item, bytes):
                    writer.write(item)
                    await writer.drain()
                else:
                    await asyncio.sleep(item)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_left.set()
        finally:
            writer.close()


def sse(*payloads: Any) -> list[bytes]:
    return [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads]


def delta(content: str = "", finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "delta": {"content": content, **extra}, "finish_reason": finish}]
    }


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as server:
        yield server


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


@pytest.mark.parametrize(
    ("url", "base", "remote"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1", False),
        ("http://localhost:1234/", "http://localhost:1234/v1", False),
        ("http://[::1]:8000/v1/", "http://[::1]:8000/v1", False),
        ("https://api.example.com/v1", "https://api.example.com/v1", True),
    ],
)
def test_endpoint_url_and_remoteness(url: str, base: str, remote: bool) -> None:
    engine = engine_for(url)
    assert (engine.endpoint, engine.is_remote, engine.label) == (base, remote, "test-server")


def test_top_k_is_not_sent_to_remote_servers() -> None:
    engine = engine_for("https://api.example.com/v1")
    body = engine._chat_body("m", HELLO, ChatOptions(top_k=5, num_predict=3))
    assert "top_k" not in body and body["max_tokens"] == 3


async def test_tools_and_vision_capabilities_come_from_the_endpoint_table(llama_server) -> None:
    """The protocol does not say which models call tools or see: the ``[[openai]]`` table
    does, and only the models it names are offered tools by the turn runner."""
    from offyai_tui.settings.config import Settings as AppSettings
    from offyai_tui.turn.engine_info import EngineInfo

    plain = engine_for(llama_server.url)
    endpoint = OpenAIEndpoint(name="test-server", url=llama_server.url,
                              tools_models=["*smollm2*"], vision_models=["*nothing*"])
    named = OpenAICompatEngine(endpoint, Settings())
    try:
        model = await plain.default_model()
        assert "tools" not in (await plain.model_info(model)).capabilities
        caps = (await named.model_info(model)).capabilities
        assert "tools" in caps and "vision" not in caps and "chat" in caps
        info = EngineInfo(AppSettings())
        assert not await info.supports(plain, model, "tools", unknown=False)
        assert await info.supports(named, model, "tools", unknown=False)
    finally:
        await plain.aclose()
        await named.aclose()
