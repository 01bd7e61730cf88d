"""Messages far from the viewport fold to one widget; what the user sees never changes."""

from __future__ import annotations

from offyai_tui.ui.widgets.chat.message_fold import is_folded, unfold
from offyai_tui.ui.widgets.chat.message_list import MessageList
from tests.ui.conftest import chat, idle, screen_text, send, wait_for
from tests.ui.fakes import Script
from tests.ui.test_conversations import write_long_conversation


async def open_long(app, pilot) -> MessageList:
    screen = chat(app)
    await screen.open_conversation(screen.store.load(write_long_conversation(40)))
    messages = screen.messages
    await wait_for(lambda: any(is_folded(v) for v in messages.views), pilot)
    await pilot.pause()
    return messages


async def unfolded_reference(messages: MessageList, pilot) -> tuple[int, str]:
    """Virtual height and screen text with every message unfolded (what folding must keep)."""
    for view in messages.views:
        unfold(view)
    await pilot.pause()
    return messages.virtual_size.height, screen_text(pilot.app)


async def test_far_messages_fold_and_keep_height_and_screen(build) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        messages = await open_long(app, pilot)
        folded = [v for v in messages.views if is_folded(v)]
        assert folded and not is_folded(messages.views[-1])
        assert all(not child.display for v in folded for child in v.children)
        height, text = messages.virtual_size.height, screen_text(app)
        assert "message number 39" in text
        assert (height, text) == await unfolded_reference(messages, pilot)


async def test_scrolling_up_unfolds_what_comes_into_view(build) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        messages = await open_long(app, pilot)
        top = messages.views[0]
        assert is_folded(top)
        messages.release_anchor()
        messages.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert not is_folded(top)
        assert f"message number {40 - messages.PAGE}" in screen_text(app)
        await wait_for(lambda: is_folded(messages.views[-1]), pilot)  # now far below


async def test_a_width_change_measures_folded_messages_again(build) -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        messages = await open_long(app, pilot)
        await pilot.resize_terminal(50, 24)
        await pilot.pause(0.3)
        await wait_for(lambda: any(is_folded(v) for v in messages.views), pilot)
        height, text = messages.virtual_size.height, screen_text(app)
        assert (height, text) == await unfolded_reference(messages, pilot)


async def test_a_long_answer_ends_folded_far_up_and_unfolds_when_read(build, engine) -> None:
    """Its far chunks come back folded when it ends (no layout of every block), not blank."""
    paragraphs = [f"Paragraph {i} of a long answer, with a few more words.\n\n" for i in range(150)]
    engine.scripts = [Script(paragraphs, delay=0.002)]
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "a long answer please")
        await idle(app, pilot)
        await pilot.pause(0.3)
        messages = chat(app).messages
        body = messages.views[-1].body
        folded = [c for c in body.chunks() if is_folded(c)]
        assert folded, "no chunk of the finished answer is folded"
        assert "Paragraph 149" in screen_text(app)
        height, bottom = messages.virtual_size.height, screen_text(app)
        messages.release_anchor()
        messages.scroll_to(y=0, animate=False)
        await pilot.pause(0.3)
        assert "Paragraph 0 of a long answer" in screen_text(app)
        assert not is_folded(body.chunks()[0])
        for chunk in body.chunks():
            unfold(chunk)
        await pilot.pause()
        assert messages.virtual_size.height == height
        messages.scroll_end(animate=False)
        await pilot.pause()
        assert screen_text(app) == bottom
