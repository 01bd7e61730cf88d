"""Two OffyAI instances on one workspace: one writes, the other says it cannot.

Instance A is the real binary in tmux with the real engine; instance B runs in
this process under Pilot (a scripted engine: its answers must not land on disk,
so what it says does not matter). Both chat at the same time; afterwards every
transcript line must parse and hold only A's conversation.
"""

from __future__ import annotations

import pytest

from offyai_tui.chat import ConversationStore, read_transcript
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import make_app
from tests.e2e.conftest import (
    answered,
    chats_dir,
    events,
    set_parameter,
    start_tui,
    transcripts,
    wait_messages,
    wait_ready,
)
from tests.faults.conftest import SIZE, answers_ended, chat, send, wait_for
from tests.ui.conftest import screen_text
from tests.ui.fakes import Script, ScriptedEngine

pytestmark = pytest.mark.slow


async def test_second_instance_is_read_only_and_files_never_interleave(
    app_home, user_home
) -> None:
    with start_tui(app_home, user_home) as first:
        wait_ready(first)
        set_parameter(first, "num_predict", "12")
        first.submit("Alpha question one")
        wait_messages(app_home, answered(1), "A's first answer")

        engine = ScriptedEngine(scripts=[Script(["Quokka42 ", "answer ", "text"], delay=0.2)])
        second = make_app(settings=Settings(), workspace=Workspace.open("default"), engine=engine)
        async with second.run_test(size=SIZE) as pilot:
            screen = chat(second)
            assert screen.store.read_only
            assert screen.store.lock_holder_pid == first.pid
            shown = " ".join(screen_text(second).split())
            assert "Read-only" in shown and f"pid {first.pid}" in shown
            await send(pilot, "Quokka42 question")
            first.submit("Alpha question two")  # both answer at the same time
            await wait_for(answers_ended(screen, 1), pilot, timeout=15)
            assert screen.conversation.messages[-1].content == "Quokka42 answer text"
            wait_messages(app_home, answered(2), "A's second answer")

        first.send("C-q")
        assert first.wait_dead() == 0

    files = transcripts(app_home)
    assert len(files) == 1, files
    for path in chats_dir(app_home).iterdir():
        data = path.read_bytes()  # transcripts, the listing and the search index alike
        # The read-only instance's prompt and answer never reach disk (a marker the real
        # model in the first instance will not write on its own).
        assert b"Quokka42" not in data, path
    lines = events(files[0])  # every line is whole JSON
    assert lines[0]["type"] == "header"
    saved = read_transcript(files[0])
    assert saved.warnings == []
    assert [(m.role, m.status) for m in saved.messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ] * 2
    assert [m.content for m in saved.messages if m.role == "user"] == [
        "Alpha question one",
        "Alpha question two",
    ]
    # A has quit: the lock is free for the next instance.
    with ConversationStore.open(Workspace.open("default")) as store:
        assert not store.read_only
