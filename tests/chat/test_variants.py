"""Variants in the conversation core: regenerate, edit, cycle, continue, delete a turn.

Answers are written through ``ReplyHandle`` as an engine's deltas would be (the
engine side is tested in ``tests/turn/test_variants_turns.py``); every check
reloads the real transcript from disk and compares it with the live conversation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.chat import (
    CannotContinue,
    ConversationStore,
    MessageNotFound,
    ReadOnlyWorkspace,
    ReplyInProgress,
    TokenCounter,
)
from tests.chat.conftest import FakeClock

V1 = Path(__file__).parent / "fixtures" / "v1"


async def answer(conv: Any, text: str, *, below: str | None = None, stop: bool = False) -> Any:
    handle = await conv.start_reply(TokenCounter(), model="smol", below=below)
    handle.append(text)
    return handle.stop() if stop else handle.finish()


def reload(store: ConversationStore, conv_id: str) -> Any:
    with ConversationStore.open(store.workspace, read_only=True) as other:
        return other.load(conv_id)


def shape(conv: Any) -> tuple[list[tuple[str, str | None, str, str]], list[str]]:
    return [(m.id, m.parent_id, m.status, m.content) for m in conv.tree], [
        m.id for m in conv.messages
    ]


def texts(conv: Any) -> list[str]:
    return [m.content for m in conv.messages]


async def test_cycling_back_shows_the_branch_last_seen_below_a_variant(
    store: ConversationStore,
) -> None:
    conv = store.create()
    u1 = conv.add_user("q1")
    a1 = await answer(conv, "a1")
    conv.add_user("q2")
    a2 = await answer(conv, "a2")
    a2b = await answer(conv, "a2b", below=conv.regenerate_target().id)
    conv.cycle(a2b.id, -1)  # back to a2: the branch below a1 now goes through a2
    assert texts(conv) == ["q1", "a1", "q2", "a2"]
    a1b = await answer(conv, "a1b", below=u1.id)  # regenerate the first answer
    assert texts(conv) == ["q1", "a1b"] and conv.variants(a1b.id) == (1, 2)
    conv.cycle(a1b.id)  # wraps around to a1, and below it to a2, not the newer a2b
    assert texts(conv) == ["q1", "a1", "q2", "a2"]
    assert conv.variants(a2.id) == (0, 2) and conv.variants(a1.id) == (0, 2)
    assert shape(reload(store, conv.id)) == shape(conv)
    again = reload(store, conv.id)  # read-only: shown, not saved, and says so
    for variant in (a1.id, a1b.id):  # a reopened conversation remembers the same way
        with pytest.raises(ReadOnlyWorkspace):
            again.cycle(variant)
    assert texts(again) == ["q1", "a1", "q2", "a2"]
    assert conv.to_markdown().count("a2b") == 0 and "a2" in conv.to_markdown()


async def test_an_edit_is_a_new_prompt_beside_the_old_one(store: ConversationStore) -> None:
    conv = store.create()
    first = conv.add_user("helo")
    await answer(conv, "hi")
    edited = conv.edit_prompt(first.id, "hello")
    assert edited.parent_id is None and texts(conv) == ["hello"]  # a first message's variant
    assert conv.variants(edited.id) == (1, 2) and conv.title == "helo"
    await answer(conv, "hello there")
    conv.cycle(edited.id, -1)
    assert texts(conv) == ["helo", "hi"]
    assert shape(reload(store, conv.id)) == shape(conv)
    with pytest.raises(MessageNotFound, match="only a prompt"):
        conv.edit_prompt(conv.messages[-1].id, "x")
    lines = [json.loads(x) for x in store.path_for(conv.id).read_text().splitlines()]
    assert [e["type"] for e in lines].count("message") == 4  # old text kept, never rewritten
    assert "helo" in store.path_for(conv.id).read_text()


async def test_deleting_a_prompt_takes_every_answer_and_keeps_what_followed(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.add_user("q1")
    await answer(conv, "a1")
    q2 = conv.add_user("q2")
    await answer(conv, "a2")
    await answer(conv, "a2b", below=q2.id)
    conv.add_user("q3")
    await answer(conv, "a3")
    gone = conv.delete_turn(q2.id)
    assert len(gone) == 3 and texts(conv) == ["q1", "a1", "q3", "a3"]
    assert conv.messages[2].parent_id == conv.messages[1].id
    assert shape(reload(store, conv.id)) == shape(conv)
    last = conv.delete_turn(conv.messages[2].id)  # the last prompt: the branch ends before it
    assert len(last) == 2 and texts(conv) == ["q1", "a1"]
    assert shape(reload(store, conv.id)) == shape(conv)


async def test_deleting_an_edited_first_prompt_leaves_no_false_versions(
    store: ConversationStore,
) -> None:
    """The later prompts move up to the start; they are no versions of the deleted
    prompt's other version, which goes with it (every version of that prompt does)."""
    conv = store.create()
    first = conv.add_user("helo")
    await answer(conv, "hi")
    edited = conv.edit_prompt(first.id, "hello")
    await answer(conv, "hello there")
    conv.add_user("q2")
    await answer(conv, "a2")
    conv.add_user("q3")
    await answer(conv, "a3")
    assert conv.variants(edited.id) == (1, 2)
    gone = conv.delete_turn(edited.id)
    assert len(gone) == 4 and texts(conv) == ["q2", "a2", "q3", "a3"]
    assert all(conv.variants(m.id) == (0, 1) for m in conv.messages)
    assert conv.messages[0].parent_id is None and len(conv.tree) == 4
    again = reload(store, conv.id)
    assert shape(again) == shape(conv)
    assert all(again.variants(m.id) == (0, 1) for m in again.messages)


