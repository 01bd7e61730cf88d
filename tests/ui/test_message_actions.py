"""Per-message actions by keyboard: select, copy any message, delete a turn (asked
first), and a continue refused by an engine that cannot continue in place.

A scripted engine answers: these are about the keys and the transcript, not a model.
"""

from __future__ import annotations

from offyai_tui.engines.errors import EngineUnavailable
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from tests.ui.conftest import chat, idle, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def two_turns(pilot, engine: ScriptedEngine) -> None:
    engine.scripts = [Script(["first answer"]), Script(["second answer"])]
    await send(pilot, "one")
    await idle(pilot.app, pilot)
    await send(pilot, "two")
    await idle(pilot.app, pilot)


async def test_up_down_select_messages_and_esc_goes_back_to_the_prompt(
    build, engine: ScriptedEngine
) -> None:
    app = build()
    async with app.run_test() as pilot:
        await two_turns(pilot, engine)
        screen = chat(app)
        ids = [m.id for m in screen.conversation.messages]
        await pilot.press("alt+up")
        assert screen.messages.has_focus and screen.messages.selected == ids[-1]
        await pilot.press("up", "up", "up", "up", "up")  # stops at the first
        assert screen.messages.selected == ids[0]
        selected = [v for v in screen.messages.views if v.has_class("-selected")]
        assert [v.message.id for v in selected] == [ids[0]]
        await pilot.press("down")
        assert screen.messages.selected == ids[1]
        await pilot.press("escape")
        assert screen.prompt.has_focus and not screen.generating


async def test_copy_any_message_not_only_the_last(build, engine: ScriptedEngine) -> None:
    app = build()
    async with app.run_test() as pilot:
        await two_turns(pilot, engine)
        await pilot.press("alt+up", "up", "up", "c")
        assert app.clipboard == "first answer"
        await pilot.press("up", "c")
        assert app.clipboard == "one"
        assert "Copied your message" in notes(app)


async def test_delete_a_prompt_and_its_answers_after_a_yes(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["first answer"]), Script(["second answer"]),
                      Script(["another second answer"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "one")
        await idle(app, pilot)
        await send(pilot, "two")
        await idle(app, pilot)
        await pilot.press("ctrl+r")  # a second version of the answer to "two"
        await idle(app, pilot)
        screen = chat(app)
        conv = screen.conversation
        two = conv.messages[2]
        answers = [m.id for m in conv.tree.children(two.id)]
        assert len(answers) == 2
        await pilot.press("alt+up", "delete")  # on an answer: its prompt goes, asked first
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        assert "two" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert len(conv.messages) == 4 and not any(
            e.get("type") == "deleted" for e in transcript_events(conv.id))
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        await pilot.press("y")
        await wait_for(lambda: len(conv.messages) == 2, pilot)
        assert [m.content for m in conv.messages] == ["one", "first answer"]
        deleted = {e["id"] for e in transcript_events(conv.id) if e.get("type") == "deleted"}
        assert deleted == {two.id, *answers}
        assert [v.message.content for v in screen.messages.views] == ["one", "first answer"]
        assert screen.messages.has_focus
        assert screen.messages.selected == conv.messages[-1].id


async def test_deleting_an_edited_first_prompt_leaves_the_later_ones_without_versions(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["hi"]), Script(["hello there"]), Script(["second answer"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "helo")
        await idle(app, pilot)
        await pilot.press("alt+up", "up", "e", *["backspace"] * 4, *"hello", "enter")
        await idle(app, pilot)
        await send(pilot, "two")
        await idle(app, pilot)
        screen = chat(app)
        conv = screen.conversation
        assert "‹ 2/2 ›" in screen_text(app)
        await pilot.press("alt+up", "up", "up", "up")  # the edited first prompt
        assert screen.messages.selected == conv.messages[0].id
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot)
        assert "(and its 1 other version)" in screen_text(app)
        await pilot.press("y")
        await wait_for(lambda: len(conv.messages) == 2, pilot)
        await pilot.pause()
        assert [v.message.content for v in screen.messages.views] == ["two", "second answer"]
        assert "‹" not in screen_text(app) and len(conv.tree) == 2
        deleted = [e for e in transcript_events(conv.id) if e.get("type") == "deleted"]
        assert len(deleted) == 4


async def test_a_regenerate_that_fails_before_its_first_word_keeps_the_answer_shown(
    build, engine: ScriptedEngine
) -> None:
    down = "Ollama is not running at http://127.0.0.1:11434 (connection refused)"
    engine.scripts = [Script(["first answer"]),
                      Script([], error=EngineUnavailable(down), hold_after=0)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "one")
        await idle(app, pilot)
        screen = chat(app)
        conv = screen.conversation
        shown = [m.id for m in conv.messages]
        await pilot.press("ctrl+r")
        await wait_for(engine.held.is_set, pilot)
        engine.release()
        await idle(app, pilot)
        await pilot.pause()
        assert [m.id for m in conv.messages] == shown and len(conv.tree) == 2
        views = screen.messages.views
        assert [(v.message.content, v.status) for v in views] == [
            ("one", "complete"), ("first answer", "complete")]
        assert "‹" not in screen_text(app) and down in notes(app)
        events = [e.get("type") for e in transcript_events(conv.id)]
        assert events[-2:] == ["deleted", "shown"]


class Continues(ScriptedEngine):
    IMPLEMENTS_CONTINUE = True


async def test_a_continue_that_fails_before_its_first_word_leaves_the_answer_stopped(
    build,
) -> None:
    down = "Ollama is not running at http://127.0.0.1:11434 (connection refused)"
    engine = Continues(scripts=[Script(["partial ", "answer", " never sent"], hold_after=2),
                                Script([], error=EngineUnavailable(down))])
    app = build(engine=engine)
    async with app.run_test() as pilot:
        await send(pilot, "tell me")
        await wait_for(engine.held.is_set, pilot)
        await pilot.press("escape")
        await idle(app, pilot)
        answer = chat(app).conversation.messages[-1]
        assert answer.status == "stopped"
        await pilot.press("ctrl+g")
        await idle(app, pilot)
        assert engine.requests[-1].messages[-1].content == "partial answer"
        assert answer.status == "stopped" and answer.content == "partial answer"
        assert chat(app).messages.views[-1].status == "stopped" and down in notes(app)
        assert chat(app).conversation.continue_problem(answer.id) == ""


async def test_an_engine_that_cannot_continue_says_so_in_one_line(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["partial ", "answer", " never sent"], hold_after=2)]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "tell me")
        await wait_for(engine.held.is_set, pilot)
        await pilot.press("escape")
        await idle(app, pilot)
        answer = chat(app).conversation.messages[-1]
        assert answer.status == "stopped"
        requests = len(engine.requests)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert any("cannot continue an answer in place; regenerate it instead (^r)" in n
                   for n in notes(app))
        assert len(engine.requests) == requests and not chat(app).generating
        assert answer.status == "stopped" and chat(app).messages.views[-1].status == "stopped"


