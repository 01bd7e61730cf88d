"""The Models screen and a vision model's projector: import brings it, the details
name it, delete takes it along. Real files (a copy of the bundled SmolLM2 and a
projector written by :mod:`tests.engines.mmproj`) and the real embedded engine."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from offyai_tui.engines import bundled
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.hw.hardware import Hardware, format_bytes
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines
from offyai_tui.ui.widgets.models.details import ModelDetailsScreen
from tests.engines.mmproj import write_projector

HW = Hardware("CPU", 4, 8, 16 * 1024**3, 12 * 1024**3, system="Linux")


class Host(App[None]):
    def __init__(self, screen: ModelsScreen) -> None:
        super().__init__()
        self.models = screen

    def on_mount(self) -> None:
        self.push_screen(self.models)


async def settle(app: App[None]) -> None:
    for _ in range(300):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0.02)
        if all(w.is_finished for w in app.workers):
            return
    raise AssertionError("workers did not finish")


async def submit(app: Host, pilot: Pilot[None], path: Path) -> None:
    """Type ``path`` into the import box and press Enter, then wait for the import."""
    box = app.models.query_one("#import-path", Input)
    box.value = str(path)
    box.focus()
    await pilot.press("enter")
    await pilot.pause()
    await settle(app)


async def details_of(app: Host, key: str) -> str:
    """The overview the details dialog shows for the row ``key``."""
    screen = app.models
    assert screen.table.select_key(key), [r.key for r in screen.table.rows_shown]
    await asyncio.sleep(0)
    screen.action_details()
    await asyncio.sleep(0.05)
    dialog = app.screen
    assert isinstance(dialog, ModelDetailsScreen)
    text = str(dialog.query_one("#details-overview").content)
    dialog.dismiss(None)
    return text


async def test_import_details_and_delete_of_a_vision_model(tmp_path: Path) -> None:
    shutil.copyfile(bundled.smollm2_path(), tmp_path / "seer-Q4_1.gguf")
    write_projector(tmp_path / "mmproj-F16.gguf", bundled.gemma3_path())
    engine = LlamaCppEngine(Settings())
    screen = ModelsScreen(StaticEngines([engine]), Settings(), hardware=HW)
    app = Host(screen)
    try:
        async with app.run_test(size=(140, 50)) as pilot:
            await settle(app)
            await submit(app, pilot, tmp_path / "mmproj-F16.gguf")
            assert screen.import_panel.status_text.startswith(
                "mmproj-F16.gguf is a multimodal projector, not a chat model"
            )
            await submit(app, pilot, tmp_path / "seer-Q4_1.gguf")
            assert screen.import_panel.status_text.endswith(
                "; with its projector mmproj-F16.gguf (vision)"
            )
            seer = await details_of(app, "llamacpp/seer-Q4_1")
            assert "capabilities chat, vision" in seer
            assert "vision       through the projector mmproj-F16.gguf beside it" in seer
            smol = await details_of(app, "llamacpp/smollm2-135m-instruct")
            assert "vision       none: no projector (mmproj*.gguf) beside its file" in smol

            assert screen.table.select_key("llamacpp/seer-Q4_1")
            screen.table.focus()
            await pilot.pause()
            await pilot.press("d")
            await settle(app)
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            question = str(app.screen.query_one(".question").content)
            size = format_bytes((tmp_path / "mmproj-F16.gguf").stat().st_size)
            assert question.endswith(f" Its projector mmproj-F16.gguf ({size}) is deleted too.")
            await pilot.press("y")
            await settle(app)
            assert screen.status_text.startswith("deleted seer-Q4_1 from llama.cpp; freed ")
            assert screen.status_text.endswith("; also deleted its projector mmproj-F16.gguf")
    finally:
        await engine.aclose()
    assert list(locations.models_dir().iterdir()) == []
