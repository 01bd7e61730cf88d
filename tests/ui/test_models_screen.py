"""The Models screen, driven with Pilot.

Real parts where they are cheap: the Ollama-protocol server of ``tests/ollama_server.py``
(tags, show, ps, pull progress, delete and its 404) and the llama.cpp engine listing
the bundled GGUFs (listing reads headers, it never loads a model). A scripted engine
is used only where a real one cannot be held still: cancelling a pull mid-way, and
the snapshot, which must not depend on what is installed. Hardware facts are fixed.
"""

from __future__ import annotations

import asyncio
import shutil
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.app import App
from textual.widgets import Button, Input, ProgressBar

from offyai_tui.engines import bundled
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Engine,
    ErrorEvent,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    PullProgress,
)
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.hw.hardware import GPU, Hardware, SpeedLog
from offyai_tui.hw.speedlog import SpeedRun
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings, load_settings
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines
from offyai_tui.ui.widgets.models.details import ModelDetailsScreen
from offyai_tui.ui.widgets.models.layer import LayerBar
from tests.ollama_fixtures import ollama_settings
from tests.ui.conftest import wait_for

GiB = 1024**3
LAPTOP = Hardware(
    cpu_model="Test CPU 7 (fixed for tests)",
    physical_cores=4,
    logical_cores=8,
    ram_total_bytes=16 * GiB,
    ram_available_bytes=11 * GiB,
    gpus=(GPU("NVIDIA GeForce RTX 3060", 12 * GiB, 11 * GiB),),
    system="Linux",
    machine="x86_64",
)
NO_GPU = Hardware("Test CPU 2", 2, 4, 8 * GiB, 6 * GiB, system="Linux", machine="x86_64")
SIZE = (140, 50)


class Host(App[None]):
    """A tiny app that shows one Models screen and records what it reports upwards."""

    def __init__(self, screen: ModelsScreen) -> None:
        super().__init__()
        self.models = screen
        self.defaults: list[tuple[str, str, str]] = []

    def on_mount(self) -> None:
        self.push_screen(self.models)

    def on_models_screen_default_changed(self, event: ModelsScreen.DefaultChanged) -> None:
        self.defaults.append((event.role, event.engine, event.model))


