"""Markdown read aloud is words, not markup."""

from __future__ import annotations

from offyai_tui.voice.speakable import speakable


def test_markup_is_dropped_and_words_kept() -> None:
    text = "# Title\nHere is **bold**, _it_ and `code` with a [link](http://x)."
    assert speakable(text) == "Title\nHere is bold, it and code with a link."


def test_code_blocks_are_named_not_read() -> None:
    text = "Run:\n\n```sh\nrm -rf /tmp/x\n```\n\nDone."
    assert speakable(text) == "Run:\n\n(code block)\n\nDone."


def test_lists_tables_and_words_with_marks_inside() -> None:
    text = "- one\n1. first\n\n| a | b |\n|---|---|\n| 1 | 2 |\nsnake_case stays, 2*3*4 too"
    assert speakable(text) == "one\nfirst\n\na, b\n\n1, 2\nsnake_case stays, 2*3*4 too"