async def test_deleting_a_prompt_keeps_the_branches_that_followed_each_answer(
    store: ConversationStore,
) -> None:
    """Two answers that each went on are two branches: after the prompt goes, they are
    still both there, one shown, the other a version to cycle to."""
    conv = store.create()
    q1 = conv.add_user("q1")
    a1 = await answer(conv, "a1")
    conv.add_user("q2")
    await answer(conv, "a2")
    await answer(conv, "a1b", below=q1.id)
    conv.add_user("q2b")
    await answer(conv, "a2b")
    conv.delete_turn(q1.id)
    assert texts(conv) == ["q2b", "a2b"] and conv.variants(conv.messages[0].id) == (1, 2)
    conv.cycle(conv.messages[0].id)
    assert texts(conv) == ["q2", "a2"] and a1.id not in conv.tree
    assert shape(reload(store, conv.id)) == shape(conv)


async def test_a_continued_answer_grows_in_place_and_survives_a_crash(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = store.create()
    conv.add_user("story")
    cut = await answer(conv, "Once upon", stop=True)
    assert conv.continue_problem(cut.id) == ""
    handle = await conv.start_continue(cut.id, TokenCounter(), model="smol")
    assert handle.messages[-1].role == "assistant" and handle.messages[-1].content == "Once upon"
    assert handle.message is cut and cut.status == "streaming"
    with pytest.raises(ReplyInProgress):
        conv.regenerate_target()
    handle.append(" a time")
    clock.advance(2)
    handle.append(", a fox")  # checkpointed; then the app "dies"
    crashed = reload(store, conv.id)
    grown = crashed.messages[-1]
    assert (grown.id, grown.status) == (cut.id, "interrupted")
    assert grown.content == "Once upon a time, a fox"
    handle.finish()
    assert shape(reload(store, conv.id)) == shape(conv)
    assert conv.messages[-1].content == "Once upon a time, a fox" and len(conv.tree) == 2


async def test_what_cannot_be_continued_is_one_line(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("q")
    done = await answer(conv, "complete answer")
    assert "stopped or cut at the length limit" in conv.continue_problem(done.id)
    with pytest.raises(CannotContinue):
        await conv.start_continue(done.id, TokenCounter())
    empty = await answer(conv, "", below=conv.messages[0].id, stop=True)
    assert "no text" in conv.continue_problem(empty.id)
    conv.cycle(empty.id)
    assert "only the last answer" in conv.continue_problem(conv.messages[0].id)


async def test_a_v1_file_takes_variants_and_stays_readable(store: ConversationStore) -> None:
    path = store.workspace.chats_dir / "20260101-000000-000-chat00.jsonl"
    shutil.copyfile(V1 / "chat.jsonl", path)
    original = path.read_bytes()
    conv = store.load(path.stem)
    before = texts(conv)
    target = conv.regenerate_target()
    await answer(conv, "another answer", below=target.id)
    assert texts(conv)[-1] == "another answer" and len(conv.messages) == len(before)
    assert path.read_bytes().startswith(original)
    again = reload(store, path.stem)
    assert shape(again) == shape(conv) and again.warnings == []
    conv.cycle(conv.messages[-1].id)
    assert texts(conv) == before
