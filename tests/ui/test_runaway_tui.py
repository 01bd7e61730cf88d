"""The chat screen with answers that loop or fill the context: stopped, kept, and said so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from offyai_tui.chat.runaway import REPEATING_NOTE
from offyai_tui.engines.base import ChatStats
from offyai_tui.engines.llamacpp_answer import CONTEXT_FULL_NOTE
from tests.chat.test_runaway import SENTENCE, looping_answer
from tests.ui.conftest import SIZE, chat, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine


def _pieces(text: str, size: int = 6) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _ended(app: Any) -> Callable[[], bool]:
    def condition() -> bool:
        screen = chat(app)
        answers = [m for m in screen.conversation.messages if m.role == "assistant"]
        return bool(answers) and answers[-1].status != "streaming" and not screen.generating

    return condition


async def test_a_looping_answer_stops_with_its_note_and_keeps_its_text(
    build: Callable[..., Any], engine: ScriptedEngine
) -> None:
    chunks = _pieces(looping_answer(times=400))
    engine.scripts.append(Script(chunks))
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "How can a modal screen return a value?")
        await wait_for(_ended(app), pilot, timeout=30)
        answer = chat(app).conversation.messages[-1]
        assert answer.status == "stopped"
        assert answer.stats["note"] == REPEATING_NOTE
        assert SENTENCE[:30] in answer.content
        assert len(answer.content) < len("".join(chunks)) / 10  # cut early, not at the end
        await pilot.pause()
        assert REPEATING_NOTE in screen_text(app)
        conv_id = chat(app).conversation.id
    saved = [e for e in transcript_events(conv_id) if e.get("type") == "message"][-1]
    assert saved["status"] == "stopped" and saved["stats"]["note"] == REPEATING_NOTE


async def test_an_answer_that_filled_the_context_says_so(
    build: Callable[..., Any], engine: ScriptedEngine
) -> None:
    stats = ChatStats(model="fake-model", completion_tokens=3, done_reason="length",
                      note=CONTEXT_FULL_NOTE)  # what the embedded engine reports
    engine.scripts.append(Script(["Once ", "upon ", "a time"], stats=stats))
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Tell me a story.")
        await wait_for(_ended(app), pilot, timeout=30)
        answer = chat(app).conversation.messages[-1]
        assert answer.status == "complete" and answer.content == "Once upon a time"
        await pilot.pause()
        assert "stopped: the context window is full" in screen_text(app)
