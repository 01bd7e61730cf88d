"""Inline ``<think>`` blocks: split the same however the stream is cut."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from offyai_tui.engines.think_tags import ThinkSplitter, split_whole

_BLOCK = re.compile(r"\s*<(think|thinking)>(.*?)</\1>(.*)", re.DOTALL)
_OPEN = re.compile(r"\s*<(think|thinking)>(.*)", re.DOTALL)


def reference(answer: str) -> tuple[str, str]:
    """The split written as a regular expression over the whole answer."""
    if match := _BLOCK.fullmatch(answer):
        return match.group(2).lstrip(), match.group(3).lstrip()
    if match := _OPEN.fullmatch(answer):
        return match.group(2).lstrip(), ""
    return "", answer


def chunked(answer: str, cuts: list[int], *, inside: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(inside=inside)
    thinking, text = [], []
    start = 0
    for cut in [*sorted({c % (len(answer) + 1) for c in cuts}), len(answer)]:
        piece_thinking, piece_text = splitter.feed(answer[start:cut])
        thinking.append(piece_thinking)
        text.append(piece_text)
        start = cut
    tail_thinking, tail_text = splitter.close()
    return "".join(thinking) + tail_thinking, "".join(text) + tail_text


def test_leading_block_is_reasoning_and_the_rest_is_the_answer() -> None:
    assert split_whole("<think>\nLet me add.\n</think>\n\nThe answer is 42.") == (
        "Let me add.\n",
        "The answer is 42.",
    )


def test_thinking_tag_and_leading_whitespace() -> None:
    assert split_whole("  \n<thinking>hmm</thinking>ok") == ("hmm", "ok")


def test_a_tag_later_in_the_answer_is_text() -> None:
    answer = "Use it like this:\n```\n<think>x</think>\n```"
    assert split_whole(answer) == ("", answer)


def test_unclosed_block_at_the_end_is_all_reasoning() -> None:
    assert split_whole("<think>still going, then the tokens ran o") == (
        "still going, then the tokens ran o",
        "",
    )


def test_prompt_that_opened_the_block() -> None:
    assert split_whole("reasoning</think>\nanswer", inside=True) == ("reasoning", "answer")


def test_text_that_only_looks_like_a_tag_start_is_released_at_the_end() -> None:
    assert split_whole(" <thin") == ("", " <thin")
    assert split_whole("<thinker>") == ("", "<thinker>")


def test_every_single_character_cut() -> None:
    answer = "<think>a </thin b</think> c <think>d</think>"
    assert chunked(answer, list(range(len(answer)))) == ("a </thin b", "c <think>d</think>")


_PIECES = st.sampled_from(
    ["<think>", "</think>", "<thinking>", "</thinking>", "<", "</", "<thi", "think", ">",
     " ", "\n", "\t", "a", "é", "答", "```", "\u2028"]
)  # fmt: skip


_OPENED = st.tuples(
    st.sampled_from(["", " ", "\n\n"]), st.sampled_from(["<think>", "<thinking>"]),
    st.lists(_PIECES, max_size=24).map("".join),
).map("".join)  # fmt: skip
"""Answers that open with a block: where held-back tag ends matter most."""


@settings(max_examples=400, deadline=None)
@given(
    answer=_OPENED | st.lists(_PIECES, max_size=24).map("".join) | st.text(max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=20),
)
def test_any_chunking_gives_the_split_of_the_whole(answer: str, cuts: list[int]) -> None:
    assert chunked(answer, cuts) == split_whole(answer) == reference(answer)


@settings(max_examples=200, deadline=None)
@given(
    answer=st.lists(_PIECES, max_size=24).map("".join),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=20),
)
def test_any_chunking_inside_a_block(answer: str, cuts: list[int]) -> None:
    assert chunked(answer, cuts, inside=True) == split_whole(answer, inside=True)
