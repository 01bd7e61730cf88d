"""Thinking and tool calls streamed by servers become ``ThinkingDelta`` and ``ToolCallEvent``.

Ollama's side runs against the loopback stand-in (``tools-model`` streams a
scripted ``message.tool_calls`` line, cut into 1-7 byte writes like every line
it sends). The OpenAI side plays a scripted SSE stream over a real socket: the
real ``llama_cpp.server`` cannot be made to emit tool calls with SmolLM2, and
the interesting part (fragments keyed by index, arguments in pieces, cut at
awkward bytes) is what scripting exercises.
"""

from __future__ import annotations

import json

from offyai_tui.chat import ConversationStore, TokenCounter
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    ErrorEvent,
    Message,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
)
from offyai_tui.engines.errors import StreamInterrupted
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.ollama_lines import ChatTurn
from offyai_tui.engines.parts import ToolCall
from offyai_tui.settings.workspace import Workspace
from tests.engines.openai_scripted import Route, ScriptedServer, engine_for, scripted, sse

__all__ = ["scripted"]  # the fixture, imported for pytest

ASK = [Message("user", "Weather in Zürich, and the time?")]


async def test_ollama_tool_calls_become_events_before_done(ollama_engine: OllamaEngine) -> None:
    options = ChatOptions(model="tools-model", num_predict=4)
    events = [event async for event in ollama_engine.stream_chat(ASK, options)]
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [
        ToolCall("call_weather_1", "get_weather", {"city": "Zürich", "days": 2}),
        ToolCall("call_1", "get_time", {}),  # no id from the server: one is made up
    ]
    assert isinstance(events[-1], Done) and events[-1].stats.done_reason == "stop"
    assert not any(isinstance(e, (TextDelta, ErrorEvent)) for e in events)


async def test_a_reply_ignores_tool_calls_and_keeps_thinking_apart(
    ollama_engine: OllamaEngine,
) -> None:
    """Today's consumers: the chat's reply handle skips events it does not use."""
    store = ConversationStore.open(Workspace.open("default").ensure())
    for model in ("tools-model", "thinking-model"):
        conv = store.create(model=model)
        conv.add_user("Weather?")
        handle = await conv.start_reply(TokenCounter(ollama_engine, model))
        handle.options.num_predict = 4
        async for event in ollama_engine.stream_chat(handle.messages, handle.options):
            if handle.apply(event):
                break
        assert handle.message.status == "complete"
        if model == "tools-model":
            assert handle.message.content == "" and handle.message.thinking == ""
        else:
            assert handle.message.thinking == "Je réfléchis… naïve idée 🤔 — 日本語 ok"
            assert "réfléchis" not in handle.message.content and handle.message.content
    store.close()


def test_ollama_tool_call_lines_that_make_no_sense_end_the_answer() -> None:
    turn = ChatTurn(model="m")
    assert [type(e) for e in turn.on_line({"message": {"content": "Hi"}})] == [TextDelta]
    for bad in ({"tool_calls": {"x": 1}}, {"tool_calls": [{"function": {"arguments": {}}}]}):
        events = ChatTurn(model="m").on_line({"message": {"content": "", **bad}})
        assert isinstance(events[-1], ErrorEvent)
        assert isinstance(events[-1].error, StreamInterrupted)
    events = turn.on_line(
        {"message": {"content": "", "tool_calls": [{"function": {"name": "f", "arguments": "{"}}]}}
    )
    assert events == [ToolCallEvent(ToolCall("call_0", "f", {}))]
    assert events[0].call.raw_arguments == "{"  # kept so the model can be told what was wrong


def _tool_delta(index: int, *, id: str = "", name: str = "", args: str = "") -> dict:
    fragment: dict = {"index": index, "function": {}}
    if id:
        fragment |= {"id": id, "type": "function"}
    if name:
        fragment["function"]["name"] = name
    if args:
        fragment["function"]["arguments"] = args
    return {"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}, "finish_reason": None}]}


async def test_openai_streamed_tool_call_fragments_are_assembled(
    scripted: ScriptedServer,
) -> None:
    body = b"".join(
        sse(
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
            {"choices": [{"index": 0, "delta": {"reasoning_content": "Two tools needed."}}]},
            _tool_delta(0, id="call_a", name="get_weather"),
            _tool_delta(1, id="call_b", name="get_time", args=""),
            _tool_delta(0, args='{"city": "Z\u00fcr'),
            _tool_delta(1, args="{}"),
            _tool_delta(0, args='ich", "days": 2}'),
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            "[DONE]",
        )
    )
    scripted.routes["POST /v1/chat/completions"] = Route(
        script=[body[i : i + 5] for i in range(0, len(body), 5)]  # cuts through "ü" too
    )
    engine = engine_for(scripted.url, model="tiny")
    try:
        events: list[ChatEvent] = [e async for e in engine.stream_chat(ASK, ChatOptions())]
    finally:
        await engine.aclose()
    assert [type(e) for e in events] == [ThinkingDelta, ToolCallEvent, ToolCallEvent, Done]
    assert [e.call for e in events if isinstance(e, ToolCallEvent)] == [
        ToolCall("call_a", "get_weather", {"city": "Zürich", "days": 2}),
        ToolCall("call_b", "get_time", {}),
    ]
    assert events[-1].stats.done_reason == "tool_calls"
    assert json.loads(json.dumps(scripted.requests[-1].body))["messages"] == [
        {"role": "user", "content": ASK[0].content}
    ]


async def test_openai_tool_call_with_broken_arguments_keeps_them_raw(
    scripted: ScriptedServer,
) -> None:
    scripted.routes["POST /v1/chat/completions"] = Route(
        script=sse(
            _tool_delta(0, name="get_weather", args='{"city": '),
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            "[DONE]",
        )
    )
    engine = engine_for(scripted.url, model="tiny")
    try:
        events = [e async for e in engine.stream_chat(ASK, ChatOptions())]
    finally:
        await engine.aclose()
    call = events[0].call  # type: ignore[union-attr]
    assert (call.id, call.name, call.arguments, call.raw_arguments) == (
        "call_0", "get_weather", {}, '{"city": ',
    )  # fmt: skip
    assert isinstance(events[-1], Done) and len(events) == 2
