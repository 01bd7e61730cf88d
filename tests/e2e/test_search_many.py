"""Search in a workspace of years: the real ``offyai`` in tmux, a query typed fast.

3,000 conversations in the app's own transcript format; the query's letters
reach the app in one burst (``send-keys -l``), as a fast typist's would over a
slow link. The right conversation is listed, Enter opens it at the hit, and the
search index the app built is on disk next to the transcripts.
"""

from __future__ import annotations

import pytest

from offyai_tui.chat.search_index import DB_NAME
from tests.e2e.conftest import chats_dir, start_tui
from tests.many_chats import write_conversations

pytestmark = pytest.mark.slow

COUNT = 3000


@pytest.mark.parametrize("query, word", [
    ("zanzibarite", "zanzibarite"),
    ("übergrößentr", "Übergrößenträger"),
])
def test_a_query_typed_fast_finds_the_one_conversation(app_home, user_home, query,
                                                        word) -> None:
    chats = chats_dir(app_home)
    write_conversations(chats, COUNT, {1234: word})
    with start_tui(app_home, user_home) as tui:
        tui.wait_for("Ask anything")
        tui.wait_for("chat 2999")  # the sidebar, newest first
        tui.send("C-f")
        tui.wait_for("Search all conversations")
        tui.type(query)
        screen = tui.wait_until(lambda s: "1 hit" in s and "chat 1234" in s, "the one hit", 30)
        assert word in screen
        tui.send("Enter")
        screen = tui.wait_until(
            lambda s: f"question 0 of chat 1234 {word}" in s and "1 hit" not in s,
            "the conversation opened at the hit", 30)
    assert (chats / DB_NAME).is_file()
