"""An answer's reasoning in the chat core: timed, kept, searched, exported, never sent back,
and ``/set think`` stored with the conversation."""

from __future__ import annotations

import json

import pytest

from offyai_tui.chat import ConversationStore, ParameterError, TokenCounter, read_transcript, slash
from offyai_tui.chat.params import think_option
from offyai_tui.chat.search import search_files
from offyai_tui.chat.slash import InvalidCommand, SetThink, Show
from offyai_tui.engines.base import ChatStats, Done, TextDelta, ThinkingDelta
from tests.chat.conftest import FakeClock

REASONING = "The user wants a colour; magenta is unusual."


async def _thought(store: ConversationStore, clock: FakeClock, answer: str = "Magenta."):
    """A conversation whose answer thought for 12 s before it began."""
    conv = store.create(model="qwen3")
    conv.add_user("Name a colour.")
    handle = await conv.start_reply(TokenCounter())
    handle.apply(ThinkingDelta("The user wants a colour; "))
    assert handle.thinking
    clock.advance(5)
    assert handle.thinking_seconds == 5
    handle.apply(ThinkingDelta("magenta is unusual."))
    clock.advance(7)
    handle.apply(TextDelta(answer))
    assert not handle.thinking and handle.thinking_seconds == 12
    clock.advance(30)  # writing the answer is not thinking
    handle.apply(Done(ChatStats(model="qwen3")))
    return conv


async def test_reasoning_and_its_time_are_kept(store: ConversationStore, clock: FakeClock) -> None:
    conv = await _thought(store, clock)
    saved = read_transcript(store.path_for(conv.id)).messages[-1]
    assert (saved.content, saved.thinking, saved.thinking_s) == ("Magenta.", REASONING, 12)


async def test_reasoning_is_never_in_the_next_request(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = await _thought(store, clock)
    conv.add_user("Another?")
    handle = await conv.start_reply(TokenCounter())
    assert all(m.thinking is None for m in handle.messages)
    assert all("magenta is unusual" not in m.content for m in handle.messages)
    handle.stop()


async def test_reasoning_survives_a_crash_while_thinking(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = store.create()
    conv.add_user("Think hard.")
    handle = await conv.start_reply(TokenCounter())
    clock.advance(2)
    handle.append_thinking("step one; ")
    clock.advance(2)
    handle.append_thinking("step two")  # no final line follows: the app died here
    replayed = read_transcript(store.path_for(conv.id))
    cut = replayed.messages[-1]
    assert (cut.status, cut.content, cut.thinking) == ("interrupted", "", "step one; step two")
    assert replayed.warnings == []


def test_old_and_odd_lines_still_open(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("hi")
    path = store.path_for(conv.id)
    line = {"type": "message", "id": "a1", "parent_id": conv.messages[-1].id,
            "role": "assistant", "status": "complete", "content": "Hello",
            "thinking": "greet", "thinking_s": "twelve"}  # fmt: skip
    params = {"type": "params", "params": {}, "think": "sideways"}
    with path.open("a") as out:
        out.write(json.dumps(line) + "\n" + json.dumps(params) + "\n")
    data = read_transcript(path)
    assert (data.messages[-1].thinking, data.messages[-1].thinking_s) == ("greet", 0.0)
    assert data.think is None and any("think" in w for w in data.warnings)


async def test_search_finds_reasoning_after_text(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = await _thought(store, clock, answer="Magenta, unusual indeed.")
    [hit] = store.search("unusual")
    assert (hit.message_id, hit.role) == (conv.messages[-1].id, "assistant")  # the text first
    [hit] = store.search("wants a colour")
    assert (hit.message_id, hit.role) == (conv.messages[-1].id, "thinking")
    assert "wants a colour" in hit.snippet
    files = [(conv.id, conv.title, store.path_for(conv.id))]
    assert [(h.role, h.position) for h in search_files(files, "wants a colour")] == [
        ("thinking", hit.position)
    ]


async def test_markdown_folds_reasoning_or_leaves_it_out(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = await _thought(store, clock)
    conv.messages[-1].thinking += "\n</details> <b>not closed</b>"
    text = conv.to_markdown()
    block = "<details><summary>Thinking (12 s)</summary>\n\n" + REASONING
    assert block in text
    assert text.index(block) < text.index("Magenta.")
    assert text.count("</details>") == 1 and "&lt;/details>" in text
    assert "<details>" not in conv.to_markdown(thinking=False)
    assert REASONING not in conv.to_markdown(thinking=False)


@pytest.mark.parametrize(
    ("typed", "value"),
    [("on", True), ("OFF", False), ("low", "low"), ("medium", "medium"), ("high", "high"),
     ("default", None)],
)  # fmt: skip
def test_set_think_words(typed: str, value: object) -> None:
    assert slash.parse(f"/set think {typed}") == SetThink(value)  # type: ignore[arg-type]
    assert think_option(value) == value


@pytest.mark.parametrize("typed", ["/set think", "/set think maybe", "/set think on off"])
def test_set_think_bad_values_are_one_line(typed: str) -> None:
    result = slash.parse(typed)
    assert isinstance(result, InvalidCommand) and "\n" not in result.message
    assert "on" in result.message and "default" in result.message


def test_think_option_from_odd_stored_values() -> None:
    assert think_option("On") is True
    assert think_option(3) is None and think_option("sideways") is None


async def test_think_is_stored_per_conversation_and_sent(
    store: ConversationStore, clock: FakeClock
) -> None:
    conv = store.create()
    conv.add_user("hi")
    assert conv.set_think("high") == "high"
    with pytest.raises(ParameterError):
        conv.set_think("sideways")
    reloaded = ConversationStore(store.workspace, lock=None).load(conv.id)
    assert reloaded.think == "high"
    assert "Think: high" in slash.show_text(Show("parameters"), reloaded)
    handle = await conv.start_reply(TokenCounter())
    assert handle.options.think == "high"
    handle.stop()
    conv.reset_parameters()
    assert ConversationStore(store.workspace, lock=None).load(conv.id).think is None


async def test_think_set_before_the_first_message_is_kept(store: ConversationStore) -> None:
    conv = store.create()
    conv.set_think(False)
    conv.add_user("hi")
    assert read_transcript(store.path_for(conv.id)).think is False
