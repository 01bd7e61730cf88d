"""App shell: engine detection, help, keymap, themes, clipboard, optional screens."""

from __future__ import annotations

import asyncio
import sys
import types

from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings, load_settings
from offyai_tui.ui.bindings import binding_ids
from offyai_tui.ui.screens.help import HelpScreen
from tests.ui.conftest import chat, idle, notices, palette, screen_text, send, wait_for
from tests.ui.fakes import Script, ScriptedEngine


class SlowRegistry:
    """Stands in for EngineRegistry: detection finishes when the test says so."""

    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine
        self.go = asyncio.Event()
        self.closed = False

    async def detect(self):
        from offyai_tui.engines.registry import Selection

        await self.go.wait()
        return Selection(self.engine, "scripted engine answered")

    async def all_models(self):
        return await self.engine.list_models()

    def engine_for(self, kind: str):
        return self.engine

    async def aclose(self) -> None:
        self.closed = True


async def test_first_frame_does_not_wait_for_detection(build, engine: ScriptedEngine):
    registry = SlowRegistry(engine)
    app = build(engine=None, registry=registry)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "detecting engine…" in screen_text(app)
        await send(pilot, "early bird")
        await pilot.pause()
        assert "queued" in screen_text(app)
        registry.go.set()
        await wait_for(lambda: len(chat(app).conversation.messages) == 2, pilot)
        await idle(app, pilot)
        assert chat(app).status.engine == "fake"
        assert [m.content for m in chat(app).conversation.messages] == ["early bird", "ok"]
    assert registry.closed


async def test_remote_engine_is_marked(build):
    app = build(engine=ScriptedEngine(remote=True))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert "REMOTE" in screen_text(app)


async def test_help_lists_every_binding(build):
    app = build()
    async with app.run_test() as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(
            str(app.screen.query_one("#keys").get_row_at(i)) for i in
            range(app.screen.query_one("#keys").row_count)
        )
        for binding_id in binding_ids():
            assert binding_id in text
        notes = " ".join(str(n.render()) for n in app.screen.query(".notes").results())
        assert "queued" in notes and "/set parameter" in notes
        assert "OffyAI keys" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_question_mark_opens_help_only_outside_the_prompt(build):
    app = build()
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        assert chat(app).prompt.text == "?"
        chat(app).messages.focus()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_user_keymap_remaps_by_id(build):
    settings = Settings(keys={"chat.new": "ctrl+t", "no.such.binding": "x"})
    app = build(settings=settings)
    async with app.run_test() as pilot:
        await send(pilot, "hello")
        await idle(app, pilot)
        first = chat(app).conversation
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert chat(app).conversation is not first
        assert any("no.such.binding" in n for n in notices(app))


async def test_theme_from_palette_is_remembered(build):
    app = build()
    async with app.run_test() as pilot:
        assert app.theme == "offyai-dark"
        await palette(pilot, "Theme: offyai-light")
        await wait_for(lambda: app.theme == "offyai-light", pilot)
        await pilot.pause()
    config = locations.config_file().read_text(encoding="utf-8")
    assert 'theme = "offyai-light"' in config
    again = build(settings=load_settings())
    async with again.run_test():
        assert again.theme == "offyai-light"


async def test_copy_answer_and_code_blocks(build, engine: ScriptedEngine):
    answer = "Two ways:\n\n```python\nprint(1)\n```\n\nor\n\n```sh\necho 2\n```\n"
    engine.scripts = [Script([answer])]
    app = build()
    async with app.run_test() as pilot:
        await send(pilot, "show me")
        await idle(app, pilot)
        await pilot.press("alt+c")
        assert app.clipboard == answer
        await pilot.press("alt+b")
        assert app.clipboard == "echo 2\n"
        await pilot.press("alt+b")
        assert app.clipboard == "print(1)\n"
        assert any("code block 1 of 2 (python)" in n for n in notices(app))


async def test_optional_screens_open_through_their_module_hook(build, monkeypatch):
    from textual.screen import Screen

    class Extra(Screen):
        pass

    module = types.ModuleType("offyai_tui.ui.screens.extra")
    module.make_screen = lambda app: Extra()
    monkeypatch.setitem(sys.modules, "offyai_tui.ui.screens.extra", module)
    app = build()
    async with app.run_test() as pilot:
        app.action_open_screen("missing_one")
        await pilot.pause()
        assert any("missing_one screen is not available" in n for n in notices(app))
        app.action_open_screen("extra")
        await pilot.pause()
        assert isinstance(app.screen, Extra)


async def test_starting_the_app_writes_no_config(build):
    app = build()
    async with app.run_test() as pilot:
        await pilot.pause()
    assert not locations.config_file().exists()



async def test_context_meter_finishing_after_the_screen_is_torn_down_is_ignored(
    build, engine: ScriptedEngine
) -> None:
    """The meter is worked out off the key path; the screen may be torn down meanwhile."""
    app = build(engine=engine)
    async with app.run_test() as pilot:
        await idle(app, pilot)
        screen = chat(app)
        await screen.status.remove()  # as when the app closes while the meter runs
        worker = screen.update_context()
        await worker.wait()  # raises WorkerFailed on the old NoMatches for the gone bar
        assert worker.error is None
