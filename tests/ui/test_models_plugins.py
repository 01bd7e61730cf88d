"""The Models screen lists a plugin engine's models and names a plugin that did not load.

The plugins are the documented example (talking to the real ``llama_cpp.server``)
and a broken package, installed outside the tree (``tests/plugin_site.py``); the
screen gets the app's real :class:`EngineRegistry`, which imports plugin modules
off the event loop before the screen lists engines.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from offyai_tui.engines import plugins
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.ui.screens.models import ModelsScreen
from tests.llama_server import LlamaServer
from tests.plugin_site import install
from tests.ui.test_models_screen import NO_GPU, SIZE, Host, settle, text_of


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(folder))
    plugins.forget()
    yield folder
    plugins.forget()
    for name in ("offyai_completions", "offyai_broken"):
        sys.modules.pop(name, None)


async def test_plugin_models_are_listed_and_a_broken_plugin_is_one_note(
    site: Path, llama_server: LlamaServer
) -> None:
    settings = Settings()
    settings.ollama.host = f"127.0.0.1:{_closed_port()}"
    settings.openai = [OpenAIEndpoint(url=f"http://127.0.0.1:{_closed_port()}/v1")]
    settings.llamacpp.n_threads = 1
    settings.engines["completions"] = {"url": llama_server.url}
    registry = EngineRegistry(settings)
    screen = ModelsScreen(registry, settings, hardware=NO_GPU)
    app = Host(screen)
    try:
        async with app.run_test(size=SIZE):
            await settle(app)
            engines = {row.info.engine for row in screen.table.rows_shown}
            assert {"completions", "llamacpp"} <= engines, engines
            notes = text_of(screen.query_one("#models-notes"))
            assert "engine plugin 'broken-import' (offyai-broken 0.1) cannot be imported: " \
                "ModuleNotFoundError: No module named 'offyai_missing_module'; skipped" in notes
            assert "engine plugin 'broken-init' (offyai-broken 0.1) could not start" in notes
            assert "\x1b" not in notes
    finally:
        await registry.aclose()
