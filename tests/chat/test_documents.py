"""Documents in the chat core: the stored toggle, stored sources, room for passages."""

from __future__ import annotations

import json

from offyai_tui.chat import (
    ContextBudget,
    ConversationStore,
    TokenCounter,
    fit_context,
    parse_transcript,
    read_transcript,
)
from offyai_tui.engines.base import Message
from tests.chat.conftest import FakeClock

SOURCE = {
    "number": 1, "chunk_id": 7, "path": "/docs/handbook.md", "title": "Staff handbook",
    "heading_path": ["Staff handbook", "Annual leave"], "line_start": 5, "line_end": 6,
    "page_start": None, "page_end": None, "text": "Employees receive 27 days.",
    "score": 0.9, "tokens": 6,
}
RETRIEVAL = {"query": "leave?", "mode": "hybrid", "elapsed_ms": 3.1, "model": "minilm",
             "note": ""}


async def by_length(message: Message) -> int:
    return len(message.content)


def _reload(store: ConversationStore, conv_id: str):
    return ConversationStore(store.workspace, lock=None).load(conv_id)


async def test_toggle_set_before_the_first_message_is_saved_with_it(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.set_documents(True)
    assert not conv.saved  # settings alone create no file
    conv.add_user("hello")
    assert _reload(store, conv.id).documents is True
    conv.set_documents(False)
    assert _reload(store, conv.id).documents is False
    conv.set_parameter("temperature", 0.3)  # a later params event keeps the toggle
    conv.set_documents(True)
    conv.reset_parameters()
    reloaded = _reload(store, conv.id)
    assert reloaded.documents is True and reloaded.params == {}


def test_transcripts_without_the_toggle_read_as_documents_off() -> None:
    lines = [
        {"type": "header", "v": 1, "id": "c1", "title": "old"},
        {"type": "params", "params": {"temperature": 0.3}, "system": None},
        {"type": "message", "id": "m1", "role": "user", "content": "hi"},
        {"type": "params", "params": {}, "system": None, "documents": "yes"},
    ]
    data = parse_transcript("\n".join(json.dumps(x) for x in lines).encode(), "c1")
    assert data.documents is False and data.warnings == []
    assert data.messages[0].sources == [] and data.messages[0].retrieval == {}


async def test_sources_and_retrieval_are_stored_with_the_answer(
    store: ConversationStore,
) -> None:
    conv = store.create()
    conv.add_user("leave?")
    handle = await conv.start_reply(TokenCounter())
    handle.message.sources = [SOURCE]
    handle.message.retrieval = RETRIEVAL
    handle.append("27 days [1].")
    handle.finish()
    answer = _reload(store, conv.id).messages[-1]
    assert answer.sources == [SOURCE]
    assert answer.retrieval == RETRIEVAL
    assert _reload(store, conv.id).messages[0].content == "leave?"


async def test_an_interrupted_answer_keeps_its_sources(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = store.create()
    conv.add_user("leave?")
    handle = await conv.start_reply(TokenCounter())
    handle.message.sources = [SOURCE]
    handle.message.retrieval = RETRIEVAL
    clock.advance(2)
    handle.append("27 days")
    clock.advance(2)
    handle.append(" [1].")
    # The app dies here: only the checkpoints are on disk.
    lines = store.path_for(conv.id).read_text(encoding="utf-8").splitlines()
    checkpoints = [json.loads(x) for x in lines if '"checkpoint"' in x]
    assert "sources" in checkpoints[0] and "sources" not in checkpoints[1]
    answer = read_transcript(store.path_for(conv.id)).messages[-1]
    assert answer.status == "interrupted" and answer.content == "27 days [1]."
    assert answer.sources == [SOURCE] and answer.retrieval == RETRIEVAL
    handle.finish()


async def test_extra_tokens_make_older_turns_give_way() -> None:
    history = [Message("user", "a" * 100), Message("assistant", "b" * 100),
               Message("user", "c" * 50)]
    budget = ContextBudget(600, 200)
    plain = await fit_context("", history, by_length, budget)
    assert plain.dropped_turns == 0
    grounded = await fit_context("", history, by_length, budget, extra=300)
    assert grounded.dropped_turns == 1
    assert grounded.used == plain.used - 200 + 300
    assert grounded.required == grounded.used and not grounded.overflow


async def test_documents_budget_leaves_room_for_the_latest_turn() -> None:
    history = [Message("user", "a" * 100), Message("assistant", "b" * 100),
               Message("user", "c" * 50)]
    plan = await fit_context("s" * 50, history, by_length, ContextBudget(1000, 200))
    room = plan.available - plan.required  # older turns may be dropped for passages
    assert plan.documents_budget() == min(room, 400)
    assert plan.documents_budget(overhead=100) == min(room, 400) - 100
    tight = await fit_context("s" * 700, history, by_length, ContextBudget(1000, 200))
    assert tight.documents_budget() == max(0, tight.available - tight.required) < 100
    assert tight.documents_budget(overhead=500) == 0


def test_markdown_export_lists_the_sources_of_an_answer() -> None:
    from offyai_tui.chat.export import to_markdown
    from offyai_tui.chat.records import ChatMessage

    answer = ChatMessage(id="m1", role="assistant", content="Thirty days [1].", status="complete")
    answer.sources = [
        {"number": 1, "path": "/notes/policy.md", "heading_path": ["Retention"],
         "line_start": 3, "line_end": 5, "page_start": None, "page_end": None},
        {"number": 2, "path": "/notes/scan.pdf", "heading_path": [],
         "line_start": 0, "line_end": 0, "page_start": 2, "page_end": 2},
    ]  # fmt: skip
    text = to_markdown("Retention", [answer])
    assert "- [1] policy.md > Retention, lines 3-5" in text
    assert "- [2] scan.pdf, p. 2" in text
