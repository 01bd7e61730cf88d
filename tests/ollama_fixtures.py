"""Fixtures for the loopback Ollama stand-in of ``tests/ollama_server.py``.

The server runs in its own process (it loads the real SmolLM2 there, not in
pytest), on a port it picks and prints once it is ready. Fault modes are chosen
per request by model name (``cut-model``, ``stall-model``, ...; see the server's
docstring), so tests sharing the session server cannot disturb each other.
"""

from __future__ import annotations

import contextlib
import selectors
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import Settings

OLLAMA_SERVER = Path(__file__).resolve().parent / "ollama_server.py"
READY_TIMEOUT = 120.0
"""Generous: the model loads on a CPU other test processes may be using."""


def _log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"
    except OSError:
        return "(no log)"


def _wait_for_banner(process: subprocess.Popen[str], log: Path) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + READY_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(timeout=min(left, 0.5)):
                line = process.stdout.readline()
                if line.startswith("listening on "):
                    return line.removeprefix("listening on ").strip()
                if not line:
                    break
            if process.poll() is not None:
                break
    code = process.poll()
    why = f"exited with {code}" if code is not None else f"not ready in {READY_TIMEOUT:g} s"
    pytest.fail(f"tests/ollama_server.py {why}:\n{_log_tail(log)}", pytrace=False)


@contextlib.contextmanager
def serve_ollama(log: Path) -> Iterator[str]:
    """Run one Ollama stand-in process; yields its base URL."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(OLLAMA_SERVER), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    try:
        yield _wait_for_banner(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def ollama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``) of the session's Ollama stand-in."""
    with serve_ollama(tmp_path_factory.mktemp("ollama-server") / "server.log") as url:
        yield url


@pytest.fixture
def private_ollama_server(tmp_path: Path) -> Iterator[str]:
    """A stand-in of this test's own, for tests whose state (loaded models) must not be shared."""
    with serve_ollama(tmp_path / "ollama-server.log") as url:
        yield url


def ollama_settings(url: str, **overrides: object) -> Settings:
    """Settings pointing at ``url``; keyword arguments override ``[ollama]`` values."""
    settings = Settings()
    settings.ollama.host = url
    for key, value in overrides.items():
        setattr(settings.ollama, key, value)
    return settings


@pytest.fixture
async def ollama_engine(ollama_server: str) -> AsyncIterator[OllamaEngine]:
    """An engine talking to the stand-in, closed after the test."""
    engine = OllamaEngine(ollama_settings(ollama_server))
    yield engine
    await engine.aclose()
