"""The Ollama engine against a real loopback server that speaks Ollama's API.

The server (``tests/ollama_server.py``) answers with the real SmolLM2, writes
its NDJSON in 1-7 byte pieces, and misbehaves on demand by model name.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from contextlib import aclosing
from typing import Any

import httpx
import pytest

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
from offyai_tui.engines.ollama import OllamaEngine, base_url, keep_alive_value
from tests.ollama_fixtures import ollama_settings

CHAT = "smollm2:135m"
HELLO = [Message("user", "Say hello in five words.")]
THINKING_TEXT = "Je réfléchis… naïve idée 🤔 — 日本語 ok"
"""What ``thinking-model`` thinks (see the server)."""


async def chat(engine: OllamaEngine, model: str = CHAT, **options: Any) -> list[ChatEvent]:
    options.setdefault("num_predict", 6)
    opts = ChatOptions(model=model, **options)
    return [event async for event in engine.stream_chat(HELLO, opts)]


def text_of(events: Sequence[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def server_state(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/_test/state", trust_env=False).json()


def last_request(url: str, path: str) -> dict[str, Any]:
    return next(r["body"] for r in reversed(server_state(url)["requests"]) if r["path"] == path)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_interrupted(events: Sequence[ChatEvent], error: type[EngineError]) -> ErrorEvent:
    """The stream's shape after a fault: deltas, then one error keeping their text."""
    *deltas, last = events
    assert isinstance(last, ErrorEvent), events
    assert type(last.error) is error, last.error
    assert all(isinstance(e, TextDelta) for e in deltas)
    assert last.partial_text == text_of(deltas)
    assert last.error.partial_text == last.partial_text
    assert "\n" not in str(last.error)
    return last


# -- host handling (no server needed) -------------------------------------------


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("ollama.lan:8000", "http://ollama.lan:8000"),
        (":11500", "http://127.0.0.1:11500"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:9999", "http://127.0.0.1:9999"),
        ("::", "http://[::1]:11434"),
        ("[::1]:11500", "http://[::1]:11500"),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("HTTP://box", "http://box:80"),
        ("https://ollama.example.org", "https://ollama.example.org:443"),
        ("https://gpu.lan:8443/ollama/", "https://gpu.lan:8443/ollama"),
    ],
)
def test_host_forms_follow_ollama(host: str, url: str) -> None:
    assert base_url(host) == url


@pytest.mark.parametrize("host", ["ftp://box:21", "box:port", "box:70000", "box:0"])
def test_unusable_host_is_one_readable_line(host: str) -> None:
    with pytest.raises(EngineUnavailable) as caught:
        OllamaEngine(ollama_settings(host))
    assert host in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "remote"),
    [
        ("127.0.0.1:11434", False),
        ("localhost", False),
        ("0.0.0.0", False),
        ("[::1]:11434", False),
        ("127.0.0.5", False),
        ("192.168.1.20:11434", True),
        ("https://ollama.example.org", True),
    ],
)
async def test_is_remote_unless_loopback(host: str, remote: bool) -> None:
    engine = OllamaEngine(ollama_settings(host))
    try:
        assert engine.is_remote is remote
    finally:
        await engine.aclose()


@pytest.mark.parametrize(
    ("value", "sent"), [("5m", "5m"), ("0", 0), ("-1", -1), ("1.5", 1.5), ("1h30m", "1h30m")]
)
def test_keep_alive_numbers_are_sent_as_numbers(value: str, sent: object) -> None:
    assert keep_alive_value(value) == sent


# -- engine not running ----------------------------------------------------------


async def test_engine_not_running_names_the_host_and_how_to_start_it() -> None:
    port = closed_port()
    engine = OllamaEngine(ollama_settings(f"127.0.0.1:{port}"))
    try:
        with pytest.raises(EngineUnavailable) as caught:
            await engine.list_models()
        assert f"127.0.0.1:{port}" in str(caught.value)
        assert "ollama serve" in str(caught.value)
        (event,) = await chat(engine)
        assert isinstance(event, ErrorEvent)
        assert isinstance(event.error, EngineUnavailable)
        assert f"127.0.0.1:{port}" in str(event.error)
        assert "ollama serve" in str(event.error)
        health = await engine.health()
        assert not health.ok
        assert f"127.0.0.1:{port}" in health.detail
        with pytest.raises(EngineUnavailable):
            async for _ in engine.pull("tinyllama"):
                pass
    finally:
        await engine.aclose()


