"""The app answers through an engine plugin named by ``engine.default``.

The plugin is the documented example (``docs/plugins.md``), installed outside the
tree (``tests/plugin_site.py``) and configured by its ``[engines.completions]``
table to talk to the real ``llama_cpp.server``; detection uses it, never
another engine, and the answer streams into the chat like any other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from offyai_tui.engines import plugins
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import Settings
from tests.llama_server import LlamaServer
from tests.plugin_site import install
from tests.ui.conftest import chat, send, wait_for


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(folder))
    plugins.forget()
    yield folder
    plugins.forget()
    for name in ("offyai_completions", "offyai_broken"):
        sys.modules.pop(name, None)


async def test_engine_default_names_a_plugin_and_the_chat_answers_through_it(
    site: Path, llama_server: LlamaServer, build
) -> None:
    settings = Settings()
    settings.engine.default = "completions"
    settings.engines["completions"] = {"url": llama_server.url, "max_tokens": 8}
    app = build(settings=settings, engine=None, registry=EngineRegistry(settings))
    async with app.run_test() as pilot:
        await wait_for(lambda: app.engine is not None, pilot, timeout=10)
        assert app.engine.kind == "completions"
        assert "completions answered at " + llama_server.url in app.engine_reason
        await send(pilot, "Name a colour.")
        answers = lambda: [m for m in chat(app).conversation.messages  # noqa: E731
                           if m.role == "assistant"]  # fmt: skip
        await wait_for(lambda: bool(answers()) and answers()[-1].status == "complete", pilot,
                       timeout=60)  # fmt: skip
        assert answers()[-1].content.strip()
        # The context meter asks the engine for its models after each answer; let it
        # finish before the app closes (a query after unmount is no part of this test).
        await wait_for(lambda: not any(w.group == "context" and not w.is_finished
                                       for w in app.workers), pilot)  # fmt: skip
