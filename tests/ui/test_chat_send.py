"""Sending, streaming, stopping, failing and retrying an answer."""

from __future__ import annotations

import pytest
from textual.widgets import Markdown

from offyai_tui.engines.errors import EngineUnavailable, StreamInterrupted
from offyai_tui.ui.widgets.chat.answer_body import AnswerBody
from offyai_tui.ui.widgets.chat.blocks import split_blocks
from tests.ui.conftest import chat, idle, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine

FINAL_FOOTER_WORDS = ("Thinking", "Writing")


def footer(view) -> str:
    return str(view.query_one(".footer").render())


async def test_send_shows_message_and_placeholder_at_once(build, engine: ScriptedEngine):
    engine.scripts = [Script(["Hello"], hold_after=0)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "What is 2+2?")
        await wait_for(engine.held.is_set, pilot)
        views = chat(app).messages.views
        assert [v.message.role for v in views] == ["user", "assistant"]
        assert views[0].message.content == "What is 2+2?"
        assert views[1].status == "streaming"
        assert "Thinking…" in footer(views[1])
        assert "What is 2+2?" in screen_text(app)
        engine.release()
        await idle(app, pilot)
        assert views[1].status == "complete"


async def test_tokens_stream_into_blocks_then_one_full_update(build, engine: ScriptedEngine):
    chunks = ["Intro ", "line.", "\n\n", "```python\n", "x = 1\n", "\n", "y = 2\n", "```",
              "\n\n", "Tail ", "**bold**"]
    engine.scripts = [Script(chunks, hold_after=5)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "code please")
        await wait_for(engine.held.is_set, pilot)
        await pilot.pause()
        view = chat(app).messages.views[-1]
        assert "Writing…" in footer(view)
        engine.release()
        await idle(app, pilot)
        body = view.query_one(AnswerBody)
        blocks = [b for m in body.query_children(Markdown) for b in split_blocks(m.source)]
        assert blocks == ["Intro line.", "```python\nx = 1\n\ny = 2\n```", "Tail **bold**"]
        conv = chat(app).conversation
        assert conv.messages[-1].content == "".join(chunks)
        final = [e for e in transcript_events(conv.id) if e.get("role") == "assistant"]
        assert final[-1]["status"] == "complete"
        assert final[-1]["content"] == "".join(chunks)
        assert "11 tokens" in footer(view) and "first token 0.25 s" in footer(view)
        assert "fake-model" in footer(view)
        assert chat(app).status.tokens_per_s == 11.0


async def test_escape_stops_and_keeps_partial_text(build, engine: ScriptedEngine):
    engine.scripts = [Script(["partial ", "answer", " never shown"], hold_after=2)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "tell me")
        await wait_for(engine.held.is_set, pilot)
        await pilot.press("escape")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        assert view.status == "stopped"
        assert view.message.content == "partial answer"
        assert "Stopped" in footer(view)
        assert "partial answer" in screen_text(app)
        events = transcript_events(chat(app).conversation.id)
        assert events[-1]["status"] == "stopped"
        assert events[-1]["content"] == "partial answer"


async def test_error_shows_message_and_retry_key_recovers(build, engine: ScriptedEngine):
    engine.scripts = [
        Script(["half an "], error=EngineUnavailable("connection refused by 127.0.0.1:11434")),
        Script(["second ", "try"]),
    ]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "hello")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        assert view.status == "error"
        assert "connection refused" in footer(view)
        assert "^r retries" in footer(view)
        assert view.message.content == "half an "
        await pilot.press("ctrl+r")
        await idle(app, pilot)
        conv = chat(app).conversation
        assert [m.role for m in conv.messages] == ["user", "assistant"]
        assert conv.messages[-1].content == "second try"
        assert [v.status for v in chat(app).messages.views] == ["complete", "complete"]
        # The retried request sent the same prompt again, without the failed answer.
        assert engine.requests[-1].messages[-1].content == "hello"
        # The failed answer stays, a version beside the new one.
        assert not any(e["type"] == "deleted" for e in transcript_events(conv.id))
        assert conv.variants(conv.messages[-1].id) == (1, 2)
        assert "‹ 2/2 ›" in screen_text(app)


async def test_no_model_reconciles_placeholder_into_error(build):
    engine = ScriptedEngine(models=())
    app = build(engine=engine)
    async with app.run_test() as pilot:
        await send(pilot, "anyone there?")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        assert view.status == "error"
        assert "Model not found" in footer(view)


class Explodes(ScriptedEngine):
    async def stream_chat(self, messages, options):
        yield  # pragma: no cover - makes this an async generator
        raise RuntimeError("engine bug")


class EndsEarly(ScriptedEngine):
    async def stream_chat(self, messages, options):
        from offyai_tui.engines.base import TextDelta

        yield TextDelta("cut")