# -- queries ---------------------------------------------------------------------


async def test_health_reports_version(ollama_engine: OllamaEngine, ollama_server: str) -> None:
    health = await ollama_engine.health()
    assert health.ok
    assert (health.engine, health.endpoint, health.version) == ("ollama", ollama_server, "0.9.0")


async def test_list_models_reads_tags(ollama_engine: OllamaEngine) -> None:
    models = {m.name: m for m in await ollama_engine.list_models()}
    smol = models[CHAT]
    assert smol.engine == "ollama"
    assert smol.size_bytes > 50_000_000
    assert (smol.family, smol.parameter_size, smol.quantization) == ("llama", "135M", "Q4_1")
    assert smol.capabilities == ("chat",)
    assert models["all-minilm:latest"].capabilities == ("embedding",)
    assert await ollama_engine.default_model() == CHAT


async def test_model_info_reads_show(ollama_engine: OllamaEngine) -> None:
    info = await ollama_engine.model_info(CHAT)
    assert info.context_length == 8192  # llama.context_length in the GGUF
    assert info.capabilities == ("chat",)
    assert info.size_bytes > 50_000_000
    assert "<|im_start|>" in info.details["template"]
    assert "im_end" in info.details["parameters"]
    assert info.details["license"] == "apache-2.0"
    assert info.details["model_info"]["general.architecture"] == "llama"
    embedder = await ollama_engine.model_info("all-minilm")
    assert (embedder.capabilities, embedder.context_length) == (("embedding",), 512)


async def test_model_info_of_a_missing_model_lists_installed(ollama_engine: OllamaEngine) -> None:
    with pytest.raises(ModelNotFound) as caught:
        await ollama_engine.model_info("llama9:70b")
    assert CHAT in caught.value.installed
    assert "llama9:70b" in str(caught.value) and CHAT in str(caught.value)


# -- chat ------------------------------------------------------------------------


async def test_chat_streams_real_tokens_then_stats(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    events = await chat(ollama_engine, num_predict=5, temperature=0)
    *deltas, done = events
    assert isinstance(done, Done)
    assert deltas and all(isinstance(e, TextDelta) for e in deltas)
    assert text_of(deltas).strip()
    final = server_state(ollama_server)["last_done"]
    stats = done.stats
    assert stats.model == CHAT
    assert stats.completion_tokens == final["eval_count"] == len(deltas) <= 5
    assert stats.prompt_tokens == final["prompt_eval_count"] > 5
    assert stats.tokens_per_s == pytest.approx(final["eval_count"] / final["eval_duration"] * 1e9)
    assert stats.done_reason == final["done_reason"] == ("length" if len(deltas) == 5 else "stop")
    assert 0 < stats.ttft_s <= stats.total_s


async def test_options_and_keep_alive_reach_ollama(ollama_server: str) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server, keep_alive="-1"))
    try:
        options = ChatOptions(
            model=CHAT, temperature=0.0, top_p=0.5, top_k=5, seed=7,
            num_predict=3, num_ctx=512, stop=["\n\n"], keep_alive="2m",
        )  # fmt: skip
        events = [e async for e in engine.stream_chat(HELLO, options)]
        assert isinstance(events[-1], Done)
        body = last_request(ollama_server, "/api/chat")
        assert body["model"] == CHAT
        assert body["stream"] is True
        assert body["messages"] == [{"role": "user", "content": HELLO[0].content}]
        assert body["options"] == {
            "temperature": 0.0, "top_p": 0.5, "top_k": 5, "seed": 7,
            "num_predict": 3, "num_ctx": 512, "stop": ["\n\n"],
        }  # fmt: skip
        assert body["keep_alive"] == "2m"
        await chat(engine, num_predict=1)
        assert last_request(ollama_server, "/api/chat")["keep_alive"] == -1  # from settings
    finally:
        await engine.aclose()


async def test_greedy_answers_repeat(ollama_engine: OllamaEngine) -> None:
    first = text_of(await chat(ollama_engine, temperature=0, num_predict=6))
    second = text_of(await chat(ollama_engine, temperature=0, num_predict=6))
    assert first and first == second


async def test_no_model_means_the_default(ollama_engine: OllamaEngine, ollama_server: str) -> None:
    events = await chat(ollama_engine, model="", num_predict=2)
    assert isinstance(events[-1], Done)
    assert last_request(ollama_server, "/api/chat")["model"] == CHAT


