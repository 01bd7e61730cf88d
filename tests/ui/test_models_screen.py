"""The Models screen, driven with Pilot: listing every engine's models with fit and
hardware, filtering and sorting the table, the command palette's actions, and a snapshot.

Real parts where they are cheap: the Ollama-protocol server of ``tests/ollama_server.py``
and the llama.cpp engine listing the bundled GGUFs (listing reads headers, it never loads
a model). A scripted engine is used where the result must not depend on what is installed.
Hardware facts are fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input

from offyai_tui.engines.base import Engine, ModelInfo
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.hw.hardware import SpeedLog
from offyai_tui.hw.speedlog import SpeedRun
from offyai_tui.settings.config import Settings
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines
from tests.ui.conftest import wait_for
from tests.ui.models_helpers import (
    LAPTOP,
    NO_GPU,
    SIZE,
    Host,
    ShelfEngine,
    real_screen,
    select,
    settle,
    text_of,
)

# -- listing -------------------------------------------------------------------------


async def test_lists_every_engine_with_metadata_fit_and_hardware(
    real_engines: list[Engine], settings: Settings
) -> None:
    screen = real_screen(real_engines, settings, LAPTOP)
    app = Host(screen)
    async with app.run_test(size=SIZE):
        await settle(app)
        rows = {row.key: row for row in screen.table.rows_shown}
        ollama = rows["ollama/smollm2:135m"]
        assert ollama.info.context_length == 8192  # from /api/show, not /api/tags
        assert ollama.details["template"].startswith("{% for message")
        # Predicted on the fixed RTX 3060; once loaded (an earlier test chatted), where
        # /api/ps says it is: the stand-in reports size_vram 0, the CPU.
        assert ollama.assessment.fit.label == ("CPU" if ollama.loaded else "GPU")
        embedder = rows["ollama/all-minilm:latest"]
        assert embedder.capabilities == ("embedding",) and embedder.assessment.speed is None
        local = rows["llamacpp/smollm2-135m-instruct"]
        assert (local.info.family, local.info.quantization) == ("llama", "Q4_1")
        assert local.assessment.speed is not None and local.assessment.speed.high_tps > 0
        panel = text_of(screen.query_one("#models-hardware"))
        assert "RTX 3060" in panel and "small" in panel and "embedding" in panel
        assert not screen.query_one("#pull-name", Input).disabled


async def test_pull_is_disabled_with_a_note_when_ollama_is_not_reachable() -> None:
    settings = Settings()
    settings.ollama.host = "127.0.0.1:9"  # nothing listens on the discard port
    engine = OllamaEngine(settings)
    screen = ModelsScreen(StaticEngines([engine]), settings, hardware=NO_GPU)
    app = Host(screen)
    try:
        async with app.run_test(size=SIZE):
            await settle(app)
            assert screen.query_one("#pull-name", Input).disabled
            assert screen.query_one("#pull-start", Button).disabled
            assert "pulling needs Ollama, which is not reachable at http://127.0.0.1:9" in (
                screen.pull_panel.status_text
            )
            notes = text_of(screen.query_one("#models-notes"))
            assert "not reachable: ollama at http://127.0.0.1:9" in notes
            assert screen.table.rows_shown == []
    finally:
        await engine.aclose()


# -- filter and sort ---------------------------------------------------------------------


async def test_typing_in_the_filter_narrows_the_table(
    real_engines: list[Engine], settings: Settings
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("slash", *"embedding")
        shown = {row.key for row in screen.table.rows_shown}
        assert shown == {"ollama/all-minilm:latest", "llamacpp/all-minilm-l6-v2"}
        field = screen.query_one("#models-filter", Input)
        field.value = ""
        await pilot.press(*"smollm2 llama.cpp")
        assert [row.key for row in screen.table.rows_shown] == ["llamacpp/smollm2-135m-instruct"]
        await pilot.press("enter")
        assert app.focused is screen.table
        assert screen.selected is not None and screen.selected.info.name == "smollm2-135m-instruct"


async def test_sorting_by_header_click_and_keys(
    real_engines: list[Engine], settings: Settings
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        table = screen.table
        names = [row.info.name.lower() for row in table.rows_shown]
        assert names == sorted(names)
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:5]) + 2
        await pilot.click("#models-table", offset=(x, 0))  # the Size header
        await wait_for(lambda: table.sort_column != "name", pilot)  # a header click is a message
        sizes = [row.info.size_bytes for row in table.rows_shown]
        assert table.sort_column == "size" and sizes == sorted(sizes)
        await pilot.click("#models-table", offset=(x, 0))
        await wait_for(lambda: table.sort_reverse, pilot)
        assert [row.info.size_bytes for row in table.rows_shown] == sorted(sizes, reverse=True)
        await pilot.press("s")  # next column: context
        contexts = [row.info.context_length for row in table.rows_shown]
        assert table.sort_column == "context" and contexts == sorted(contexts)
        assert screen.status_text == "sorted by context, ascending"
        await pilot.press("S")
        assert [row.info.context_length for row in table.rows_shown] == sorted(
            contexts, reverse=True
        )


async def test_palette_offers_the_actions_the_selected_model_allows() -> None:
    engine = ShelfEngine(
        [
            ModelInfo("qwen3:8b", "ollama", 5_200_000_000),
            ModelInfo("zeta-embed:latest", "ollama", 46_000_000, capabilities=("embed",)),
        ],
        loaded=["qwen3:8b"],
    )
    screen = ModelsScreen(StaticEngines([engine]), Settings(), hardware=NO_GPU)
    app = Host(screen)
    async with app.run_test(size=SIZE):
        await settle(app)
        await select(app, screen, "ollama/qwen3:8b")
        titles = [title for title, _, _ in await screen.palette_commands()]
        assert "Models: use qwen3:8b for chat" in titles
        assert "Models: use qwen3:8b for embeddings" not in titles
        assert {"Models: unload qwen3:8b", "Models: delete qwen3:8b"} <= set(titles)
        assert "Models: sort by size" in titles
        await select(app, screen, "ollama/zeta-embed:latest")
        commands = {title: run for title, _, run in await screen.palette_commands()}
        assert "Models: use zeta-embed:latest for chat" not in commands
        commands["Models: sort by size"]()
        assert [row.info.name for row in screen.table.rows_shown] == [
            "zeta-embed:latest",
            "qwen3:8b",
        ]
        assert screen.table.sort_column == "size"


# -- snapshot ----------------------------------------------------------------------------


def _shelf() -> ShelfEngine:
    def model(name: str, size: int, family: str, params: str, quant: str, **kw: Any) -> ModelInfo:
        return ModelInfo(name, "ollama", size, family, params, quant, **kw)

    return ShelfEngine(
        [
            model("llama3.2:3b", 2_019_393_189, "llama", "3.2B", "Q4_K_M", context_length=131072),
            model("qwen3:14b", 9_276_198_565, "qwen3", "14.8B", "Q4_K_M", context_length=40960),
            model("llama3.1:70b", 42_520_413_916, "llama", "70.6B", "Q4_K_M"),
            model(
                "nomic-embed-text:latest",
                274_302_450,
                "nomic-bert",
                "137M",
                "F16",
                context_length=2048,
                capabilities=("embed",),
            ),
            model("my-finetune:latest", 4_100_000_000, "mistral", "7.2B", "Q4_0"),
        ],
        loaded=["llama3.2:3b"],
    )


@pytest.fixture
def snapshot_log(tmp_path: Path) -> SpeedLog:
    log = SpeedLog(tmp_path / "speed.jsonl")
    for index, speed in enumerate((41.0, 44.5, 39.2, 47.8, 45.1, 46.3)):
        log.record(SpeedRun("llama3.2:3b", speed, "ollama", 64, 2_019_393_189, "vram", 1e9 + index))
    return log


def test_snapshot(snap_compare, snapshot_log: SpeedLog) -> None:  # type: ignore[no-untyped-def]
    screen = ModelsScreen(
        StaticEngines([_shelf()]), Settings(), hardware=LAPTOP, speedlog=snapshot_log
    )

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot.app)
        await pilot.pause()

    assert snap_compare(Host(screen), terminal_size=(150, 46), run_before=ready)
