"""Snapshots of versions: an answer regenerated twice shows ``‹ 3/3 ›``, cycled back
``‹ 2/3 ›``; a selected prompt being edited shows the note under the prompt.

Deterministic as :mod:`tests.ui.test_snapshots`: a scripted engine, fixed stats,
no animation and no cursor blink.
"""

from __future__ import annotations

from tests.ui.conftest import chat
from tests.ui.fakes import Script, ScriptedEngine
from tests.ui.test_snapshots import SIZE, ask, still_app


async def idle(pilot) -> None:
    while chat(pilot.app).generating:
        await pilot.pause(0.02)
    await pilot.pause()
    await pilot.pause()


def test_an_answer_shown_as_version_2_of_3(snap_compare) -> None:
    engine = ScriptedEngine(scripts=[Script(["Blue."]), Script(["Green, like grass."]),
                                     Script(["Red."])])

    async def run_before(pilot) -> None:
        await ask(pilot, "Name a colour.", engine)
        for _ in range(2):
            await pilot.press("ctrl+r")
            await idle(pilot)
        await pilot.press("alt+left")
        await idle(pilot)

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)


def test_editing_a_selected_prompt(snap_compare) -> None:
    engine = ScriptedEngine(scripts=[Script(["Blue."]), Script(["Green."])])

    async def run_before(pilot) -> None:
        await ask(pilot, "Name a colour.", engine)
        await pilot.press("ctrl+r")
        await idle(pilot)
        await pilot.press("alt+up", "up", "e")
        await pilot.pause()

    assert snap_compare(still_app(engine), terminal_size=SIZE, run_before=run_before)
