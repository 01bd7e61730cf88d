"""A reasoning model's thinking in the chat: live, folded, toggled, controlled, searched.

A scripted engine streams the reasoning (``ThinkingDelta``) before the answer, and
holds the stream between them so the live state can be looked at. The same path
against the Ollama stand-in's real ``message.thinking`` stream is in
:mod:`tests.ui.test_thinking_ollama`.
"""

from __future__ import annotations

import pytest

from offyai_tui.settings.config import Settings, parse_settings
from offyai_tui.ui.widgets.chat.thinking_block import ThinkingBlock, span
from tests.ui.conftest import chat, idle, palette, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine

REASONING = ["Let me weigh ", "the options. ", "Blue is calm."]


def footer(view) -> str:
    return str(view.query_one(".footer").render())


def header(view) -> str:
    assert view.thinking is not None
    return str(view.thinking.query_one(".thinking-header").render())


async def test_thinking_streams_live_then_folds_when_the_answer_begins(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["Blue."], thinking=REASONING, hold_after=0)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await wait_for(engine.held.is_set, pilot)
        await wait_for(lambda: "Blue is calm." in screen_text(app), pilot)
        view = chat(app).messages.views[-1]
        assert view.thinking is not None and view.thinking.live and view.thinking.is_open
        assert header(view).startswith("▾ Thinking…")
        assert "Let me weigh the options." in screen_text(app)
        assert "Thinking…" in footer(view)
        engine.release()
        await idle(app, pilot)
        assert not view.thinking.live and not view.thinking.is_open
        assert header(view).startswith("▸ Thought for ")
        assert "alt+t shows" in header(view)
        shown = screen_text(app)
        assert "Blue." in shown and "Let me weigh" not in shown
        stored = [e for e in transcript_events(chat(app).conversation.id)
                  if e.get("role") == "assistant"][-1]
        assert stored["thinking"] == "".join(REASONING)


