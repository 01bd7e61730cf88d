"""Continuing an answer in place on the embedded engine, with the real bundled models.

An answer cut at ``num_predict`` is sent back as the request's final assistant
message; the worker renders the conversation before it with the model's own
template, appends the partial text and lets the model complete it. What the
model read is checked through its prompt's token count: the question's prompt
plus the partial text, and nothing that would close the assistant's turn.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatEvent, ChatOptions, Done, ErrorEvent, Message, TextDelta
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.settings.config import Settings

pytestmark = pytest.mark.slow

QUESTION = Message("user", "Write a long story about a dragon who learns to fly.")


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    settings = Settings()
    settings.llamacpp.n_threads = 2
    engine = LlamaCppEngine(settings)
    yield engine
    engine.close()


async def ask(
    engine: LlamaCppEngine, messages: Sequence[Message], **options: object
) -> tuple[str, ChatEvent]:
    options = {"num_predict": 8, "temperature": 0.0, "seed": 3, **options}
    events = [e async for e in engine.stream_chat(messages, ChatOptions(**options))]  # type: ignore[arg-type]
    assert events and sum(isinstance(e, (Done, ErrorEvent)) for e in events) == 1
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events[-1]


async def test_a_length_cut_answer_grows_from_its_own_text(engine: LlamaCppEngine) -> None:
    assert engine.IMPLEMENTS_CONTINUE
    partial, cut = await ask(engine, [QUESTION])
    assert isinstance(cut, Done) and cut.stats.done_reason == "length" and partial.strip()
    more, done = await ask(engine, [QUESTION, Message("assistant", partial)])
    assert isinstance(done, Done), done
    assert more.strip() and done.stats.completion_tokens > 0
    # The prompt is the question's (with the assistant's opening) and the partial text,
    # token for token: a closed turn would add <|im_end|> and a new assistant opening.
    own = await engine.count_tokens(partial)
    assert own is not None
    assert done.stats.prompt_tokens == cut.stats.prompt_tokens + own
    assert engine.last_effective["sampling"]["max_tokens"] == 8


async def test_greedy_continuation_matches_the_longer_answer(engine: LlamaCppEngine) -> None:
    """Continuing reads as the model's own next words: greedy decoding of the cut answer
    plus its continuation starts the way one longer answer does."""
    whole, _ = await ask(engine, [QUESTION], num_predict=16)
    partial, _ = await ask(engine, [QUESTION], num_predict=8)
    assert whole.startswith(partial)
    more, _ = await ask(engine, [QUESTION, Message("assistant", partial)])
    grown = partial + more
    common = len(grown.split()) // 2  # a retokenized boundary may differ after a while
    assert grown.split()[:common] == whole.split()[:common] and len(grown) > len(partial)


async def test_a_named_chat_format_refuses_in_one_line(engine: LlamaCppEngine) -> None:
    question = Message("user", "Name a colour.")
    partial, cut = await ask(engine, [question], model=bundled.GEMMA3, num_predict=3)
    assert isinstance(cut, Done)
    _, refused = await ask(engine, [question, Message("assistant", partial or "Blue")],
                           model=bundled.GEMMA3)
    assert isinstance(refused, ErrorEvent) and isinstance(refused.error, Unsupported)
    line = str(refused.error)
    assert "\n" not in line and "gemma chat format" in line and "regenerate" in line
    again, done = await ask(engine, [question], model=bundled.GEMMA3, num_predict=2)
    assert isinstance(done, Done) and again  # the worker goes on answering