async def settle(app: App[None], rounds: int = 200) -> None:
    """Wait until every worker (and any worker they started) has finished."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await asyncio.sleep(0.02)
        if all(w.is_finished for w in app.workers):
            return
    raise AssertionError("workers did not finish")


@pytest.fixture
def settings(ollama_server: str) -> Settings:
    return ollama_settings(ollama_server)


@pytest.fixture
async def real_engines(settings: Settings) -> AsyncIterator[list[Engine]]:
    engines: list[Engine] = [OllamaEngine(settings), LlamaCppEngine(settings)]
    yield engines
    for engine in engines:
        await engine.aclose()


def real_screen(engines: list[Engine], settings: Settings, hw: Hardware = NO_GPU) -> ModelsScreen:
    return ModelsScreen(StaticEngines(engines), settings, hardware=hw)


async def tags(url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        return [m["name"] for m in (await client.get("/api/tags")).json()["models"]]


async def install(url: str, name: str) -> None:
    engine = OllamaEngine(ollama_settings(url))
    try:
        async for _ in engine.pull(name):
            pass
    finally:
        await engine.aclose()


def text_of(widget: object) -> str:
    """The plain text a Static shows."""
    return str(widget.content)  # type: ignore[attr-defined]


async def select(app: App[None], screen: ModelsScreen, key: str) -> None:
    assert screen.table.select_key(key), [r.key for r in screen.table.rows_shown]
    await asyncio.sleep(0)
    assert screen.selected is not None and screen.selected.key == key


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


class ShelfEngine(Engine):
    """A scripted engine: fixed models, and a pull that stops after one step until cancelled."""

    kind = "shelf"
    IMPLEMENTS_PULL = True
    IMPLEMENTS_DELETE = True
    IMPLEMENTS_UNLOAD = True

    def __init__(
        self, models: Sequence[ModelInfo], loaded: Sequence[str] = (), label: str = "ollama"
    ) -> None:
        self.models = list(models)
        self.loaded_names = list(loaded)
        self._label = label
        self.held = asyncio.Event()
        self.closed = False

    @property
    def label(self) -> str:
        return self._label

    @property
    def endpoint(self) -> str:
        return "http://127.0.0.1:11434"

    async def health(self) -> Health:
        return Health(True, self.kind, self.endpoint)

    async def list_models(self) -> list[ModelInfo]:
        return list(self.models)

    async def loaded(self) -> list[LoadedModel]:
        return [LoadedModel(name) for name in self.loaded_names]

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        yield ErrorEvent(EngineError("this engine does not chat"))

    async def pull(self, name: str) -> AsyncIterator[PullProgress]:
        digest = "sha256:" + "5e" * 32
        yield PullProgress("pulling manifest")
        yield PullProgress("pulling 5e5e5e5e5e5e", digest, 2_000_000_000, 500_000_000)
        try:
            self.held.set()
            await asyncio.Event().wait()
            yield PullProgress("success")
        finally:
            self.closed = True


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


# -- delete ----------------------------------------------------------------------------


async def test_delete_asks_first_naming_the_model_and_space(
    real_engines: list[Engine], settings: Settings, ollama_server: str
) -> None:
    await install(ollama_server, "ui-delete:1b")
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "ollama/ui-delete:1b")
        await pilot.press("d")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        question = text_of(dialog.query_one(".question"))
        assert question == "Delete ui-delete:1b from ollama? This frees up to 4.1 MB."
        await pilot.press("n")
        await settle(app)
        assert "ui-delete:1b" in await tags(ollama_server)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(app)
        assert screen.status_text == "deleted ui-delete:1b from ollama; freed up to 4.1 MB"
        assert "ollama/ui-delete:1b" not in {row.key for row in screen.table.rows_shown}
    assert "ui-delete:1b" not in await tags(ollama_server)


async def test_deleting_a_loaded_model_unloads_it_first(
    real_engines: list[Engine], settings: Settings, ollama_server: str
) -> None:
    await install(ollama_server, "ui-loaded:1b")
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "ollama/ui-loaded:1b")
        await pilot.press("l")
        await settle(app)
        assert screen.status_text == "ui-loaded:1b loaded"
        assert screen.selected is not None and screen.selected.loaded
        await pilot.press("d")
        await pilot.pause()
        assert "It is loaded now and will be unloaded first." in text_of(
            app.screen.query_one(".question")
        )
        await pilot.press("y")
        await settle(app)
        assert screen.status_text == (
            "deleted ui-loaded:1b from ollama (unloaded first); freed up to 4.1 MB"
        )
    async with httpx.AsyncClient(base_url=ollama_server, trust_env=False) as client:
        requests = (await client.get("/_test/state")).json()["requests"]
    unloads = [r for r in requests if r["path"] == "/api/generate"]
    assert unloads[-1]["body"] == {"model": "ui-loaded:1b", "keep_alive": 0, "stream": False}


async def test_delete_of_a_model_already_gone_says_so_and_refreshes(
    real_engines: list[Engine], settings: Settings, ollama_server: str
) -> None:
    await install(ollama_server, "ui-gone:1b")
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "ollama/ui-gone:1b")
        other = OllamaEngine(ollama_settings(ollama_server))
        await other.delete("ui-gone:1b")  # someone else deletes it meanwhile
        await other.aclose()
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(app)
        assert screen.status_text.startswith(
            "could not delete ui-gone:1b: model 'ui-gone:1b' is not installed in ollama;"
        )
        assert screen.query_one("#models-status").has_class("-error")
        assert "ollama/ui-gone:1b" not in {row.key for row in screen.table.rows_shown}


# -- load, details, defaults -------------------------------------------------------------


async def test_load_and_unload_follow_ollama_ps(private_ollama_server: str) -> None:
    # A private server: what is loaded must not depend on what earlier tests did.
    settings = ollama_settings(private_ollama_server)
    real_engines: list[Engine] = [OllamaEngine(settings), LlamaCppEngine(settings)]
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "ollama/error-model:latest")
        await pilot.press("l")
        await settle(app)
        assert screen.selected is not None and screen.selected.loaded
        assert [m.name for m in await real_engines[0].loaded()] == ["error-model:latest"]
        await pilot.press("l")
        await settle(app)
        assert screen.selected is not None and not screen.selected.loaded
        assert screen.status_text == "error-model:latest unloaded"
    for engine in real_engines:
        await engine.aclose()


async def test_details_show_template_license_and_gguf_metadata(
    real_engines: list[Engine], settings: Settings
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "llamacpp/smollm2-135m-instruct")
        await pilot.press("i")
        await pilot.pause()
        details = app.screen
        assert isinstance(details, ModelDetailsScreen)
        assert "<|im_start|>" in text_of(details.query_one("#details-template"))
        assert text_of(details.query_one("#details-license")) == "apache-2.0"
        metadata = details.query_one("#details-metadata")
        keys = [str(row[0]) for row in (metadata.get_row_at(i) for i in range(metadata.row_count))]
        assert "llama.block_count" in keys and "tokenizer.ggml.tokens" in keys
        assert "tokenizer.chat_template" not in keys  # shown above, not twice
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def test_set_chat_and_embedding_defaults_write_the_config(
    real_engines: list[Engine], settings: Settings
) -> None:
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await select(app, screen, "ollama/smollm2:135m")
        await pilot.press("e")  # not an embedding model: the binding is disabled
        await pilot.press("c")
        await settle(app)
        await select(app, screen, "llamacpp/all-minilm-l6-v2")
        await pilot.press("e")
        await settle(app)
    path = locations.config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = load_settings()
    assert (saved.chat.model, saved.engine.default) == ("smollm2:135m", "ollama")
    assert (saved.rag.embedding_engine, saved.llamacpp.embedding_model) == (
        "llamacpp",
        "all-minilm-l6-v2",
    )
    assert settings.chat.model == "smollm2:135m"  # the running app's settings follow
    assert app.defaults == [
        ("chat", "ollama", "smollm2:135m"),
        ("embedding", "llama.cpp", "all-minilm-l6-v2"),
    ]


# -- import ----------------------------------------------------------------------------


async def test_import_rejects_a_truncated_gguf_and_imports_a_good_one(
    real_engines: list[Engine], settings: Settings, tmp_path: Path
) -> None:
    source = bundled.smollm2_path()
    cut = tmp_path / "half.gguf"
    cut.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    good = tmp_path / "my-smol.gguf"
    shutil.copyfile(source, good)
    screen = real_screen(real_engines, settings)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("g")
        assert app.focused is screen.query_one("#import-path", Input)
        screen.query_one("#import-path", Input).value = str(cut)
        await pilot.press("enter")
        await settle(app)
        assert "half.gguf is truncated" in screen.import_panel.status_text
        assert screen.query_one("#import-status").has_class("-error")
        assert not locations.models_dir().exists() or not any(locations.models_dir().iterdir())
        screen.query_one("#import-path", Input).value = str(good)
        await pilot.press("enter")
        await settle(app)
        assert screen.import_panel.status_text.startswith("imported my-smol.gguf (llama, ")
        assert "llamacpp/my-smol" in {row.key for row in screen.table.rows_shown}
    imported = locations.models_dir() / "my-smol.gguf"
    assert stat.S_IMODE(imported.stat().st_mode) == 0o600


async def test_import_path_completion(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny-q4.gguf").write_bytes(b"GGUF")
    (tmp_path / "models" / "readme.txt").write_text("no")
    screen = ModelsScreen(StaticEngines([]), settings, hardware=NO_GPU)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("g")
        field = screen.query_one("#import-path", Input)
        field.value = f"{tmp_path}/mod"
        await pilot.pause(0.2)
        await pilot.press("right")
        assert field.value == f"{tmp_path}/models/"
        await pilot.pause(0.2)
        await pilot.press("right")
        assert field.value == f"{tmp_path}/models/tiny-q4.gguf"


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
