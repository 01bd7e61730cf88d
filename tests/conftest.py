"""Shared fixtures: every test gets its own OFFYAI_HOME; bundled models are shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("OFFYAI_MODEL_CACHE", str(REPO / ".cache" / "models"))


@pytest.fixture(autouse=True)
def offyai_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home for this test: config, data and cache live under it."""
    home = tmp_path / "home"
    monkeypatch.setenv("OFFYAI_HOME", str(home))
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    return home


# Server fixtures live here so that every test module shares one session server each.
from tests.llama_server import (  # noqa: E402
    doomed_llama_server_fixture,  # noqa: F401
    llama_embed_server_fixture,  # noqa: F401
    llama_server_fixture,  # noqa: F401
)
from tests.ollama_fixtures import (  # noqa: E402
    ollama_engine,  # noqa: F401
    ollama_server,  # noqa: F401
    private_ollama_server,  # noqa: F401
)
