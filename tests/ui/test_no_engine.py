"""When no engine can come, nothing waits for one: prompts are never queued forever.

Detection that fails (an explicitly chosen engine whose address cannot be used,
say) used to leave "1 queued: sent when the engine is ready" on screen for good.
"""

from __future__ import annotations

import asyncio

from offyai_tui.engines.errors import EngineError
from tests.ui.conftest import chat, notices, screen_text, send, wait_for


class FailingRegistry:
    """Detection that ends in an error once the test lets it."""

    def __init__(self) -> None:
        self.go = asyncio.Event()

    async def detect(self):
        await self.go.wait()
        raise EngineError("OLLAMA_HOST = 'http://:::' is not a usable Ollama address")

    async def aclose(self) -> None:
        return None


async def test_prompts_queued_while_detecting_come_back_when_no_engine_can_come(build):
    registry = FailingRegistry()
    app = build(engine=None, registry=registry)
    async with app.run_test() as pilot:
        await pilot.pause()
        await send(pilot, "early bird")
        await pilot.pause()
        assert chat(app).queue, "sent during detection: queued"
        registry.go.set()
        await wait_for(lambda: not chat(app).queue, pilot)
        assert chat(app).prompt.text == "early bird"  # back in the prompt, nothing lost
        assert any("OLLAMA_HOST" in n for n in notices(app, "error"))


async def test_a_prompt_sent_with_no_engine_fails_visibly_instead_of_queueing(build):
    registry = FailingRegistry()
    registry.go.set()
    app = build(engine=None, registry=registry)
    async with app.run_test() as pilot:
        await wait_for(lambda: bool(app.engine_reason), pilot)
        await send(pilot, "hello")
        await wait_for(lambda: not chat(app).generating and len(chat(app).conversation.messages)
                       >= 1, pilot)
        await pilot.pause(0.2)
        assert not chat(app).queue
        assert "queued" not in chat(app).status.busy
        shown = " ".join(screen_text(app).split())
        assert "✗ Error" in shown and "no engine is" in shown and "OLLAMA_HOST" in shown, shown