async def test_the_keys_show_and_hide_thinking(build, engine: ScriptedEngine) -> None:
    engine.scripts = [Script(["Blue."], thinking=REASONING), Script(["Plain answer."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        await send(pilot, "And now?")
        await idle(app, pilot)
        view = chat(app).messages.views[1]
        assert "Let me weigh" not in screen_text(app)
        await pilot.press("alt+t")  # from the prompt: the newest answer that has thinking
        await pilot.pause()
        assert view.thinking.is_open and "Let me weigh the options." in screen_text(app)
        assert "alt+t hides" in header(view)
        await pilot.press("alt+t")
        await pilot.pause()
        assert not view.thinking.is_open and "Let me weigh" not in screen_text(app)

        await pilot.press("alt+up", "up", "up")  # select the answer that thought, then t
        await pilot.pause()
        assert chat(app).messages.selected == view.message.id
        await pilot.press("t")
        await pilot.pause()
        assert view.thinking.is_open and "Let me weigh the options." in screen_text(app)
        await pilot.press("down", "down", "t")  # an answer without thinking says so
        await pilot.pause()
        assert view.thinking.is_open
        assert any("no thinking" in str(n.message) for n in app._notifications)


async def test_show_thinking_open_keeps_it_open(build, engine: ScriptedEngine) -> None:
    engine.scripts = [Script(["Blue."], thinking=REASONING)]
    settings = Settings()
    settings.chat.show_thinking = "open"
    app = build(settings=settings)
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        assert view.thinking.is_open and header(view).startswith("▾ Thought for ")
        assert "Let me weigh the options." in screen_text(app)


async def test_a_reopened_conversation_shows_its_thinking_folded(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["Blue."], thinking=REASONING)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        conv_id = chat(app).conversation.id
        await pilot.press("ctrl+n")
        await pilot.pause()
        reopened = chat(app).store.load(conv_id)
        answer = reopened.messages[-1]
        assert answer.thinking == "".join(REASONING) and answer.thinking_s > 0
        await chat(app).open_conversation(reopened)
        await pilot.pause()
        view = chat(app).messages.views[-1]
        assert view.thinking is not None and not view.thinking.is_open
        assert header(view).startswith(f"▸ Thought for {span(answer.thinking_s)}")
        assert "Let me weigh" not in screen_text(app)
        assert view.thinking._body is None  # built when first opened, not before
        await pilot.press("alt+t")
        await pilot.pause()
        assert "Let me weigh the options." in screen_text(app)


async def test_a_search_hit_in_the_thinking_opens_it(build, engine: ScriptedEngine) -> None:
    engine.scripts = [Script(["Blue."], thinking=["Ouagadougou is ", "not a colour."]),
                      Script(["Fine."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        target = chat(app).conversation
        await pilot.press("ctrl+n")
        await send(pilot, "How are you?")
        await idle(app, pilot)
        await pilot.press("ctrl+f")
        await pilot.pause()
        await pilot.press(*"ouagadou")
        await wait_for(lambda: app.screen.query_one("#hits").option_count == 1, pilot)
        await pilot.press("enter")
        await wait_for(lambda: chat(app).conversation is target, pilot)
        await pilot.pause()
        view = chat(app).messages.views[-1]
        assert view.has_class("-hit") and view.thinking.is_open
        assert "Ouagadougou is not a colour." in screen_text(app)


async def test_set_think_is_stored_sent_shown_and_in_the_palette(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["Blue."])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "/set think high")
        await pilot.pause()
        screen = chat(app)
        assert screen.conversation.think == "high"
        assert "think high" in str(screen.status.render())
        assert "Think set to high" in screen_text(app)
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        assert engine.requests[-1].options.think == "high"
        await send(pilot, "/show parameters")
        await pilot.pause()
        assert "Think: high" in screen_text(app)
        await palette(pilot, "Think: off")
        await wait_for(lambda: screen.conversation.think is False, pilot)
        assert "think off" in str(screen.status.render())
        events = [e for e in transcript_events(screen.conversation.id) if "think" in e]
        assert events[-1]["think"] is False
        await send(pilot, "/set think default")
        await pilot.pause()
        assert screen.conversation.think is None
        assert "think" not in str(screen.status.render())


async def test_the_context_meter_counts_no_thinking(build, engine: ScriptedEngine) -> None:
    """2,000 words of reasoning, one-word answer: the meter counts what is sent."""
    engine.scripts = [Script(["Blue."], thinking=["word "] * 2000)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await idle(app, pilot)
        screen = chat(app)
        assert len(screen.conversation.messages[-1].thinking.split()) == 2000
        await wait_for(lambda: screen.status.context_used > 0, pilot)
        used = screen.status.context_used
        assert 3 <= used < 200, used  # the prompt, the answer and the mode's system prompt


def test_show_thinking_setting_is_checked() -> None:
    assert parse_settings('[chat]\nshow_thinking = "open"\n').chat.show_thinking == "open"
    settings = parse_settings('[chat]\nshow_thinking = "sometimes"\n')
    assert settings.chat.show_thinking == "fold"
    assert any("chat.show_thinking must be fold or open" in w for w in settings.warnings)


@pytest.mark.parametrize("show", ["open", "fold"])
async def test_long_thinking_shown_after_the_answer_shows_every_part(
    build, engine: ScriptedEngine, show: str
) -> None:
    """Parts of the reasoning far above the bottom are folded while it streams; shown
    after the answer (kept open, or opened by the key), reading back up finds them."""
    paragraphs = [f"Paragraph {i} of the reasoning goes on for a while here.\n\n"
                  for i in range(150)]
    engine.scripts = [Script(["Done."], thinking=paragraphs, delay=0.002)]
    settings = Settings()
    settings.chat.show_thinking = show
    app = build(settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Think hard.")
        await idle(app, pilot)
        view = chat(app).messages.views[-1]
        body = view.thinking._body
        assert body is not None and len(body.children) > 3  # frozen parts, folded far up
        if show == "fold":
            await pilot.press("alt+t")
            await pilot.pause()
        assert view.thinking.is_open
        first = next(c for c in body.children if c.display)
        chat(app).messages.release_anchor()
        chat(app).messages.scroll_to_widget(first, animate=False, top=True)
        await pilot.pause()
        await pilot.pause()
        assert "Paragraph 0 of the reasoning" in screen_text(app)


async def test_reasoning_after_the_block_ended_makes_it_live_again(build) -> None:
    """A continued answer may think again: the block opens, its time goes on."""
    app = build()
    async with app.run_test() as pilot:
        block = ThinkingBlock("First thoughts.", 3.0, hint="alt+t")
        await chat(app).messages.mount(block)
        await pilot.pause()
        assert not block.is_open and not block.live
        await block.write(" More thoughts.")
        await pilot.pause()
        assert block.live and block.is_open and block.seconds >= 3.0
        await block.end(5.0, fold=True)
        await pilot.pause()
        assert not block.is_open and block.text == "First thoughts. More thoughts."
        assert str(block.query_one(".thinking-header").render()) == (
            "▸ Thought for 5 s  (alt+t shows)")


async def test_scrolling_up_through_long_live_thinking_shows_its_text(
    build, engine: ScriptedEngine
) -> None:
    """While the model still thinks, reading back up finds the reasoning, not blanks."""
    paragraphs = [f"Paragraph {i} of the reasoning goes on for a while here.\n\n"
                  for i in range(150)]
    engine.scripts = [Script(["Done."], thinking=paragraphs, delay=0.002, hold_after=0)]
    app = build()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Think hard.")
        await wait_for(engine.held.is_set, pilot)
        view = chat(app).messages.views[-1]
        body = view.thinking._body
        await wait_for(lambda: body.hidden_chunks > 0, pilot)  # far parts hidden meanwhile
        assert view.thinking.live
        first = next(c for c in body.children if c.display)
        messages = chat(app).messages
        messages.release_anchor()
        messages.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        messages.scroll_to_widget(first, animate=False, top=True)
        for _ in range(4):
            await pilot.pause()
        assert "Paragraph 0 of the reasoning" in screen_text(app)
        engine.release()
        await idle(app, pilot)


async def test_the_wait_before_any_token_counts_seconds_even_without_animation(
    build, engine: ScriptedEngine
) -> None:
    """A model reading a long prompt says nothing for a while: the footer still moves."""
    engine.scripts = [Script(["Blue."], hold_after=0)]
    app = build()
    app.animation_level = "none"  # no spinner frames
    async with app.run_test() as pilot:
        await send(pilot, "Pick a colour.")
        await wait_for(engine.held.is_set, pilot)
        view = chat(app).messages.views[-1]
        assert "Thinking…" in footer(view)
        await wait_for(lambda: "Thinking… 1 s" in footer(view), pilot, timeout=4)
        await wait_for(lambda: "Thinking… 2 s" in footer(view), pilot, timeout=4)
        engine.release()
        await idle(app, pilot)
        assert "Thinking" not in footer(view)
