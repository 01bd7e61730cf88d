"""The turn runner without Textual: a real Ollama-protocol server on loopback, a real
transcript, and the events a surface would draw.

The stand-in (``tests/ollama_server.py``) runs the bundled SmolLM2 behind every chat
model; ``tools-model`` asks for two tools and, once their results are in, answers
from the model; ``slow-model`` streams slowly enough to stop mid-answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import pytest

from offyai_tui.chat import ConversationStore
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.parts import ToolCall, ToolSpec
from offyai_tui.settings.workspace import Workspace
from offyai_tui.turn import (
    AnswerEnded,
    AnswerStarted,
    AnswerText,
    ContextPlanned,
    ToolDecided,
    ToolFinished,
    ToolRequested,
    TurnFailed,
    TurnRunner,
)
from tests.ollama_fixtures import ollama_settings

pytestmark = pytest.mark.slow


@dataclass
class Info:
    server: str
    description: str
    policy: str


@dataclass
class Result:
    text: str
    is_error: bool = False

    def for_model(self) -> str:
        return self.text


class WeatherTools:
    """Two tools with fixed answers: the runner's side of tools is what is tested here."""

    def __init__(self, policy: str = "ask") -> None:
        self.policy = policy
        self.ran: list[str] = []

    async def specs(self) -> tuple[ToolSpec, ...]:
        return (ToolSpec("get_weather", "Weather in a city"), ToolSpec("get_time", "The time"))

    def describe(self, call: ToolCall) -> Info:
        return Info("builtin", f"about {call.name}", self.policy)

    def decide(self, call: ToolCall, grants: Any) -> str:
        if self.policy == "deny":
            return "deny"
        return "run" if self.policy == "allow" or call.name in grants else "ask"

    async def call(self, call: ToolCall) -> Result:
        self.ran.append(call.name)
        return Result("12 °C, light rain" if call.name == "get_weather" else "14:05")

    def deny(self, call: ToolCall, reason: str = "") -> Result:
        return Result(f"the user denied running {call.name}", is_error=True)


@pytest.fixture
def store() -> Any:
    with ConversationStore.open(Workspace.open("default").ensure()) as opened:
        yield opened


async def collect(events: AsyncIterator[Any], answers: dict[str, str] | None = None) -> list:
    seen = []
    async with aclosing(events) as stream:
        async for event in stream:
            seen.append(event)
            if isinstance(event, ToolRequested):
                event.respond((answers or {}).get(event.call.name, "deny"))  # type: ignore
    return seen


def saved(store: ConversationStore, conv_id: str) -> list[dict[str, Any]]:
    path = store.workspace.chats_dir / f"{conv_id}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_one_answer_streams_into_the_transcript(ollama_server: str, store) -> None:
    settings = ollama_settings(ollama_server)
    engine = OllamaEngine(settings)
    try:
        conversation = store.create()
        conversation.add_user("Say hello.")
        events = await collect(TurnRunner(engine, settings).run(conversation))
    finally:
        await engine.aclose()
    kinds = [type(e) for e in events]
    assert kinds[:2] == [AnswerStarted, ContextPlanned] and kinds[-1] is AnswerEnded
    text = "".join(e.text for e in events if isinstance(e, AnswerText))
    ended = events[-1]
    assert text and ended.message.content == text and ended.message.status == "complete"
    assert ended.stats is not None and ended.stats.completion_tokens > 0 and not ended.more
    last = [e for e in saved(store, conversation.id) if e.get("role") == "assistant"][-1]
    assert last["content"] == text and last["status"] == "complete"


