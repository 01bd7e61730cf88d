"""Fixtures that run the real ``python -m llama_cpp.server`` on a free loopback port.

Import the ``*_fixture`` functions into a test module to use them; pytest knows
them by their short names (``llama_server``, ``llama_embed_server``,
``doomed_llama_server``).

The OpenAI-compatible engine is tested against the server people actually run,
serving the bundled SmolLM2. Output goes to a log file under pytest's temp
directory; a server that fails to come up fails the test with the log's tail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.servers import Server as LlamaServer
from bench.servers import ServerFailed, free_port
from bench.servers import start_llama_server as _start
from offyai_tui.engines import bundled

__all__ = ["LlamaServer", "free_port", "start_llama_server"]


def start_llama_server(model: Path, log: Path, *extra: str) -> LlamaServer:
    """Start the server (2,048 context, one thread) or fail the test with its log."""
    try:
        return _start(model, log, *extra)
    except ServerFailed as exc:
        pytest.fail(f"llama_cpp.server {exc}", pytrace=False)


def _serve(model: Path, log: Path, *extra: str) -> Iterator[LlamaServer]:
    server = start_llama_server(model, log, *extra)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", name="llama_server")
def llama_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """SmolLM2 behind the real server, shared by the whole session."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    yield from _serve(bundled.smollm2_path(), log)


@pytest.fixture(scope="session", name="llama_embed_server")
def llama_embed_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The converted MiniLM GGUF served with ``--embedding true``."""
    log = tmp_path_factory.mktemp("llama-embed-server") / "server.log"
    yield from _serve(bundled.minilm_path(), log, "--embedding", "true")


@pytest.fixture(name="doomed_llama_server")
def doomed_llama_server_fixture(tmp_path: Path) -> Iterator[LlamaServer]:
    """A private server a test may kill; the shared one survives."""
    yield from _serve(bundled.smollm2_path(), tmp_path / "server.log")
