"""Regenerate, edit and continue through the turn runner: a real Ollama-protocol server
on loopback (the bundled SmolLM2 behind it), a real transcript, reloaded from disk.

What the engine was sent is read back from the stand-in's ``/_test/state``, so the
tests check the request itself: a regenerate stops at the prompt, a continue ends
with the partial answer as the assistant's open message.
"""

from __future__ import annotations

import json
import urllib.request
from contextlib import aclosing
from typing import Any

import pytest

from bench.servers import free_port
from offyai_tui.chat import ConversationStore
from offyai_tui.engines import bundled
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.turn import AnswerEnded, AnswerText, TurnFailed, TurnRunner
from tests.ollama_fixtures import ollama_settings
from tests.turn.test_runner import collect, saved

pytestmark = pytest.mark.slow


@pytest.fixture
def store() -> Any:
    with ConversationStore.open(Workspace.open("default").ensure()) as opened:
        yield opened


def chat_requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]


def reloaded(live: ConversationStore, conv_id: str) -> Any:
    with ConversationStore.open(live.workspace, read_only=True) as other:
        return other.load(conv_id)


def shape(conv: Any) -> tuple[list[tuple[str, str | None, str, str]], list[str]]:
    """Every message (id, parent, status, text) in order, and the branch shown."""
    tree = [(m.id, m.parent_id, m.status, m.content) for m in conv.tree]
    return tree, [m.id for m in conv.messages]


