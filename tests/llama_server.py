"""Fixtures that run the real ``python -m llama_cpp.server`` on a free loopback port.

Import the ``*_fixture`` functions into a test module to use them; pytest knows
them by their short names (``llama_server``, ``llama_embed_server``,
``doomed_llama_server``).

The OpenAI-compatible engine is tested against the server people actually run,
serving the bundled SmolLM2. Output goes to a log file under pytest's temp
directory; a server that fails to come up fails the test with the log's tail.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from offyai_tui import bundled

READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LlamaServer:
    process: subprocess.Popen[bytes]
    url: str
    """Base URL including ``/v1``."""
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_llama_server(model: Path, log: Path, *extra: str) -> LlamaServer:
    """Start the server and wait until ``/v1/models`` answers (or fail with its log)."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1",
        *extra,
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = LlamaServer(process, f"http://127.0.0.1:{port}/v1", log)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/models", timeout=1.0, trust_env=False).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"llama_cpp.server did not answer within {READY_TIMEOUT:g} s:\n{server.log_tail()}")


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
