"""Context budget: window choice, reply reserve, and which turns are dropped."""

from __future__ import annotations

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter
from offyai_tui.chat.context import (
    ContextBudget,
    fit_context,
    resolve_budget,
    split_turns,
)
from offyai_tui.chat.tokens import REPLY_PRIMER
from offyai_tui.engines.base import Message
from offyai_tui.settings.config import ChatSettings


async def by_length(message: Message) -> int:
    """One token per character: makes the arithmetic visible."""
    return len(message.content)


def U(n: int, tag: str = "u") -> Message:
    return Message("user", tag * n)


def A(n: int, tag: str = "a") -> Message:
    return Message("assistant", tag * n)


@pytest.mark.parametrize(
    ("kwargs", "window", "reserve"),
    [
        ({}, 4096, 512),
        ({"num_ctx": 2048, "configured_ctx": 8192, "model_window": 32768}, 2048, 512),
        ({"configured_ctx": 8192, "model_window": 32768}, 8192, 512),
        ({"model_window": 32768, "engine_window": 4096}, 4096, 512),
        ({"model_window": 2048, "engine_window": 4096}, 2048, 512),
        ({"model_window": 131072}, 8192, 512),  # no engine cap: a 128k default is not requested
        ({"engine_window": 16384}, 16384, 512),
        ({"num_ctx": 1000, "num_predict": 100}, 1000, 100),
        ({"num_ctx": 512, "reply_reserve": 2000}, 512, 256),  # reserve at most half the window
        ({"num_ctx": 4096, "num_predict": -1}, 4096, 512),
    ],
)
def test_resolve_budget(kwargs: dict, window: int, reserve: int) -> None:
    budget = resolve_budget(**kwargs)
    assert (budget.window, budget.reserve) == (window, reserve)
    assert budget.available == window - reserve


def test_split_turns_groups_answers_with_their_prompt() -> None:
    turns = split_turns([A(1), U(1), A(1), A(1), U(1), U(1)])
    assert [len(t) for t in turns] == [1, 3, 1, 1]


async def test_everything_fits() -> None:
    history = [U(10), A(20), U(30)]
    plan = await fit_context("s" * 5, history, by_length, ContextBudget(1000, 100))
    assert plan.messages == (Message("system", "s" * 5), *history)
    assert plan.used == REPLY_PRIMER + 5 + 60
    assert (plan.dropped_turns, plan.dropped_messages, plan.overflow) == (0, 0, False)
    assert plan.note() == "" and plan.meter() == f"{plan.used}/1.0k"


async def test_oldest_whole_turns_are_dropped_first() -> None:
    history = [
        U(100, "1"),
        A(100, "1"),
        U(100, "2"),
        A(100, "2"),
        U(100, "3"),
        A(100, "3"),
        U(50, "4"),
    ]
    # available = 500 - 100 = 400; system 20 + primer + latest 50 leaves room for one pair.
    plan = await fit_context("s" * 20, history, by_length, ContextBudget(500, 100))
    sent = [m.content[0] for m in plan.messages[1:]]
    assert sent == ["3", "3", "4"]
    assert plan.messages[0].role == "system"
    assert (plan.dropped_turns, plan.dropped_messages) == (2, 4)
    assert plan.used == REPLY_PRIMER + 20 + 200 + 50 <= plan.available
    assert plan.note() == "2 older turns left out to fit the context window"


async def test_a_big_middle_turn_stops_the_walk_back() -> None:
    # Keeping the newest turns contiguous: an older small turn is not sent
    # once a newer one did not fit, or the model would see a gap in the middle.
    history = [U(5, "1"), A(5, "1"), U(500, "2"), A(5, "2"), U(5, "3")]
    plan = await fit_context("", history, by_length, ContextBudget(200, 50))
    assert [m.content[0] for m in plan.messages] == ["3"]
    assert plan.dropped_turns == 2


async def test_system_and_latest_turn_are_always_sent_even_if_too_big() -> None:
    history = [U(10), A(10), U(1000, "L")]
    plan = await fit_context("s" * 300, history, by_length, ContextBudget(600, 100))
    assert [m.role for m in plan.messages] == ["system", "user"]
    assert plan.overflow and plan.dropped_turns == 1
    assert "latest message alone" in plan.note()


async def test_counting_is_lazy_for_long_histories() -> None:
    counted: list[str] = []

    async def counting(message: Message) -> int:
        counted.append(message.content)
        return 100

    history = [m for i in range(500) for m in (U(1, f"{i}"), A(1, f"{i}"))]
    plan = await fit_context("", history, counting, ContextBudget(1000, 100))
    assert len(plan.messages) == 8  # four turns of 200 within 900
    assert len(counted) <= 12  # not 1,000 counts


async def test_conversation_reports_dropped_turns(store: ConversationStore) -> None:
    conv = store.create(model="smol")
    paragraph = "The quick brown fox jumps over the lazy dog. " * 30  # ~300 tokens
    for i in range(6):
        conv.add_user(f"{i}: {paragraph}")
        handle = await conv.start_reply(TokenCounter(), settings=ChatSettings(num_ctx=1024))
        handle.append(paragraph)
        handle.finish()
    conv.add_user("last question")
    handle = await conv.start_reply(TokenCounter(), settings=ChatSettings(num_ctx=1024))
    plan = handle.plan
    assert plan.window == 1024 and plan.reserve == 512 and not plan.exact
    assert plan.dropped_turns == 6 and plan.used <= plan.available
    assert handle.messages[-1].content == "last question" and conv.last_plan is plan
    bigger = await conv.plan_context(TokenCounter(), settings=ChatSettings(num_ctx=8192))
    assert bigger.dropped_turns < 6
