"""One contract, every engine: the same behaviour through Ollama, OpenAI-compatible and llama.cpp.

The engine-neutral checks are the kit in :mod:`offyai_tui.engines.contract`, which
plugin authors run against their own engines; the wire checks below are the built-ins'.

Each engine runs against a real peer: the Ollama-protocol server and the real
``llama_cpp.server`` both generate with the bundled SmolLM2, and the llama.cpp
engine runs it in its worker process.

Message parts (images, tool calls and results, tool definitions, earlier
reasoning) are part of the contract: each engine puts them on its wire in its
server's format, checked on the request the real server received (the Ollama
stand-in records them; a recording proxy sits in front of ``llama_cpp.server``,
whose schema validation then proves the format), or refuses the request with
one ``Unsupported`` line before any model runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from offyai_tui.chat.attachments import store_attachment
from offyai_tui.engines.base import ChatOptions, Done, Engine, ErrorEvent, Message
from offyai_tui.engines.contract import CHECKS, Check
from offyai_tui.engines.errors import AttachmentUnavailable, Unsupported
from offyai_tui.engines.parts import ToolCall, ToolSpec
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from tests.capture_proxy import CaptureProxy
from tests.images import png
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


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
async def test_contract_kit(engine: Engine, check: Check) -> None:
    """The kit plugin authors run (offyai_tui.engines.contract), on every built-in engine."""
    await check(engine)


async def test_builtin_engines_run_on_this_machine(engine: Engine) -> None:
    assert not engine.is_remote


# -- message parts: each engine sends them on its wire, or refuses before generating -----


@dataclass
class Wired:
    """An engine and a way to read the last chat request it sent (None: no HTTP wire)."""

    engine: Engine
    sent: Callable[[], Awaitable[dict[str, Any] | None]]


@pytest.fixture(params=ENGINES)
async def wired(request: pytest.FixtureRequest) -> AsyncIterator[Wired]:
    kind = request.param
    if kind == "ollama":
        url = request.getfixturevalue("ollama_server")
        from offyai_tui.engines.ollama import OllamaEngine

        async def ollama_sent() -> dict[str, Any] | None:
            async with httpx.AsyncClient(trust_env=False) as client:
                state = (await client.get(f"{url}/_test/state")).json()
            return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]

        engine: Engine = OllamaEngine(ollama_settings(url))
        yield Wired(engine, ollama_sent)
        await engine.aclose()
    elif kind == "openai":
        server = request.getfixturevalue("llama_server")
        from offyai_tui.engines.openai_compat import OpenAICompatEngine

        async with CaptureProxy(server.url) as proxy:

            async def openai_sent() -> dict[str, Any] | None:
                return proxy.bodies("/chat/completions")[-1]

            endpoint = OpenAIEndpoint(name="llama-server", url=proxy.url)
            engine = OpenAICompatEngine(endpoint, Settings())
            yield Wired(engine, openai_sent)
            await engine.aclose()
    else:
        from offyai_tui.engines.llamacpp import LlamaCppEngine

        async def nothing() -> None:
            return None

        settings = Settings()
        settings.llamacpp.n_threads = 1
        engine = LlamaCppEngine(settings)
        yield Wired(engine, nothing)
        await engine.aclose()


async def _events(engine: Engine, messages: list[Message], **options: Any) -> list[object]:
    model = await engine.default_model()
    opts = ChatOptions(model=model, num_predict=4, temperature=0, **options)
    return [event async for event in engine.stream_chat(messages, opts)]


def _refused_before_generating(engine: Engine, events: list[object], *words: str) -> None:
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    error = events[0].error
    assert isinstance(error, Unsupported) and error.title == "Not supported"
    assert all(word in str(error) for word in words), str(error)
    assert "\n" not in str(error)
    assert getattr(engine, "worker_pid", None) is None  # no model process was even started


async def test_text_messages_keep_their_wire_form_and_thinking_never_goes_back(
    wired: Wired,
) -> None:
    messages = [
        Message("system", "Be brief."),
        Message("user", "Name a colour."),
        Message("assistant", "Red.", thinking="The user wants one colour."),
        Message("user", "Another?"),
    ]
    events = await _events(wired.engine, messages)
    assert isinstance(events[-1], Done), events[-1]
    body = await wired.sent()
    if wired.engine.kind == "llamacpp":
        return  # the worker gets role + text; the answer above proves it took them
    assert body is not None
    plain = [{"role": m.role, "content": m.content} for m in messages]
    assert body["messages"] == plain  # no engine sends reasoning back, Ollama included
    assert "The user wants" not in json.dumps(body)
    assert "tools" not in body


async def test_an_image_reaches_the_wire_or_is_refused(wired: Wired, tmp_path: Path) -> None:
    data = png(3, 2)
    stored = store_attachment(tmp_path, data, name="red.png")
    image = stored.ref(tmp_path)
    events = await _events(wired.engine, [Message("user", "What is this?", images=(image,))])
    if wired.engine.kind == "llamacpp":
        model = await wired.engine.default_model()
        _refused_before_generating(wired.engine, events, "projector", model)
        return
    body = await wired.sent()
    assert body is not None
    encoded = base64.b64encode(data).decode()
    if wired.engine.kind == "ollama":
        assert body["messages"] == [
            {"role": "user", "content": "What is this?", "images": [encoded]}
        ]
        assert isinstance(events[-1], Done)
        return
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}},
            ],
        }
    ]
    # SmolLM2's template takes text only: the real server gives up once the stream has
    # started, which reaches the caller as one error line with no text.
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    assert events[0].partial_text == "" and "\n" not in str(events[0].error)


async def test_a_vanished_attachment_is_one_line_before_anything_is_sent(
    wired: Wired, tmp_path: Path
) -> None:
    stored = store_attachment(tmp_path, png(), name="gone.png")
    stored.path(tmp_path).unlink()
    events = await _events(
        wired.engine, [Message("user", "And this?", images=(stored.ref(tmp_path),))]
    )
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    if wired.engine.kind == "llamacpp":
        assert isinstance(events[0].error, Unsupported)  # refused before reading any file
        return
    error = events[0].error
    assert isinstance(error, AttachmentUnavailable) and error.title == "Attachment unavailable"
    assert str(error) == "the attached image gone.png is no longer in the workspace's attachments"


async def test_tool_calls_results_and_tools_reach_the_wire_or_are_refused(wired: Wired) -> None:
    call = ToolCall("call_7", "get_weather", {"city": "Zürich", "days": 2})
    weather = ToolSpec(
        "get_weather",
        "Weather forecast for a city",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    messages = [
        Message("user", "Weather in Zürich?"),
        Message("assistant", "", tool_calls=(call,)),
        Message.tool_result(call, "Sunny, 21 °C"),
    ]
    events = await _events(wired.engine, messages, tools=(weather,))
    if wired.engine.kind == "llamacpp":
        _refused_before_generating(wired.engine, events, "tools")
        history_only = await _events(wired.engine, messages)
        _refused_before_generating(wired.engine, history_only, "tool calls")
        return
    assert isinstance(events[-1], Done), events[-1]  # the real server accepted the request
    body = await wired.sent()
    assert body is not None
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather forecast for a city",
                "parameters": weather.parameters,
            },
        }
    ]
    user, assistant, result = body["messages"]
    assert user == {"role": "user", "content": "Weather in Zürich?"}
    if wired.engine.kind == "ollama":
        assert assistant == {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_7", "function": {"name": "get_weather", "arguments": call.arguments}}
            ],
        }
        assert result == {
            "role": "tool",
            "content": "Sunny, 21 °C",
            "tool_name": "get_weather",
            "tool_call_id": "call_7",
        }
        return
    assert assistant["tool_calls"] == [
        {
            "id": "call_7",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps(call.arguments)},
        }
    ]
    assert result == {
        "role": "tool",
        "tool_call_id": "call_7",
        "content": "Sunny, 21 °C",
        "name": "get_weather",
    }