async def test_thinking_arrives_apart_from_the_answer(ollama_engine: OllamaEngine) -> None:
    events = await chat(ollama_engine, model="thinking-model", num_predict=3)
    thinking = [e for e in events if isinstance(e, ThinkingDelta)]
    assert "".join(e.text for e in thinking) == THINKING_TEXT
    assert events.index(thinking[-1]) < min(
        i for i, e in enumerate(events) if isinstance(e, TextDelta)
    )
    assert isinstance(events[-1], Done)
    assert THINKING_TEXT not in text_of(events)


async def test_server_really_cuts_lines_and_characters(ollama_server: str) -> None:
    """Guards the test server itself: the reads the engine copes with are awkward."""
    body = {"model": "thinking-model", "messages": [{"role": "user", "content": "hi"}],
            "options": {"num_predict": 2}}  # fmt: skip
    async with (
        httpx.AsyncClient(base_url=ollama_server, trust_env=False) as client,
        client.stream("POST", "/api/chat", json=body) as response,
    ):
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert max(len(c) for c in chunks) <= 7
    assert sum(not c.endswith(b"\n") for c in chunks) > len(chunks) // 2
    broken = 0
    for chunk in chunks:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken > 0


async def test_unknown_model_lists_installed(ollama_engine: OllamaEngine) -> None:
    (event,) = await chat(ollama_engine, model="llama9:70b")
    assert isinstance(event, ErrorEvent)
    assert isinstance(event.error, ModelNotFound)
    assert CHAT in event.error.installed
    assert "llama9:70b" in str(event.error) and CHAT in str(event.error)
    assert event.partial_text == ""


async def test_embedding_only_model_refuses_chat(ollama_engine: OllamaEngine) -> None:
    (event,) = await chat(ollama_engine, model="all-minilm")
    assert isinstance(event, ErrorEvent)
    assert "does not support chat" in str(event.error)


# -- faults mid-stream ------------------------------------------------------------


async def test_error_line_mid_stream_keeps_partial_text(ollama_engine: OllamaEngine) -> None:
    events = await chat(ollama_engine, model="error-model", num_predict=12)
    last = assert_interrupted(events, StreamInterrupted)
    assert last.partial_text
    assert "an error was encountered while running the model: unexpected EOF" in str(last.error)


async def test_malformed_line_keeps_partial_text(ollama_engine: OllamaEngine) -> None:
    events = await chat(ollama_engine, model="garbage-model", num_predict=12)
    last = assert_interrupted(events, StreamInterrupted)
    assert last.partial_text
    assert str(last.error).startswith("malformed line from Ollama: ")
    assert "502 Bad Gateway" in str(last.error)


async def test_connection_cut_keeps_partial_text(ollama_engine: OllamaEngine) -> None:
    events = await chat(ollama_engine, model="cut-model", num_predict=12)
    last = assert_interrupted(events, StreamInterrupted)
    assert last.partial_text
    assert "cut" in str(last.error)


async def test_stall_ends_the_stream_keeping_partial_text(ollama_server: str) -> None:
    engine = OllamaEngine(ollama_settings(ollama_server, stall_timeout=0.5))
    try:
        started = time.monotonic()
        events = await chat(engine, model="stall-model", num_predict=12)
        elapsed = time.monotonic() - started
    finally:
        await engine.aclose()
    last = assert_interrupted(events, StreamInterrupted)
    assert last.partial_text
    assert "sent nothing for 0.5 s" in str(last.error)
    assert elapsed < 10


async def test_long_streams_have_no_total_timeout(ollama_server: str) -> None:
    """Only silence counts: a stream longer than the stall timeout still finishes."""
    engine = OllamaEngine(ollama_settings(ollama_server, stall_timeout=0.6))
    try:
        started = time.monotonic()
        events = await chat(engine, model="slow-model", num_predict=10)
        elapsed = time.monotonic() - started
    finally:
        await engine.aclose()
    assert isinstance(events[-1], Done), events[-1]
    assert elapsed > 0.6


# -- cancellation ----------------------------------------------------------------


