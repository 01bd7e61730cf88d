"""``/show parameters`` in the chat screen names what the model really samples with.

Against the Ollama stand-in: a model made with a Modelfile temperature, and the
default ``[chat]`` (no temperature set), so the request sends none and the note
says the model file's value applies.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from offyai_tui.engines.ollama import OllamaEngine
from tests.engines.test_sampling import ADVISED, create_advised
from tests.ollama_fixtures import ollama_settings
from tests.ui.conftest import chat, send, wait_for

pytestmark = pytest.mark.slow


def notes(app: Any) -> list[str]:
    return [str(n.render()) for n in chat(app).messages.query(".note").results()]


def last_chat(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]


async def test_show_parameters_names_the_modelfiles_temperature(
    build: Any, ollama_server: str
) -> None:
    create_advised(ollama_server)
    settings = ollama_settings(ollama_server)
    settings.chat.model = ADVISED
    engine = OllamaEngine(settings)
    app = build(settings=settings, engine=engine)
    try:
        async with app.run_test() as pilot:
            await send(pilot, "/show parameters")
            await wait_for(lambda: any("temperature" in n for n in notes(app)), pilot)
            shown = next(n for n in notes(app) if "temperature" in n)
            assert f"{'temperature':<17} 0.6  (model file)" in shown, shown
            assert f"{'top_p':<17} 0.9  (default)" in shown, shown
            await send(pilot, "/set parameter num_predict 3")
            await send(pilot, "Say hi.")
            await wait_for(lambda: len(chat(app).messages.views) == 2
                           and not chat(app).generating, pilot, timeout=60)
            await pilot.pause()
            assert chat(app).messages.views[-1].message.status == "complete"
            sent = last_chat(ollama_server)
            assert sent["model"] == ADVISED and "temperature" not in sent["options"]
    finally:
        await engine.delete(ADVISED)
        await engine.aclose()
