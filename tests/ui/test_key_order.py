"""Keys posted without waiting between them are applied once each, in arrival order.

Pilot's ``press`` waits for the app to settle after every key, which hides
reordering; a terminal does not wait. These tests post a whole burst into the
app's queue at once, as the driver does with one read, and check what each
text field made of it.
"""

from __future__ import annotations

import sys

from textual import events

from offyai_tui.ui.screens.chat import ChatScreen
from offyai_tui.ui.screens.dialogs import TextEntryScreen
from tests.ui.conftest import chat, idle, notices, wait_for
from tests.ui.fakes import ScriptedEngine

NAMED = {
    "\r": ("enter", "\r"),
    "\n": ("ctrl+j", "\n"),
    "\x7f": ("backspace", "\x7f"),
    "\x1b": ("escape", "\x1b"),
    " ": ("space", " "),
    "?": ("question_mark", "?"),
    "!": ("exclamation_mark", "!"),
    ",": ("comma", ","),
    ".": ("full_stop", "."),
}


def burst(keys: str | list[str]) -> list[events.Key]:
    """Key events for ``keys``: characters, or names like ``left``/``f2`` in a list."""
    out = []
    for key in keys:
        if key in NAMED:
            out.append(events.Key(*NAMED[key]))
        elif len(key) == 1:
            out.append(events.Key(key, key))
        else:
            out.append(events.Key(key, None))
    return out


def post(app, keys: str | list[str]) -> None:
    for event in burst(keys):
        app.post_message(event)


def prompt_focused(app) -> bool:
    screen = app.screen
    return isinstance(screen, ChatScreen) and app.focused is screen.prompt


def sent(engine: ScriptedEngine) -> list[str]:
    return [request.messages[-1].content for request in engine.requests]


async def test_a_burst_with_enter_backspace_arrows_and_ctrl_j_sends_what_was_typed(
    build, engine: ScriptedEngine
):
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "hello one.\r")
        post(app, "two\x7fo.\r")
        post(app, [*"thre", "left", "e", "right", "!", "\r"])
        post(app, "a\nb\rnext")
        await wait_for(lambda: len(engine.requests) == 4, pilot)
        await idle(app, pilot)
        assert sent(engine) == ["hello one.", "two.", "three!", "a\nb"]
        assert chat(app).prompt.text == "next"


async def test_keys_after_f2_in_the_same_burst_go_to_the_rename_box(build):
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "hi\r")
        await idle(app, pilot)
        screen = chat(app)
        post(app, ["f2", "ctrl+u", *"Renamed fast", "\r", *"back in the prompt"])
        await wait_for(lambda: screen.prompt.text == "back in the prompt", pilot)
        assert screen.conversation.title == "Renamed fast"
        assert not isinstance(app.screen, TextEntryScreen)


async def test_a_slash_command_and_a_message_in_one_burst(build, engine: ScriptedEngine):
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "first\r")
        post(app, "/clear\rafter the clear\r/set parameter temperature 0\rlast\r")
        await wait_for(lambda: len(engine.requests) == 3, pilot)
        await idle(app, pilot)
        assert sent(engine) == ["first", "after the clear", "last"]
        assert engine.requests[2].options.temperature == 0


async def test_alt_d_toggles_documents_and_types_nothing(build):
    """Textual reports ESC d (split over two reads) as ``alt+d`` with the character d."""
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "ab")
        app.post_message(events.Key("alt+d", "d"))
        app.post_message(events.Key("alt+x", "x"))  # unbound: ignored, not typed
        post(app, "c")
        await wait_for(lambda: chat(app).prompt.text == "abc", pilot)
        assert chat(app).conversation.documents
        assert any("Documents on" in n for n in notices(app))


async def test_a_paste_stays_one_prompt_and_shows_escapes_inert(build, engine: ScriptedEngine):
    pasted = "\x1b[31mfailed\x1b[0m at line 3\r\nline3 end\rline1 ok\nerror: \x07"
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "see: ")
        app.post_message(events.Paste(pasted))
        post(app, "\r")
        await wait_for(lambda: len(engine.requests) == 1, pilot)
        await idle(app, pilot)
        assert sent(engine) == [
            "see: ␛[31mfailed␛[0m at line 3\nline3 end\nline1 ok\nerror: ␇"
        ]


async def test_output_flushed_while_the_app_runs_still_works(build):
    """The key gate must not shadow Textual's own methods (stderr is flushed through one)."""
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        print("a library's warning", file=sys.stderr, flush=True)
        post(app, "still typing")
        await wait_for(lambda: chat(app).prompt.text == "still typing", pilot)


async def test_keys_after_ctrl_p_and_ctrl_f_go_to_the_box_that_opens(build):
    from textual.command import CommandInput
    from textual.widgets import Input

    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, ["ctrl+p", *"Mode: Coder"])
        await wait_for(lambda: isinstance(app.focused, CommandInput), pilot)
        await wait_for(lambda: app.focused.value == "Mode: Coder", pilot)
        post(app, ["escape", "ctrl+f", *"needle"])
        await wait_for(lambda: getattr(app.focused, "id", None) == "query", pilot)
        await wait_for(lambda: app.screen.query_one("#query", Input).value == "needle", pilot)
        post(app, ["escape", *"back"])
        await wait_for(lambda: prompt_focused(app) and chat(app).prompt.text == "back", pilot)


async def test_backspace_in_a_burst_deletes_what_was_there_before_it(build):
    """A burst is one edit where it can be, but Backspace still reaches earlier text."""
    app = build()
    async with app.run_test() as pilot:
        await wait_for(lambda: prompt_focused(app), pilot)
        post(app, "abc")
        await wait_for(lambda: chat(app).prompt.text == "abc", pilot)
        post(app, ["\x7f", "\x7f", "Z", "\n", "y", "\x7f", "\x7f", "\x7f", "x"])
        await wait_for(lambda: chat(app).prompt.text == "ax", pilot)
