"""Block splitting for the streamed answer: whole-text and incremental agree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from offyai_tui.ui.widgets.chat.blocks import BlockSplitter, split_blocks


def stream(text: str, sizes: list[int]) -> tuple[list[str], list[str]]:
    """Feed ``text`` in chunks; return (blocks, live-text snapshots)."""
    splitter = BlockSplitter()
    blocks: list[str] = []
    live = ""
    shown: list[str] = []
    pos = 0
    for size in [*sizes, len(text)]:
        chunk = text[pos : pos + max(size, 1)]
        pos += len(chunk)
        fed = splitter.feed(chunk)
        if fed.finished:
            assert fed.finished[0].startswith(live)
            blocks.extend(fed.finished)
            live = ""
        live += fed.append
        shown.append(live)
        if pos >= len(text):
            break
    return [*blocks, splitter.live], shown


def test_paragraphs_split_at_blank_lines() -> None:
    assert split_blocks("one\ntwo\n\nthree\n\n\nfour") == ["one\ntwo", "three", "four"]


def test_code_fence_with_blank_lines_stays_one_block() -> None:
    text = "Intro\n\n```python\ndef f():\n\n    return 1\n\n\n```\n\nAfter"
    assert split_blocks(text) == ["Intro", "```python\ndef f():\n\n    return 1\n\n\n```", "After"]


def test_tilde_fence_and_longer_backtick_fence() -> None:
    text = "~~~\na\n\nb\n~~~\n\n````\n```\n\nx\n````\n\nend"
    assert split_blocks(text) == ["~~~\na\n\nb\n~~~", "````\n```\n\nx\n````", "end"]


def test_unclosed_fence_never_splits() -> None:
    text = "```\ncode\n\nmore code\n\nstill code"
    assert split_blocks(text) == [text]


def test_indented_continuation_is_not_split() -> None:
    text = "- item\n\n  continued\n\n      indented code\n\nnext"
    assert split_blocks(text) == ["- item\n\n  continued\n\n      indented code", "next"]


def test_leading_and_trailing_blank_lines() -> None:
    assert split_blocks("\n\nfirst\n\n") == ["\n\nfirst\n\n"]
    assert split_blocks("") == [""]


def test_inline_backticks_do_not_open_a_fence() -> None:
    assert split_blocks("```not a fence``` text\n\nnext") == ["```not a fence``` text", "next"]


def test_incremental_matches_token_by_token() -> None:
    text = "Hello **world**\n\n```py\nx = 1\n\ny = 2\n```\n\n- a\n\n  b\n\nDone."
    blocks, _ = stream(text, [1] * len(text))
    assert blocks == split_blocks(text)
    assert "x = 1\n\ny = 2" in blocks[1]


def test_blank_lines_between_blocks_are_never_shown() -> None:
    _, shown = stream("para\n\n\nnext", [1] * 20)
    assert all(not s.endswith("\n") for s in shown)


def test_crlf_line_ends() -> None:
    text = "one\r\n\r\ntwo"
    assert split_blocks(text) == ["one\r", "two"]
    assert stream(text, [1] * 10)[0] == split_blocks(text)


alphabet = st.sampled_from(["a", "b", " ", "  ", "\n", "\n\n", "```", "~~~", "`", "\t", "-", "\r"])


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(alphabet, max_size=60),
    sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=60),
)
def test_incremental_equals_whole_text(parts: list[str], sizes: list[int]) -> None:
    text = "".join(parts)
    blocks, _ = stream(text, sizes)
    assert blocks == split_blocks(text)
