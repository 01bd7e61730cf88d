"""Years of use on screen: thousands of conversations, a 1,000-message chat.

Counting work, not timing it: rows the sidebar renders, messages the list
keeps mounted while paging far back and forward again, searches run while a
query is typed fast.
"""

from __future__ import annotations

from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.screens.search import SearchScreen
from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar
from offyai_tui.ui.widgets.chat.conversation_rows import ConversationRows
from tests.many_chats import write_conversations
from tests.ui.conftest import chat, screen_text, wait_for
from tests.ui.test_conversations import write_long_conversation


async def test_the_sidebar_renders_only_the_rows_on_screen(build) -> None:
    ids = write_conversations(Workspace.open("default").ensure().chats_dir, 2000)
    app = build()
    async with app.run_test() as pilot:
        sidebar = chat(app).query_one(ConversationSidebar)
        await wait_for(lambda: len(sidebar.entries) == 2001, pilot, timeout=20)
        await pilot.pause()
        rows = sidebar.query_one(ConversationRows)
        rows.rows_built = 0
        sidebar.set_entries(sidebar.entries, chat(app).conversation.id)  # after each exchange
        await pilot.pause()
        assert 0 < rows.rows_built <= 2 * rows.size.height, rows.rows_built
        assert "chat 1999" in screen_text(app)
        await pilot.press("ctrl+l", "end")
        await pilot.pause()
        assert "chat 0" in screen_text(app) and rows.highlighted == 2000
        await pilot.press("enter")
        await wait_for(lambda: chat(app).conversation.id == ids[0], pilot)
        await pilot.press("ctrl+l", *"chat 12")
        await wait_for(lambda: sidebar.filter_text == "chat 12", pilot)
        assert len(sidebar.visible_ids) == 111  # 12, 120-129, 1200-1299


async def test_paging_far_back_and_forward_keeps_a_bounded_window(build) -> None:
    conv_id = write_long_conversation(1000)
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        chat(app).query_one(ConversationSidebar).post_message(
            ConversationSidebar.Selected(conv_id))
        await wait_for(lambda: chat(app).conversation.id == conv_id, pilot)
        await pilot.pause()
        messages = chat(app).messages
        messages.focus()
        await pilot.press("home")
        await wait_for(lambda: messages.hidden_count == 0, pilot)
        assert "message number 0" in screen_text(app)
        most = 0
        for _ in range(30):  # forward, far past a window's worth of messages
            await pilot.press("pagedown")
            await pilot.pause(0.05)
            most = max(most, len(messages.views))
        forward = messages.hidden_count
        assert forward > messages.WINDOW  # the top was unmounted as the window slid
        for _ in range(30):  # and back up again
            await pilot.press("pageup")
            await pilot.pause(0.05)
            most = max(most, len(messages.views))
        assert messages.later_count > 0  # the bottom was unmounted on the way up
        assert most <= messages.WINDOW + messages.STEP, most
        first = messages.hidden_count
        assert messages.views[0].message.content.startswith(f"message number {first}")
        await pilot.press("end")
        await wait_for(lambda: messages.later_count == 0, pilot)
        await pilot.pause()
        assert "message number 999" in screen_text(app)
        assert len(messages.views) <= messages.WINDOW


async def test_typing_a_query_fast_runs_one_search(build) -> None:
    ids = write_conversations(Workspace.open("default").ensure().chats_dir, 300,
                              {40: "Übergrößenträger"})
    app = build()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+f")
        await wait_for(lambda: isinstance(app.screen, SearchScreen), pilot)
        search = app.screen
        await pilot.press(*"übergrößentr")
        await wait_for(lambda: search.query_one("#hits").option_count == 1, pilot, 10)
        assert search.searches <= 2, search.searches  # not one per key
        await pilot.press("enter")
        await wait_for(lambda: chat(app).conversation.id == ids[40], pilot)


async def test_enter_right_after_the_last_key_opens_that_query_s_hit(build) -> None:
    ids = write_conversations(Workspace.open("default").ensure().chats_dir, 200,
                              {10: "zanzibarite", 20: "zanzibar"})
    app = build()
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+f")
        await wait_for(lambda: isinstance(app.screen, SearchScreen), pilot)
        await pilot.press(*"zanzibar")
        await wait_for(lambda: app.screen.query_one("#hits").option_count == 2, pilot, 10)
        await pilot.press(*"ite", "enter")  # before the debounce ran "zanzibarite"
        await wait_for(lambda: not isinstance(app.screen, SearchScreen), pilot, 10)
        assert chat(app).conversation.id == ids[10]  # not the newer "zanzibar" one
