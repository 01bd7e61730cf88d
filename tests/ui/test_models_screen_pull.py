"""Pulling a model from the Models screen: per-layer progress, success, Ollama's error
message, and cancelling a running pull with Esc or the Cancel button.

Pulls go to the Ollama-protocol server of ``tests/ollama_server.py``; a scripted engine is
used only where a pull must be held still mid-way to be cancelled.
"""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Input, ProgressBar

from offyai_tui.engines.base import Engine
from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines
from offyai_tui.ui.widgets.models.layer import LayerBar
from tests.ui.models_helpers import NO_GPU, SIZE, Host, ShelfEngine, real_screen, settle, tags

# -- pull ------------------------------------------------------------------------------


async def test_pull_shows_each_layer_then_success(
    real_engines: list[Engine], settings: Settings, ollama_server: str
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("p")
        assert app.focused is screen.query_one("#pull-name", Input)
        await pilot.press(*"ui-pull-ok", "colon", *"1b", "enter")
        await settle(app)
        assert screen.pull_panel.status_text == "pulled ui-pull-ok:1b (4.1 MB)"
        bars = list(screen.query(LayerBar))
        assert len(bars) == 3
        assert all(bar.query_one(ProgressBar).percentage == 1.0 for bar in bars)
        assert screen.pull_panel.layer_details() == [
            "4.1 MB · done",
            "11.4 kB · done",
            "487 B · done",
        ]
        assert "ollama/ui-pull-ok:1b" in {row.key for row in screen.table.rows_shown}
        assert not screen.pull_panel.running
        assert screen.query_one("#pull-cancel", Button).disabled
    assert "ui-pull-ok:1b" in await tags(ollama_server)


async def test_pull_error_mid_stream_shows_ollamas_message(
    real_engines: list[Engine], settings: Settings, ollama_server: str
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        screen.query_one("#pull-name", Input).value = "bad-model"
        await pilot.click("#pull-start")
        await settle(app)
        status = screen.query_one("#pull-status")
        assert screen.pull_panel.status_text == (
            "could not pull 'bad-model': max retries exceeded: unexpected EOF"
        )
        assert status.has_class("-error")
        assert len(screen.query(LayerBar)) == 1  # it failed during the first layer
        assert not screen.pull_panel.running
        await pilot.press("escape", "r")  # the screen keeps working
        await settle(app)
        assert "ollama/smollm2:135m" in {row.key for row in screen.table.rows_shown}
    assert "bad-model:latest" not in await tags(ollama_server)


async def test_esc_cancels_a_running_pull_and_closes_the_stream() -> None:
    engine = ShelfEngine([])
    screen = ModelsScreen(StaticEngines([engine]), Settings(), hardware=NO_GPU)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        screen.query_one("#pull-name", Input).value = "qwen3:8b"
        await pilot.click("#pull-start")
        await asyncio.wait_for(engine.held.wait(), 5)
        await pilot.pause()
        assert screen.pull_panel.running
        assert not screen.query_one("#pull-cancel", Button).disabled
        assert screen.pull_panel.layer_details() == ["500 MB / 2.0 GB · – · – left"]
        await pilot.press("escape")
        await settle(app)
        assert engine.closed
        assert screen.pull_panel.status_text == "pull of qwen3:8b cancelled"
        assert not screen.pull_panel.running
        assert isinstance(app.screen, ModelsScreen)  # Esc cancelled; it did not leave


async def test_the_cancel_button_cancels_too() -> None:
    engine = ShelfEngine([])
    screen = ModelsScreen(StaticEngines([engine]), Settings(), hardware=NO_GPU)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        screen.query_one("#pull-name", Input).value = "mistral"
        await pilot.click("#pull-start")
        await asyncio.wait_for(engine.held.wait(), 5)
        await pilot.pause()
        await pilot.click("#pull-cancel")
        await settle(app)
        assert engine.closed
        assert screen.pull_panel.status_text == "pull of mistral cancelled"
