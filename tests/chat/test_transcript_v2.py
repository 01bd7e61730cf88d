"""Transcript format 2: parent links, variants as a tree, the shown branch, v1 files kept whole.

The v1 files in ``fixtures/v1/`` were written by the format-1 code with real
engines (``fixtures/make_v1.py``), next to what that code loaded from them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, read_transcript
from offyai_tui.chat.transcript import encode_event, parse_transcript
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.parts import ToolCall
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from tests.chat.conftest import FakeClock

V1 = Path(__file__).parent / "fixtures" / "v1"
FIXTURES = sorted(p.stem for p in V1.glob("*.jsonl"))
HEADER = {"type": "header", "v": 2, "id": "c1", "title": "T", "created": "2026", "mode": "default"}


def test_the_fixtures_are_what_format_1_wrote() -> None:
    assert FIXTURES == ["chat", "documents", "error_retry", "interrupted", "stopped", "thinking"]
    kinds = set()
    for name in FIXTURES:
        for line in (V1 / f"{name}.jsonl").read_bytes().splitlines():
            event = json.loads(line)
            kinds.add(event["type"])
            assert "parent_id" not in event
            assert event["type"] != "header" or event["v"] == 1
    assert kinds == {
        "header", "message", "checkpoint", "edit", "title", "mode", "params", "deleted", "clear",
    }  # fmt: skip: every event format 1 has


@pytest.mark.parametrize("name", FIXTURES)
def test_every_v1_file_loads_as_the_format_1_reader_loaded_it(name: str) -> None:
    expected = json.loads((V1 / f"{name}.expected.json").read_text(encoding="utf-8"))
    data = read_transcript(V1 / f"{name}.jsonl")
    loaded = {key: getattr(data, key) for key in expected if key != "messages"}
    assert loaded == {key: value for key, value in expected.items() if key != "messages"}
    assert len(data.messages) == len(expected["messages"])
    for message, old in zip(data.messages, expected["messages"]):
        assert {key: value for key, value in asdict(message).items() if key in old} == old
    # Format 1 was a flat list: each message follows the one before it, with no variant.
    assert [m.parent_id for m in data.messages] == [None] + [m.id for m in data.messages[:-1]]
    assert len(data.tree) == len(data.messages)


@pytest.fixture(scope="module")
def engine() -> Any:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    built = LlamaCppEngine(settings)
    yield built
    built.close()


async def _answer(conv: Any, engine: LlamaCppEngine) -> None:
    model = await engine.default_model()
    handle = await conv.start_reply(TokenCounter(engine, model), model=model)
    handle.options.num_predict = 4
    handle.options.temperature = 0.0
    async for event in engine.stream_chat(handle.messages, handle.options):
        if handle.apply(event):
            break
    assert handle.message.status == "complete", handle.message.error


@pytest.mark.parametrize("name", FIXTURES)
async def test_a_v1_file_is_only_appended_to_and_its_new_lines_are_v2(
    name: str, engine: LlamaCppEngine
) -> None:
    workspace = Workspace.open("default").ensure()
    original = (V1 / f"{name}.jsonl").read_bytes()
    path = workspace.chats_dir / f"20260101-000000-000-{name.replace('_', '')[:6]:0<6}.jsonl"
    shutil.copyfile(V1 / f"{name}.jsonl", path)
    with ConversationStore.open(workspace) as store:
        conv = store.load(path.stem)
        before = [m.id for m in conv.messages]
        conv.add_user("One more thing.")
        await _answer(conv, engine)
    written = path.read_bytes()
    assert written.startswith(original)  # never rewritten in place
    new_lines = [json.loads(line) for line in written[len(original) :].splitlines()]
    assert new_lines and all("parent_id" in e for e in new_lines if e["type"] != "deleted")
    user, *_, answer = new_lines
    assert user["parent_id"] == before[-1]
    assert answer["parent_id"] == user["id"] and answer["status"] == "complete"
    data = read_transcript(path)
    assert data.version == 1 and data.warnings == []
    assert [m.id for m in data.messages] == [*before, user["id"], answer["id"]]
    assert [m.parent_id for m in data.messages[1:]] == [m.id for m in data.messages[:-1]]


def _msg(msg_id: str, parent: str | None, role: str = "user", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": msg_id,
        "parent_id": parent,
        "role": role,
        "status": "complete",
        "content": f"text of {msg_id}",
    } | extra


def _load(*events: dict[str, Any]) -> Any:
    return parse_transcript(b"".join(encode_event(e) for e in (HEADER, *events)), "c1")


def _ids(data: Any) -> list[str]:
    return [m.id for m in data.messages]


def test_variants_form_a_tree_and_the_last_added_leaf_is_shown() -> None:
    events = [
        _msg("u1", None),
        _msg("a1", "u1", "assistant"),
        _msg("a1b", "u1", "assistant"),  # a regenerated answer
    ]
    data = _load(*events)
    assert _ids(data) == ["u1", "a1b"] and data.warnings == []
    assert [m.id for m in data.tree.children("u1")] == ["a1", "a1b"]
    # An edited first question is a second root; what follows it is its own line.
    data = _load(*events, _msg("u1e", None), _msg("a2", "u1e", "assistant"))
    assert _ids(data) == ["u1e", "a2"] and len(data.tree) == 5


def test_shown_picks_a_branch_and_follows_its_latest_replies() -> None:
    events = [
        _msg("u1", None),
        _msg("a1", "u1", "assistant"),
        _msg("u2", "a1"),
        _msg("a2", "u2", "assistant"),
        _msg("a1b", "u1", "assistant"),
    ]
    assert _ids(_load(*events)) == ["u1", "a1b"]
    assert _ids(_load(*events, {"type": "shown", "id": "a1"})) == ["u1", "a1", "u2", "a2"]
    assert _ids(_load(*events, {"type": "shown", "id": "u1"})) == ["u1", "a1b"]
    later = [{"type": "shown", "id": "a1"}, _msg("u3", "a1b")]  # a message added after wins
    assert _ids(_load(*events, *later)) == ["u1", "a1b", "u3"]
    data = _load(*events, {"type": "shown", "id": "nope"})
    assert _ids(data) == ["u1", "a1b"] and "shown names an unknown message" in data.warnings[0]


def test_deleting_keeps_the_rest_connected_and_the_branch_sensible() -> None:
    events = [_msg("u1", None), _msg("a1", "u1", "assistant"), _msg("u2", "a1")]
    assert _ids(_load(*events, {"type": "deleted", "id": "a1"})) == ["u1", "u2"]
    assert _ids(_load(*events, {"type": "deleted", "id": "u2"})) == ["u1", "a1"]
    data = _load(*events, {"type": "deleted", "id": "u1"})
    assert _ids(data) == ["a1", "u2"] and data.messages[0].parent_id is None


def test_lines_that_make_no_sense_are_skipped_with_a_warning() -> None:
    data = _load(
        _msg("u1", None),
        _msg("a1", "ghost", "assistant"),  # parent never written (torn line?)
        _msg("u2", "a1", images=[{"sha256": "x", "mime": "image/png", "file": "../../etc/x"}]),
        _msg("u3", 7),
    )
    assert _ids(data) == ["u1", "a1", "u2"]
    assert data.messages[1].parent_id == "u1"
    assert data.messages[2].images == []  # the message is kept, the bad reference is not
    assert len(data.warnings) == 3
    assert "parent is missing" in data.warnings[0]
    assert "bad attachment reference '../../etc/x'" in data.warnings[1]
    assert "bad message event skipped (parent_id is not a string)" in data.warnings[2]


async def test_an_interrupted_v2_answer_keeps_its_place(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = store.create()
    user = conv.add_user("Hi")
    handle = await conv.start_reply(TokenCounter(), model="smol")
    handle.append("Hel")
    clock.advance(2)
    handle.append("lo")  # checkpointed, then the app "dies": no final line
    data = read_transcript(store.path_for(conv.id))
    answer = data.messages[-1]
    assert (answer.status, answer.content, answer.parent_id) == ("interrupted", "Hello", user.id)
    lines = store.path_for(conv.id).read_bytes().splitlines()
    assert json.loads(lines[-1])["parent_id"] == user.id  # each checkpoint knows its place
    with ConversationStore.open(store.workspace, read_only=True) as other:
        assert [m.id for m in other.load(conv.id).messages] == [user.id, answer.id]


def test_show_is_stored_and_reloads_to_the_same_branch(store: ConversationStore) -> None:
    conv = store.create()
    path = store.path_for(conv.id)
    conv.add_user("first")
    path.write_bytes(
        path.read_bytes()
        + encode_event(_msg("a1", conv.messages[0].id, "assistant"))
        + encode_event(_msg("a1b", conv.messages[0].id, "assistant"))
    )
    store._live.clear()
    conv = store.load(conv.id)
    assert [m.id for m in conv.messages][1:] == ["a1b"]
    assert [m.id for m in conv.show("a1")][1:] == ["a1"]
    follow_up = conv.add_user("go on")
    assert follow_up.parent_id == "a1"
    conv.delete_message(follow_up.id)
    assert [m.id for m in conv.messages][1:] == ["a1"]
    shown = [m.id for m in conv.messages]
    store._live.clear()
    assert [m.id for m in store.load(conv.id).messages] == shown
    lines = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert {"type": "shown", "id": "a1"}.items() <= lines[-3].items()


def test_tool_calls_and_results_round_trip_into_requests_and_exports(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.add_user("Weather in Zürich?")
    path = store.path_for(conv.id)
    user_id = conv.messages[0].id
    call = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Zürich"}}
    path.write_bytes(
        path.read_bytes()
        + encode_event(_msg("a1", user_id, "assistant", content="", tool_calls=[call, "junk"]))
        + encode_event(
            _msg("t1", "a1", "tool", content="Sunny", tool_call_id="call_1", name="get_weather")
        )
        + encode_event(_msg("a2", "t1", "assistant", content="It is sunny."))
    )
    store._live.clear()
    conv = store.load(conv.id)
    assert conv.warnings == [f"{path.name}:3: a malformed tool call was skipped"]
    request = conv.history()
    assert [m.role for m in request] == ["user", "assistant", "tool", "assistant"]
    assert request[1].tool_calls == (ToolCall("call_1", "get_weather", {"city": "Zürich"}),)
    assert (request[2].tool_call_id, request[2].name) == ("call_1", "get_weather")
    again = conv.messages[1].to_event()
    assert again["tool_calls"] == [call] and again["parent_id"] == user_id
    text = conv.to_markdown()
    assert '*Tool call: get_weather({"city": "Zürich"})*' in text
    assert "### Tool · get_weather" in text
