"""What the chat screen does (and does not do) before the first request.

Counting tokens exactly can mean loading the model (llama.cpp starts a worker
process with the model's vocabulary for it), so an idle app shows the offline
cl100k estimate and asks the engine only once a request has used the model.
"""

from __future__ import annotations

from tests.ui.conftest import chat, idle, send, wait_for
from tests.ui.fakes import ScriptedEngine


async def test_meter_is_an_estimate_until_a_request_used_the_model(build, engine: ScriptedEngine):
    asked: list[str] = []
    exact = engine.count_tokens

    async def counting(text: str, model: str = "") -> int | None:
        asked.append(text)
        return await exact(text, model)

    engine.count_tokens = counting  # type: ignore[method-assign]
    app = build()
    async with app.run_test() as pilot:
        status = chat(app).status
        await wait_for(lambda: status.context_window > 0, pilot)
        assert asked == []
        assert not status.context_exact and "ctx ~" in str(status.render())
        await send(pilot, "hello there")
        await idle(app, pilot)
        assert asked, "the request counts with the engine's tokenizer"
        await wait_for(lambda: status.context_exact, pilot)
        assert "ctx ~" not in str(status.render())


async def test_sidebar_and_key_bar_arrive_after_the_first_frame(build):
    app = build()
    async with app.run_test() as pilot:
        screen = chat(app)
        sidebar = screen.query_one("#sidebar")
        await wait_for(lambda: bool(sidebar.query("#conversations")), pilot)
        await wait_for(lambda: bool(screen.query("Footer FooterKey")), pilot)
        assert sidebar.visible_ids == [screen.conversation.id]
        await screen.action_focus_sidebar()
        await pilot.pause()
        assert app.focused is sidebar.query_one("#conversations")