@pytest.mark.parametrize(
    ("engine_factory", "stop", "status"),
    [
        (lambda: ScriptedEngine(scripts=[Script(["done"])]), False, "complete"),
        (lambda: ScriptedEngine(scripts=[Script(["a", "b"], hold_after=1)]), True, "stopped"),
        (lambda: ScriptedEngine(scripts=[Script([], hold_after=0)]), True, "stopped"),
        (lambda: ScriptedEngine(scripts=[Script(["x"], error=StreamInterrupted("cut"))]),
         False, "error"),
        (lambda: Explodes(), False, "error"),
        (lambda: EndsEarly(), False, "error"),
    ],
    ids=["complete", "stopped", "stopped-before-text", "error-event", "raises", "no-done"],
)
async def test_no_placeholder_is_left_thinking(build, engine_factory, stop, status):
    engine = engine_factory()
    app = build(engine=engine)
    async with app.run_test() as pilot:
        await send(pilot, "go")
        if stop:
            await wait_for(engine.held.is_set, pilot)
            await pilot.press("escape")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        assert view.status == status
        text = screen_text(app)
        assert not any(word in text for word in FINAL_FOOTER_WORDS)
        assert not any(word in footer(view) for word in FINAL_FOOTER_WORDS)


async def test_model_output_is_text_not_markup(build, engine: ScriptedEngine):
    evil = "[bold red]alarm[/bold red] \x1b[31mred\x1b[0m \x07bell \x9bcsi $var"
    engine.scripts = [Script([evil])]
    engine.models = ("[blink]model[/blink]",)
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "[reverse]me[/reverse]")
        await idle(app, pilot)
        text = screen_text(app)
        assert "[bold red]alarm[/bold red]" in text
        assert "[31mred[0m" in text
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
        assert "[reverse]me[/reverse]" in text
        assert "[blink]model[/blink]" in text
        body = chat(app).messages.views[-1].query_one(AnswerBody)
        assert all("\x1b" not in m.source for m in body.query_children(Markdown))
        # The transcript keeps exactly what the model said.
        assert chat(app).conversation.messages[-1].content == evil


async def test_sending_during_an_answer_is_queued_then_sent(build, engine: ScriptedEngine):
    engine.scripts = [Script(["first"], hold_after=0), Script(["second"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "one")
        await wait_for(engine.held.is_set, pilot)
        await send(pilot, "two")
        await pilot.pause()
        screen = chat(app)
        assert [queued.text for queued in screen.queue] == ["two"]
        assert "1 prompt queued" in screen_text(app)
        assert len(engine.requests) == 1
        engine.release()
        await wait_for(lambda: len(screen.conversation.messages) == 4, pilot)
        await idle(app, pilot)
        assert [m.content for m in screen.conversation.messages] == ["one", "first", "two",
                                                                      "second"]
        assert "queued" not in screen_text(app)


async def test_escape_returns_queued_prompts_to_the_prompt(build, engine: ScriptedEngine):
    engine.scripts = [Script(["first"], hold_after=0)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "one")
        await wait_for(engine.held.is_set, pilot)
        await send(pilot, "two")
        await pilot.press("escape")
        await idle(app, pilot)
        screen = chat(app)
        assert screen.queue == []
        assert screen.prompt.text == "two"
        assert len(engine.requests) == 1


async def test_view_follows_only_while_at_the_bottom(build, engine: ScriptedEngine):
    paragraphs = [f"Paragraph {i} of a long answer that fills the screen.\n\n" for i in range(80)]
    engine.scripts = [Script(paragraphs, hold_after=30, delay=0.005)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "long please")
        await wait_for(engine.held.is_set, pilot)
        await pilot.pause(0.2)
        messages = chat(app).messages
        assert messages.max_scroll_y > 0
        assert messages.scroll_y == messages.max_scroll_y  # following the stream
        messages.scroll_to(y=2, animate=False)
        await pilot.pause()
        engine.release()
        await idle(app, pilot)
        await pilot.pause(0.2)
        assert messages.scroll_y == 2  # reading above: never yanked back
        assert messages.max_scroll_y > 2
        await send(pilot, "again")
        await idle(app, pilot)
        await pilot.pause(0.2)
        assert messages.scroll_y == messages.max_scroll_y  # sending jumps to the bottom


async def test_spinner_turns_fast_while_thinking_and_slower_once_text_streams(build, engine):
    """Each spinner frame is a screen update; streaming text already shows progress."""
    engine.scripts = [Script(["x"], hold_after=0), Script(["Some text", " more"], hold_after=1)]
    app = build()
    async with app.run_test() as pilot:

        async def frames_per_tick(view) -> float:
            ticks, frame = view._ticks, view._frame
            await wait_for(lambda: view._ticks >= ticks + 9, pilot)
            return ((view._frame - frame) % 10) / (view._ticks - ticks)

        await send(pilot, "hi")
        await wait_for(engine.held.is_set, pilot)
        thinking = chat(app).messages.views[-1]
        assert "Thinking…" in footer(thinking)
        assert await frames_per_tick(thinking) == 1.0
        engine.release()
        await idle(app, pilot)
        await send(pilot, "again")
        await wait_for(engine.held.is_set, pilot)
        writing = chat(app).messages.views[-1]
        await wait_for(lambda: "Writing…" in footer(writing), pilot)
        assert await frames_per_tick(writing) <= 0.5
        engine.release()
        await idle(app, pilot)