async def test_regenerate_adds_a_variant_and_sends_only_up_to_the_prompt(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.temperature = 1.0
    engine = OllamaEngine(settings)
    runner = TurnRunner(engine, settings)
    try:
        conv = store.create()
        prompt = conv.add_user("Name a colour.")
        await collect(runner.run(conv))
        first = conv.messages[-1]
        events = await collect(runner.run(conv, regenerate=True))
    finally:
        await engine.aclose()
    second = conv.messages[-1]
    assert isinstance(events[-1], AnswerEnded) and second.status == "complete"
    assert second.id != first.id and second.parent_id == first.parent_id == prompt.id
    assert [m.id for m in conv.messages] == [prompt.id, second.id]
    assert conv.variants(second.id) == (1, 2) and conv.variants(first.id) == (0, 2)
    sent = chat_requests(ollama_server)[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "Name a colour."}  # the old answer not sent
    assert first.content not in json.dumps(sent) or not first.content
    assert shape(reloaded(store, conv.id)) == shape(conv)
    conv.cycle(second.id, -1)
    assert [m.id for m in conv.messages] == [prompt.id, first.id]
    assert shape(reloaded(store, conv.id)) == shape(conv)


async def test_a_regenerate_that_fails_before_its_first_word_leaves_the_answer_shown(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    engine = OllamaEngine(settings)
    down_settings = ollama_settings(f"http://127.0.0.1:{free_port()}")  # nothing listens
    down = OllamaEngine(down_settings)
    try:
        conv = store.create()
        conv.add_user("Name a colour.")
        await collect(TurnRunner(engine, settings).run(conv))
        before = [m.id for m in conv.messages]
        tree = shape(conv)[0]
        events = await collect(TurnRunner(down, down_settings).run(conv, regenerate=True))
    finally:
        await engine.aclose()
        await down.aclose()
    ended = [e for e in events if isinstance(e, AnswerEnded)]
    assert len(ended) == 1 and ended[0].withdrawn
    assert "not running" in ended[0].error and "\n" not in ended[0].error
    assert [m.id for m in conv.messages] == before  # the old answer, still shown
    assert shape(conv)[0] == tree and conv.variants(before[-1]) == (0, 1)
    assert shape(reloaded(store, conv.id)) == shape(conv)


async def test_an_edited_prompt_is_answered_on_its_own_branch(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    engine = OllamaEngine(settings)
    runner = TurnRunner(engine, settings)
    try:
        conv = store.create()
        conv.add_user("Say hi.")
        await collect(runner.run(conv))
        old = conv.add_user("Wrong question")
        await collect(runner.run(conv))
        old_branch = [m.id for m in conv.messages]
        edited = conv.edit_prompt(old.id, "Say bye.")
        await collect(runner.run(conv))
    finally:
        await engine.aclose()
    assert edited.parent_id == old.parent_id and conv.variants(edited.id) == (1, 2)
    assert [m.id for m in conv.messages][:3] == [*old_branch[:2], edited.id]
    assert conv.messages[-1].role == "assistant" and conv.messages[-1].parent_id == edited.id
    sent = chat_requests(ollama_server)[-1]["messages"]
    assert sent[-1] == {"role": "user", "content": "Say bye."}
    assert "Wrong question" not in json.dumps(sent)
    conv.cycle(edited.id)  # wraps around to the old prompt and the answer below it
    assert [m.id for m in conv.messages] == old_branch
    assert shape(reloaded(store, conv.id)) == shape(conv)


async def test_a_stopped_answer_continues_in_place(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "slow-model"
    engine = OllamaEngine(settings)
    try:
        conv = store.create()
        conv.add_user("Tell me a long story about a fox.")
        text = ""
        async with aclosing(TurnRunner(engine, settings).run(conv)) as events:
            async for event in events:
                if isinstance(event, AnswerText):
                    text += event.text
                    if len(text) > 8:
                        break
        answer = conv.messages[-1]
        assert answer.status == "stopped" and answer.content == text
        settings.chat.model = "smollm2:135m"
        events = await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    added = "".join(e.text for e in events if isinstance(e, AnswerText))
    assert added and isinstance(events[-1], AnswerEnded)
    assert conv.messages[-1] is answer and answer.status == "complete"
    assert answer.content == text + added  # the same message grew
    sent = chat_requests(ollama_server)[-1]["messages"]
    assert sent[-1] == {"role": "assistant", "content": text}
    lines = saved(store, conv.id)
    marks = [i for i, e in enumerate(lines) if e["type"] == "continue"]
    assert len(marks) == 1 and lines[marks[0]]["id"] == answer.id
    after = lines[marks[0] + 1 :]  # checkpoints of the new text, then its final line
    assert {e["id"] for e in after} == {answer.id} and after[-1]["type"] == "message"
    assert lines[-1]["content"] == text + added and lines[-1]["status"] == "complete"
    assert len(conv.tree) == 2 and shape(reloaded(store, conv.id)) == shape(conv)


async def test_only_a_cut_short_last_answer_continues(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    engine = OllamaEngine(settings)
    try:
        conv = store.create()
        # Greedy and with room to finish: the first answer ends on its own ("stop"), so
        # this checks the refusal, not whether the model happened to ramble to the limit.
        conv.set_parameter("temperature", 0)
        conv.set_parameter("num_predict", 256)
        conv.add_user("Say hi.")
        await collect(TurnRunner(engine, settings).run(conv))
        answer = conv.messages[-1]
        assert answer.stats["done_reason"] == "stop", answer.stats
        before = store.path_for(conv.id).read_bytes()
        events = await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    assert len(events) == 1 and isinstance(events[0], TurnFailed)
    line = str(events[0].error)
    assert "stopped or cut at the length limit" in line and "\n" not in line
    assert store.path_for(conv.id).read_bytes() == before  # nothing written


async def test_an_answer_cut_at_the_length_limit_continues(
    ollama_server: str, store: ConversationStore
) -> None:
    settings = ollama_settings(ollama_server)
    engine = OllamaEngine(settings)
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 4)
        conv.add_user("Write a long poem about the sea.")
        await collect(TurnRunner(engine, settings).run(conv))
        answer = conv.messages[-1]
        assert answer.stats["done_reason"] == "length" and conv.continue_problem(answer.id) == ""
        text = answer.content
        await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    assert answer.content.startswith(text) and len(answer.content) > len(text)
    assert chat_requests(ollama_server)[-1]["messages"][-1]["content"] == text


async def test_the_embedded_engine_continues_a_length_cut_answer(
    store: ConversationStore,
) -> None:
    settings = Settings()
    settings.llamacpp.n_threads = 2
    engine = LlamaCppEngine(settings)
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 6)
        conv.add_user("Write a long poem about the sea.")
        await collect(TurnRunner(engine, settings).run(conv))
        answer = conv.messages[-1]
        assert answer.stats["done_reason"] == "length" and conv.continue_problem(answer.id) == ""
        text = answer.content
        events = await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    added = "".join(e.text for e in events if isinstance(e, AnswerText))
    assert added and isinstance(events[-1], AnswerEnded) and not events[-1].error
    assert conv.messages[-1] is answer and answer.content == text + added
    assert len(conv.tree) == 2 and shape(reloaded(store, conv.id)) == shape(conv)


async def test_a_continue_the_model_refuses_leaves_the_answer_as_it_was(
    store: ConversationStore,
) -> None:
    settings = Settings()
    settings.llamacpp.n_threads = 2
    settings.chat.model = bundled.GEMMA3  # run in the named gemma format: no continue
    engine = LlamaCppEngine(settings)
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 3)
        conv.add_user("Name a colour.")
        await collect(TurnRunner(engine, settings).run(conv))
        answer = conv.messages[-1]
        before = (answer.content, answer.status, dict(answer.stats))
        assert answer.stats["done_reason"] == "length"
        events = await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    ended = events[-1]
    assert isinstance(ended, AnswerEnded) and "gemma chat format" in ended.error
    assert (answer.content, answer.status, answer.stats) == before and not answer.error
    assert conv.continue_problem(answer.id) == ""  # still one to continue elsewhere
    assert shape(reloaded(store, conv.id)) == shape(conv)


async def test_an_engine_that_cannot_continue_says_so_in_one_line(
    llama_server: Any, store: ConversationStore
) -> None:
    settings = Settings()
    engine = OpenAICompatEngine(OpenAIEndpoint(name="llama-server", url=llama_server.url), settings)
    try:
        conv = store.create()
        conv.set_parameter("num_predict", 3)
        conv.add_user("Write a long poem about the sea.")
        await collect(TurnRunner(engine, settings).run(conv))
        answer = conv.messages[-1]
        text = answer.content
        events = await collect(TurnRunner(engine, settings).run(conv, continuing=answer.id))
    finally:
        await engine.aclose()
    assert len(events) == 1 and isinstance(events[0], TurnFailed)
    assert isinstance(events[0].error, Unsupported)
    assert "cannot continue an answer" in str(events[0].error)
    assert answer.content == text and conv.active_reply is None
