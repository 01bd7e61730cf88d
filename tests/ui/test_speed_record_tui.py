"""A finished answer in the chat screen lands in the speed log, with its placement.

The engine is the real Ollama client talking HTTP to the Ollama-protocol stand-in
(``tests/ollama_server.py``), whose ``/api/ps`` reports the loaded model on the CPU.
"""

from __future__ import annotations

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.hw.speedlog import SpeedLog
from offyai_tui.settings.config import Settings
from tests.ollama_server import CHAT_MODEL
from tests.ui.conftest import chat, idle, send, wait_for


async def test_a_finished_answer_is_recorded_with_where_it_ran(
    build, ollama_engine: OllamaEngine
) -> None:
    settings = Settings()
    settings.chat.model = CHAT_MODEL
    app = build(settings=settings, engine=ollama_engine)
    async with app.run_test() as pilot:
        await send(pilot, "Tell me a long story about a lighthouse keeper and the sea.")
        await idle(app, pilot)
        answer = chat(app).conversation.messages[-1]
        assert answer.status == "complete"
        await wait_for(lambda: bool(SpeedLog().runs(CHAT_MODEL)), pilot)
    (run,) = SpeedLog().runs(CHAT_MODEL)
    assert run.engine == "ollama"
    assert run.placement == "ram"
    assert run.size_bytes > 0
    assert run.tokens_per_s == answer.stats["tokens_per_s"]
    assert run.completion_tokens == answer.stats["completion_tokens"]
