"""Reasoning in the embedded engine: the chat template's switch, inline ``<think>``, history.

Real model files: the bundled SmolLM2 (not a reasoning model), and copies of it
whose chat template is written like Qwen3's (``enable_thinking``) or like
DeepSeek-R1's (the prompt itself opens ``<think>``). The switch is seen in the
prompt the model really reads (its token count); the R1-style copy shows that
what the model writes after an opened block arrives as reasoning, not text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import gguf
import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    ErrorEvent,
    Message,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.thinking import template_kwargs
from offyai_tui.settings.config import Settings
from tests.engines.gguf_edit import rewrite_gguf

pytestmark = pytest.mark.slow

_TURNS = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ message.content }}<|im_end|>\n{% endfor %}"
)
QWEN_STYLE = _TURNS + (
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and enable_thinking is false %}"
    "<think>\n\n</think>\n\n{% endif %}{% endif %}"
)
R1_STYLE = _TURNS + "{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
HELLO = [Message("user", "Say hello.")]


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    settings.llamacpp.n_threads_batch = 2
    engine = LlamaCppEngine(settings)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def thinkers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("thinkers")
    string = gguf.GGUFValueType.STRING
    source = bundled.smollm2_path()
    return {
        style: str(
            rewrite_gguf(
                source, folder / f"smol-{style}.gguf",
                add={"tokenizer.chat_template": (template, string)},
            )
        )
        for style, template in (("qwen", QWEN_STYLE), ("r1", R1_STYLE))
    }  # fmt: skip


async def answer(
    engine: LlamaCppEngine, model: str, messages: Sequence[Message] = HELLO, **options: object
) -> list[ChatEvent]:
    opts = ChatOptions(model=model, num_predict=6, seed=1, temperature=0.0)
    for name, value in options.items():
        setattr(opts, name, value)
    return [event async for event in engine.stream_chat(messages, opts)]


def done(events: list[ChatEvent]) -> Done:
    assert isinstance(events[-1], Done), events[-1]
    return events[-1]


def refusal(events: list[ChatEvent]) -> str:
    assert len(events) == 1 and isinstance(events[0], ErrorEvent), events
    assert isinstance(events[0].error, Unsupported)
    assert "\n" not in str(events[0].error)
    return str(events[0].error)


async def test_enable_thinking_reaches_the_template(
    engine: LlamaCppEngine, thinkers: dict[str, str]
) -> None:
    model = thinkers["qwen"]
    default = done(await answer(engine, model)).stats.prompt_tokens
    on = done(await answer(engine, model, think=True)).stats.prompt_tokens
    off = done(await answer(engine, model, think=False)).stats.prompt_tokens
    assert on == default  # the template thinks unless told not to
    assert off > on  # "off" closed an empty think block in the prompt
    assert "thinking" in (await engine.model_info(model)).capabilities
    assert "no thinking levels" in refusal(await answer(engine, model, think="high"))


async def test_a_prompt_that_opens_the_block_makes_the_answer_reasoning(
    engine: LlamaCppEngine, thinkers: dict[str, str]
) -> None:
    events = await answer(engine, thinkers["r1"])
    done(events)
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    assert thinking.strip()
    texts = [i for i, e in enumerate(events) if isinstance(e, TextDelta)]
    reasoning = [i for i, e in enumerate(events) if isinstance(e, ThinkingDelta)]
    assert not texts or max(reasoning) < min(texts)
    done(await answer(engine, thinkers["r1"], think=True))  # it always thinks: nothing to do
    assert "always thinks" in refusal(await answer(engine, thinkers["r1"], think=False))


async def test_a_model_that_cannot_think(engine: LlamaCppEngine) -> None:
    model = bundled.SMOLLM2
    message = refusal(await answer(engine, model, think=True))
    assert model in message and "/set think off" in message
    done(await answer(engine, model, think=False))  # nothing to turn off
    assert "thinking" not in (await engine.model_info(model)).capabilities


async def test_reasoning_in_history_is_not_sent(engine: LlamaCppEngine) -> None:
    def history(thinking: str | None) -> list[Message]:
        return [
            Message("user", "Name a colour."),
            Message("assistant", "Red.", thinking=thinking),
            Message("user", "Another?"),
        ]

    without = done(await answer(engine, bundled.SMOLLM2, history(None))).stats.prompt_tokens
    long_thought = "The user wants one colour, so I will pick a primary one. " * 20
    with_it = done(await answer(engine, bundled.SMOLLM2, history(long_thought))).stats
    assert with_it.prompt_tokens == without


def test_template_switches_without_a_model() -> None:
    assert template_kwargs(QWEN_STYLE, False, "m") == {"enable_thinking": False}
    assert template_kwargs(QWEN_STYLE, None, "m") == {}
    assert template_kwargs("{{ reasoning_effort }}<think>", "low", "m") == {
        "reasoning_effort": "low"
    }
    assert template_kwargs(None, False, "m") == {}
    with pytest.raises(Unsupported, match="cannot think"):
        template_kwargs(None, True, "m")


async def test_continuing_after_an_open_think_block_closes_it_first(
    engine: LlamaCppEngine, thinkers: dict[str, str]
) -> None:
    """The answer shown comes after the reasoning, so the continued prompt closes the block
    the template opened before the partial text; the model writes answer, not reasoning."""
    model = thinkers["r1"]
    opened = done(await answer(engine, model)).stats.prompt_tokens
    events = await answer(engine, model, [*HELLO, Message("assistant", "Hello")])
    grown = done(events)
    closer = await engine.count_tokens("</think>\n\n", model)
    word = await engine.count_tokens("Hello", model)
    assert closer is not None and word is not None
    assert opened + word < grown.stats.prompt_tokens <= opened + closer + word
    assert not any(isinstance(e, ThinkingDelta) for e in events)
