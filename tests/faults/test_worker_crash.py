"""The llama.cpp worker dies mid-answer (SIGKILL, SIGSEGV): the app keeps going.

The real app under Pilot, the real embedded engine and the bundled SmolLM2;
the test kills the engine's chat worker by pid while tokens stream.
"""

from __future__ import annotations

import os
import signal

import pytest

from offyai_tui.chat import read_transcript
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import make_app
from tests.faults.conftest import (
    LONG_PROMPT,
    SIZE,
    answers_ended,
    chat,
    last_answer,
    real_settings,
    send,
    streaming_text,
    wait_for,
)
from tests.tmux import wait_gone
from tests.ui.conftest import screen_text

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
async def test_worker_death_mid_answer_keeps_the_partial_text_and_the_next_send_works(
    sig: signal.Signals,
) -> None:
    settings = real_settings()
    engine = LlamaCppEngine(settings)
    app = make_app(settings=settings, workspace=Workspace.open("default"), engine=engine)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = chat(app)
            await send(pilot, "/set parameter num_predict 400")
            await send(pilot, "/set parameter temperature 0")  # a long answer, every run
            await send(pilot, LONG_PROMPT)
            await wait_for(lambda: len(streaming_text(screen).split()) >= 6, pilot,
                           what="six streamed words")
            seen = streaming_text(screen)
            victim = engine.worker_pid
            assert victim is not None
            os.kill(victim, sig)
            await wait_for(answers_ended(screen, 1), pilot, timeout=20, what="the answer ended")

            answer = last_answer(screen)
            assert answer.status == "error"
            assert sig.name in answer.error, answer.error
            assert answer.content.startswith(seen)  # the partial text is kept
            shown = screen_text(app)
            assert "Error" in shown
            assert seen.split()[0] in shown
            saved = read_transcript(screen.store.path_for(screen.conversation.id))
            assert saved.warnings == []
            assert (saved.messages[-1].status, saved.messages[-1].content) == (
                "error",
                answer.content,
            )
            assert wait_gone(victim, 5)

            await send(pilot, "/set parameter num_predict 8")
            await send(pilot, "Say hi.")
            await wait_for(answers_ended(screen, 2), pilot, what="the answer after the crash")
            again = last_answer(screen)
            assert again.status == "complete", again.error
            assert again.content.strip()
            assert engine.worker_pid not in (None, victim)  # a fresh worker answered
    finally:
        engine.close()
