"""The OpenAI-compatible engine against the real llama_cpp.server: the served model, a
streamed answer with stats, an unknown model refused, a server killed mid-answer,
embeddings from MiniLM; and what the endpoint's URL and ``[[openai]]`` table decide
(remoteness, options sent, tools and vision capabilities).
"""

from __future__ import annotations

import math
import os
import signal

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
)
from offyai_tui.engines.errors import (
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
)
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from tests.engines.openai_scripted import (
    HELLO,
    collect,
    engine_for,
    text_of,
)
from tests.llama_server import LlamaServer


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
