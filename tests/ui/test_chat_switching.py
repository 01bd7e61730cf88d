"""Every answer stays in the conversation that asked for it."""

from __future__ import annotations

from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar
from tests.ui.conftest import chat, idle, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine


async def select_conversation(app, pilot, conv_id: str) -> None:
    chat(app).query_one(ConversationSidebar).post_message(ConversationSidebar.Selected(conv_id))
    await wait_for(lambda: chat(app).conversation.id == conv_id, pilot)
    await pilot.pause()


async def test_new_chat_mid_stream_keeps_answer_in_its_conversation(build, engine: ScriptedEngine):
    engine.scripts = [Script(["alpha ", "answer"], hold_after=1)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "question A")
        await wait_for(engine.held.is_set, pilot)
        first = chat(app).conversation
        await pilot.press("ctrl+n")
        await pilot.pause()
        second = chat(app).conversation
        assert second is not first
        assert "answering in another chat" in chat(app).status.busy
        engine.release()
        await idle(app, pilot)
        assert second.messages == []
        assert chat(app).messages.views == []
        assert "alpha" not in screen_text(app)
        assert [m.content for m in first.messages] == ["question A", "alpha answer"]
        assert transcript_events(first.id)[-1]["content"] == "alpha answer"
        await select_conversation(app, pilot, first.id)
        assert [v.message.content for v in chat(app).messages.views] == [
            "question A", "alpha answer"]
        assert "alpha answer" in screen_text(app)


async def test_returning_mid_stream_resumes_the_live_answer(build, engine: ScriptedEngine):
    engine.scripts = [
        Script(["one ", "two ", "three"], hold_after=1),
        Script(["other"]),
    ]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "first question")
        await wait_for(engine.held.is_set, pilot)
        first = chat(app).conversation
        await pilot.press("ctrl+n")
        await pilot.pause()
        await select_conversation(app, pilot, first.id)
        view = chat(app).messages.views[-1]
        assert view.status == "streaming"
        engine.release()
        await idle(app, pilot)
        assert view.status == "complete"
        assert "one two three" in screen_text(app)


async def test_prompt_sent_in_other_chat_waits_and_lands_there(build, engine: ScriptedEngine):
    engine.scripts = [Script(["for A"], hold_after=0), Script(["for B"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "ask A")
        await wait_for(engine.held.is_set, pilot)
        first = chat(app).conversation
        await pilot.press("ctrl+n")
        await send(pilot, "ask B")
        await pilot.pause()
        second = chat(app).conversation
        assert len(engine.requests) == 1
        engine.release()
        await wait_for(lambda: len(second.messages) == 2, pilot)
        await idle(app, pilot)
        assert [m.content for m in first.messages] == ["ask A", "for A"]
        assert [m.content for m in second.messages] == ["ask B", "for B"]
        # Each request carried only its own conversation.
        assert [m.content for m in engine.requests[1].messages if m.role != "system"] == [
            "ask B"]
        assert [v.message.content for v in chat(app).messages.views] == ["ask B", "for B"]