async def test_keys_that_need_versions_or_a_prompt_say_why_not(
    build, engine: ScriptedEngine
) -> None:
    app = build()
    async with app.run_test() as pilot:
        await two_turns(pilot, engine)
        await pilot.press("alt+right")
        assert "This message has no other versions." in notes(app)
        await pilot.press("alt+up", "e")  # an answer is not editable
        assert "Only your own messages can be edited." in notes(app)
        assert chat(app).variants.editing is None


async def test_help_lists_the_new_keys_and_remapped_ones_work(build, engine) -> None:
    from textual.widgets import DataTable

    from offyai_tui.settings.config import Settings
    from offyai_tui.ui.screens.help import HelpScreen

    settings = Settings(keys={"messages.copy": "y", "chat.messages": "f9"})
    app = build(settings=settings)
    async with app.run_test(size=(130, 60)) as pilot:
        await two_turns(pilot, engine)
        await pilot.press("f9", "up", "c")  # c is no longer the copy key
        assert app.clipboard != "two"
        await pilot.press("y")
        assert app.clipboard == "two"
        footer = screen_text(app).splitlines()[-1]
        assert "Edit" in footer and "Back to prompt" in footer  # the list's keys, shown
        await pilot.press("escape", "f1")
        await wait_for(lambda: isinstance(app.screen, HelpScreen), pilot)
        table = app.screen.query_one(DataTable)
        rows = {str(table.get_row_at(i)[3]): [str(cell) for cell in table.get_row_at(i)]
                for i in range(table.row_count)}
        assert rows["chat.retry"][1] == "Regenerate (or retry) the last answer"
        assert rows["chat.messages"][0] == "f9" and rows["messages.copy"][0] == "y"
        assert {"chat.variant_previous", "chat.variant_next", "chat.continue",
                "messages.edit", "messages.delete", "messages.leave"} <= set(rows)
        notes_text = " ".join(str(n.render()) for n in app.screen.query(".notes"))
        assert "Versions: a regenerated answer" in notes_text


async def test_alt_left_on_the_prompt_cycles_the_last_prompt_when_only_it_has_versions(
    build, engine: ScriptedEngine
) -> None:
    engine.scripts = [Script(["an answer"]), Script(["to the edit"])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "first")
        await idle(app, pilot)
        await pilot.press("alt+up", "up", "e", "ctrl+u", *"second", "enter")
        await idle(app, pilot)
        conv = chat(app).conversation
        assert [m.content for m in conv.messages] == ["second", "to the edit"]
        await pilot.press("alt+left")
        await pilot.pause()
        assert [m.content for m in conv.messages] == ["first", "an answer"]
        assert "‹ 1/2 ›" in screen_text(app)