async def test_tools_are_asked_run_or_denied_and_the_model_answers_after(
    ollama_server: str, store
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "tools-model"
    engine = OllamaEngine(settings)
    tools = WeatherTools()
    try:
        conversation = store.create()
        conversation.add_user("Weather and time in Zürich?")
        events = await collect(TurnRunner(engine, settings, tools=tools).run(conversation),
                               {"get_weather": "once", "get_time": "deny"})
    finally:
        await engine.aclose()
    asked = [e.call.name for e in events if isinstance(e, ToolRequested)]
    assert asked == ["get_weather", "get_time"]
    assert [(e.call.name, e.allowed, e.by) for e in events if isinstance(e, ToolDecided)] == [
        ("get_weather", True, "user"), ("get_time", False, "user")]
    assert tools.ran == ["get_weather"]  # the denied call never ran
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [e.is_error for e in finished] == [False, True]
    ends = [e for e in events if isinstance(e, AnswerEnded)]
    assert [e.more for e in ends] == [True, False]
    assert ends[-1].message.status == "complete" and ends[-1].message.content
    roles = [(e["role"], e.get("name", "")) for e in saved(store, conversation.id)
             if e.get("type") == "message"]
    assert roles[-4:] == [("assistant", ""), ("tool", "get_weather"), ("tool", "get_time"),
                          ("assistant", "")]
    results = [e["content"] for e in saved(store, conversation.id) if e.get("role") == "tool"]
    assert results == ["12 °C, light rain", "the user denied running get_time"]


async def test_allowing_for_the_conversation_stops_asking(ollama_server: str, store) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "tools-model"
    engine = OllamaEngine(settings)
    tools = WeatherTools()
    runner = TurnRunner(engine, settings, tools=tools)
    try:
        conversation = store.create()
        conversation.add_user("Weather?")
        first = await collect(runner.run(conversation),
                              {"get_weather": "conversation", "get_time": "conversation"})
        conversation.add_user("And now?")
        second = await collect(runner.run(conversation))
    finally:
        await engine.aclose()
    assert len([e for e in first if isinstance(e, ToolRequested)]) == 2
    assert not [e for e in second if isinstance(e, ToolRequested)]
    assert {e.by for e in second if isinstance(e, ToolDecided)} == {"conversation"}
    assert tools.ran == ["get_weather", "get_time"] * 2


async def test_a_deny_policy_never_asks_and_never_runs(ollama_server: str, store) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "tools-model"
    engine = OllamaEngine(settings)
    tools = WeatherTools(policy="deny")
    try:
        conversation = store.create()
        conversation.add_user("Weather?")
        events = await collect(TurnRunner(engine, settings, tools=tools).run(conversation))
    finally:
        await engine.aclose()
    assert not [e for e in events if isinstance(e, ToolRequested)]
    assert tools.ran == []
    assert {(e.allowed, e.by) for e in events if isinstance(e, ToolDecided)} == {
        (False, "policy")}


async def test_the_last_round_offers_no_tools(ollama_server: str, store) -> None:
    """A model that would call tools forever gets a round without them and must answer."""
    settings = ollama_settings(ollama_server)
    settings.chat.model = "tools-model"
    engine = OllamaEngine(settings)
    try:
        conversation = store.create()
        conversation.add_user("Weather?")
        runner = TurnRunner(engine, settings, tools=WeatherTools("allow"), max_tool_rounds=1)
        events = await collect(runner.run(conversation))
    finally:
        await engine.aclose()
    started = [e for e in events if isinstance(e, AnswerStarted)]
    assert [bool(e.handle.options.tools) for e in started] == [True, False]
    assert events[-1].message.status == "complete"


async def test_a_model_without_tools_is_offered_none(ollama_server: str, store) -> None:
    settings = ollama_settings(ollama_server)  # its chat model lists no "tools" capability
    engine = OllamaEngine(settings)
    try:
        conversation = store.create()
        conversation.add_user("Weather?")
        events = await collect(TurnRunner(engine, settings, tools=WeatherTools()).run(
            conversation))
    finally:
        await engine.aclose()
    started = [e for e in events if isinstance(e, AnswerStarted)]
    assert [e.handle.options.tools for e in started] == [()]
    assert events[-1].message.status == "complete"


async def test_closing_the_turn_mid_answer_keeps_the_text_as_stopped(
    ollama_server: str, store
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "slow-model"
    engine = OllamaEngine(settings)
    try:
        conversation = store.create()
        conversation.add_user("Tell me a long story.")
        text = ""
        async with aclosing(TurnRunner(engine, settings).run(conversation)) as events:
            async for event in events:
                if isinstance(event, AnswerText):
                    text += event.text
                    if len(text) > 5:
                        break
    finally:
        await engine.aclose()
    answer = conversation.messages[-1]
    assert answer.status == "stopped" and answer.content == text
    last = [e for e in saved(store, conversation.id) if e.get("id") == answer.id][-1]
    assert last["status"] == "stopped" and last["content"] == text
    assert conversation.active_reply is None  # the next turn may start


async def test_a_missing_model_fails_the_turn_in_one_line(ollama_server: str, store) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "no-such-model"
    engine = OllamaEngine(settings)
    try:
        conversation = store.create()
        conversation.add_user("Hello?")
        events = await collect(TurnRunner(engine, settings).run(conversation))
    finally:
        await engine.aclose()
    ended = events[-1]
    assert isinstance(ended, (AnswerEnded, TurnFailed))
    line = ended.error if isinstance(ended, AnswerEnded) else str(ended.error)
    assert "no-such-model" in line and "\n" not in line


async def test_no_engine_fails_with_the_reason(store) -> None:
    from offyai_tui.settings.config import Settings

    conversation = store.create()
    conversation.add_user("Hello?")
    events = await collect(TurnRunner(None, Settings(), reason="Ollama is not running")
                           .run(conversation))
    assert len(events) == 1 and isinstance(events[0], TurnFailed)
    assert "Ollama is not running" in str(events[0].error)


def test_the_runner_is_headless() -> None:
    import subprocess
    import sys

    code = ("import sys, offyai_tui.turn, offyai_tui.commands.ask\n"
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
