"""One contract, every engine: the same behaviour through Ollama, OpenAI-compatible and llama.cpp.

Each engine runs against a real peer: the Ollama-protocol server and the real
``llama_cpp.server`` both generate with the bundled SmolLM2, and the llama.cpp
engine runs it in its worker process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from offyai_tui.config import OpenAIEndpoint, Settings
from offyai_tui.engines.base import ChatOptions, Done, Engine, ErrorEvent, Message, TextDelta
from offyai_tui.engines.errors import ModelNotFound
from tests.ollama_fixtures import ollama_settings

ENGINES = ["llamacpp", "openai", "ollama"]
PROMPT = [Message("user", "Name three colours.")]


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    kind = request.param
    if kind == "ollama":
        url = request.getfixturevalue("ollama_server")
        from offyai_tui.engines.ollama import OllamaEngine

        built: Engine = OllamaEngine(ollama_settings(url))
    elif kind == "openai":
        server = request.getfixturevalue("llama_server")
        from offyai_tui.engines.openai_compat import OpenAICompatEngine

        built = OpenAICompatEngine(OpenAIEndpoint(name="llama-server", url=server.url), Settings())
    else:
        from offyai_tui.engines.llamacpp import LlamaCppEngine

        settings = Settings()
        settings.llamacpp.n_threads = 1
        built = LlamaCppEngine(settings)
    yield built
    await built.aclose()


async def _collect(engine: Engine, options: ChatOptions) -> list[object]:
    return [event async for event in engine.stream_chat(PROMPT, options)]


async def test_health_and_models(engine: Engine) -> None:
    health = await engine.health()
    assert health.ok, health.detail
    models = await engine.list_models()
    assert models and all(m.name for m in models)
    default = await engine.default_model()
    assert default in {m.name for m in models}
    assert not engine.is_remote


async def test_stream_yields_text_then_exactly_one_done(engine: Engine) -> None:
    model = await engine.default_model()
    events = await _collect(engine, ChatOptions(model=model, num_predict=12, temperature=0))
    assert isinstance(events[-1], Done), events[-1]
    assert not any(isinstance(e, (Done, ErrorEvent)) for e in events[:-1])
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    stats = events[-1].stats
    assert 0 < stats.completion_tokens <= 13
    assert stats.tokens_per_s > 0 and stats.ttft_s > 0
    assert stats.done_reason in {"stop", "length"}


async def test_num_predict_limits_the_answer(engine: Engine) -> None:
    model = await engine.default_model()
    events = await _collect(engine, ChatOptions(model=model, num_predict=4, temperature=0))
    done = events[-1]
    assert isinstance(done, Done)
    assert done.stats.done_reason == "length"
    assert done.stats.completion_tokens <= 5


async def test_unknown_model_is_one_error_listing_installed(engine: Engine) -> None:
    events = await _collect(engine, ChatOptions(model="no-such-model-xyz", num_predict=4))
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    error = events[0].error
    assert isinstance(error, ModelNotFound)
    assert "no-such-model-xyz" in str(error)
    installed = {m.name for m in await engine.list_models()}
    assert set(error.installed) & installed


async def test_stopping_early_then_next_request_works(engine: Engine) -> None:
    model = await engine.default_model()
    stream = engine.stream_chat(PROMPT, ChatOptions(model=model, num_predict=64))
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    events = await _collect(engine, ChatOptions(model=model, num_predict=6, temperature=0))
    assert isinstance(events[-1], Done)


async def test_load_then_unload_where_supported(engine: Engine) -> None:
    model = await engine.default_model()
    if not engine.IMPLEMENTS_LOAD:
        from offyai_tui.engines.errors import Unsupported

        with pytest.raises(Unsupported):
            await engine.load(model)
        return
    await engine.load(model)
    assert model in {m.name for m in await engine.loaded()}
    await engine.unload(model)
    assert model not in {m.name for m in await engine.loaded()}
