"""Acting on a model from the Models screen: delete (asked first, unloading a loaded
model, one already gone), load and unload, the details view, setting the chat and
embedding defaults in the config, and importing a GGUF file.

Real parts: the Ollama-protocol server of ``tests/ollama_server.py`` and the llama.cpp
engine listing the bundled GGUFs. Hardware facts are fixed.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import httpx
from textual.widgets import Input

from offyai_tui.engines import bundled
from offyai_tui.engines.base import Engine
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings, load_settings
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.models import ModelsScreen
from offyai_tui.ui.screens.models_palette import StaticEngines
from offyai_tui.ui.widgets.models.details import ModelDetailsScreen
from tests.ollama_fixtures import ollama_settings
from tests.ui.models_helpers import (
    NO_GPU,
    SIZE,
    Host,
    real_screen,
    select,
    settle,
    tags,
    text_of,
)


async def install(url: str, name: str) -> None:
    engine = OllamaEngine(ollama_settings(url))
    try:
        async for _ in engine.pull(name):
            pass
    finally:
        await engine.aclose()


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