async def _wait_for_disconnect(url: str, before: dict[str, Any], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        state = server_state(url)
        if state["disconnects"] > before["disconnects"]:
            assert state["completed"] == before["completed"]
            return
        await asyncio.sleep(0.05)
    pytest.fail("the server kept streaming after the consumer stopped")


async def test_closing_the_stream_closes_the_response(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    before = server_state(ollama_server)
    options = ChatOptions(model="slow-model", num_predict=32)
    async with aclosing(ollama_engine.stream_chat(HELLO, options)) as stream:
        async for event in stream:
            assert isinstance(event, TextDelta)
            break
    await _wait_for_disconnect(ollama_server, before)


async def test_cancelling_the_task_closes_the_response(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    before = server_state(ollama_server)
    first = asyncio.Event()

    async def consume() -> None:
        options = ChatOptions(model="slow-model", num_predict=32)
        async for _ in ollama_engine.stream_chat(HELLO, options):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_for_disconnect(ollama_server, before)


# -- embeddings, loaded models ---------------------------------------------------


async def test_embed_sends_a_list_and_returns_vectors(
    ollama_engine: OllamaEngine, ollama_server: str
) -> None:
    texts = ["Why is the sky blue?", "Pourquoi l'herbe est-elle verte ?", "Why is the sky blue?"]
    vectors = await ollama_engine.embed(texts, model="all-minilm")
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert vectors[0] == vectors[2] != vectors[1]
    body = last_request(ollama_server, "/api/embed")
    assert body["input"] == texts and body["model"] == "all-minilm"
    await ollama_engine.embed(["x"])
    assert last_request(ollama_server, "/api/embed")["model"] == "all-minilm:latest"
    assert await ollama_engine.embed([]) == []
    with pytest.raises(ModelNotFound):
        await ollama_engine.embed(["x"], model="nomic-embed-text")


async def test_loaded_and_unload(ollama_engine: OllamaEngine, ollama_server: str) -> None:
    await chat(ollama_engine, num_predict=1)
    loaded = {m.name: m for m in await ollama_engine.loaded()}
    assert loaded[CHAT].size_bytes > 50_000_000
    assert loaded[CHAT].expires_at
    await ollama_engine.unload(CHAT)
    assert CHAT not in {m.name for m in await ollama_engine.loaded()}
    body = last_request(ollama_server, "/api/generate")
    assert body["model"] == CHAT and body["keep_alive"] == 0
    assert "prompt" not in body and "messages" not in body
    with pytest.raises(ModelNotFound):
        await ollama_engine.unload("llama9:70b")


# -- pull and delete -------------------------------------------------------------


async def _pull(engine: OllamaEngine, name: str, seen: list) -> None:
    async for progress in engine.pull(name):
        seen.append(progress)


async def test_pull_streams_progress_then_delete(ollama_engine: OllamaEngine) -> None:
    seen: list = []
    await _pull(ollama_engine, "tinyllama:1b", seen)
    statuses = [p.status for p in seen]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["writing manifest", "removing any unused layers", "success"]
    assert "verifying sha256 digest" in statuses
    layers: dict[str, list[int]] = {}
    for p in seen:
        if p.digest:
            assert p.digest.startswith("sha256:") and p.total > 0
            layers.setdefault(p.digest, []).append(p.completed)
    assert len(layers) == 3
    for digest, completed in layers.items():
        assert completed == sorted(completed), digest
        assert completed[-1] == next(p.total for p in seen if p.digest == digest)
    assert "tinyllama:1b" in {m.name for m in await ollama_engine.list_models()}

    await ollama_engine.delete("tinyllama:1b")
    assert "tinyllama:1b" not in {m.name for m in await ollama_engine.list_models()}
    with pytest.raises(ModelNotFound) as caught:
        await ollama_engine.delete("tinyllama:1b")
    assert CHAT in caught.value.installed


async def test_pull_error_line_raises_with_ollamas_message(ollama_engine: OllamaEngine) -> None:
    seen: list = []
    with pytest.raises(EngineError) as caught:
        await _pull(ollama_engine, "bad-model", seen)
    assert type(caught.value) is EngineError
    assert "max retries exceeded: unexpected EOF" in str(caught.value)
    assert "bad-model" in str(caught.value)
    assert seen and seen[0].status == "pulling manifest"
    assert any(p.completed for p in seen)
    assert "bad-model:latest" not in {m.name for m in await ollama_engine.list_models()}


async def test_a_server_that_is_not_ollama_is_named(ollama_server: str) -> None:
    engine = OllamaEngine(ollama_settings(f"{ollama_server}/not-ollama"))
    try:
        (event,) = await chat(engine)
        assert isinstance(event, ErrorEvent)
        assert "does not look like Ollama" in str(event.error)
        assert f"{ollama_server}/not-ollama" in str(event.error)
        with pytest.raises(EngineError, match="HTTP 404"):
            await engine.list_models()
    finally:
        await engine.aclose()
