"""Slash commands, modes from the palette, and the context-window note."""

from __future__ import annotations

from offyai_tui.chat import BUILTIN_MODES
from tests.ui.conftest import chat, idle, palette, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine

CODER = next(m for m in BUILTIN_MODES if m.key == "coder")


def notes(app) -> list[str]:
    return [str(n.render()) for n in chat(app).messages.query(".note").results()
            if n.parent is chat(app).messages]


async def test_set_parameter_is_used_and_shown(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/set parameter temperature 0.2")
        await pilot.pause()
        assert any("temperature set to 0.2" in n for n in notes(app))
        await send(pilot, "/show parameters")
        await pilot.pause()
        assert any("temperature" in n and "0.2" in n and "/set" in n for n in notes(app))
        await send(pilot, "hi")
        await idle(app, pilot)
        assert engine.requests[-1].options.temperature == 0.2
        events = transcript_events(chat(app).conversation.id)
        assert any(e["type"] == "params" and e["params"] == {"temperature": 0.2}
                   for e in events)


async def test_set_system_replaces_the_mode_prompt(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/set system You are a pirate.")
        await send(pilot, "ahoy")
        await idle(app, pilot)
        first = engine.requests[-1].messages[0]
        assert (first.role, first.content) == ("system", "You are a pirate.")


async def test_unknown_and_bad_commands_get_a_hint_and_send_nothing(build, engine):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/shwo")
        await send(pilot, "/set parameter temperature hot")
        await pilot.pause()
        shown = notes(app)
        assert any("did you mean /show" in n for n in shown)
        assert any("temperature must be a number" in n for n in shown)
        assert engine.requests == []
        assert chat(app).conversation.messages == []


async def test_help_and_clear(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/help")
        await pilot.pause()
        assert any("/set parameter NAME VALUE" in n for n in notes(app))
        await send(pilot, "old question")
        await idle(app, pilot)
        await send(pilot, "/clear")
        await pilot.pause()
        assert any("Context cleared" in n for n in notes(app))
        await send(pilot, "fresh question")
        await idle(app, pilot)
        sent = [m.content for m in engine.requests[-1].messages if m.role != "system"]
        assert sent == ["fresh question"]
        # Earlier messages are still on screen.
        assert "old question" in screen_text(app)


async def test_mode_switch_through_palette_is_stored_in_transcript(build, engine):
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "hello")
        await idle(app, pilot)
        await palette(pilot, "Mode: Coder")
        await wait_for(lambda: chat(app).conversation.mode.key == "coder", pilot)
        assert chat(app).status.mode == "Coder"
        conv_id = chat(app).conversation.id
        assert {"type": "mode", "mode": "coder"}.items() <= transcript_events(conv_id)[-1].items()
        await send(pilot, "code?")
        await idle(app, pilot)
        assert engine.requests[-1].messages[0].content == CODER.system_prompt
        assert engine.requests[-1].options.temperature == 0.2


async def test_dropped_turns_are_noted_and_meter_shows_usage(build, engine: ScriptedEngine):
    long = " ".join(["word"] * 60)
    engine.scripts = [Script([long]), Script([long]), Script(["short"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/set parameter num_ctx 200")
        for prompt in ("first " + long, "second " + long):
            await send(pilot, prompt)
            await idle(app, pilot)
        await send(pilot, "third")
        await idle(app, pilot)
        request = engine.requests[-1]
        assert [m.content for m in request.messages if m.role == "user"] == ["third"]
        view = chat(app).messages.views[-1]
        note = str(view.query_one(".note").render())
        assert note.startswith("4 earlier messages not sent")
        assert view.query_one(".note").display
        status = chat(app).status
        assert status.context_window == 200
        assert 0 < status.context_used <= 200
        assert "ctx " in str(status.render()) and "/200" in str(status.render())


async def test_model_switch_through_palette(build):
    engine = ScriptedEngine(models=("small-model", "big-model"))
    app = build(engine=engine)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert chat(app).status.model == "small-model"
        await palette(pilot, "Model: big")
        await wait_for(lambda: chat(app).status.model == "big-model", pilot)
        await send(pilot, "hi")
        await idle(app, pilot)
        assert engine.requests[-1].options.model == "big-model"
        assert chat(app).messages.views[-1].message.model == "big-model"
