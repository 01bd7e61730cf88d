"""Loopback model servers: the real ``llama_cpp.server`` and the Ollama-protocol
server from ``tests/``, each serving the bundled SmolLM2 (the test fixtures in
``tests/llama_server.py`` start the former through this module too).

Both are separate processes so that their model runs beside, not inside, the
process that measures; their output goes to a log file, never the terminal.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 90.0


class ServerFailed(RuntimeError):
    """A server did not come up; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def tail(self, lines: int = 15) -> str:
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


def _wait_ready(server: Server, probe: str) -> Server:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"exited with {server.process.returncode}:\n{server.tail()}")
        try:
            if httpx.get(probe, timeout=1.0, trust_env=False).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise ServerFailed(f"no answer within {READY_TIMEOUT:g} s:\n{server.tail()}")


def start_llama_server(
    model: Path, log: Path, *extra: str, n_ctx: int = 2048, threads: int = 1
) -> Server:
    """``python -m llama_cpp.server`` on a free port; ``url`` ends with ``/v1``.

    ``extra`` goes to the server's command line (``--model_alias``, ``--embedding``).
    """
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        *extra,
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}/v1", log)
    return _wait_ready(server, server.url + "/models")


def start_ollama_server(log: Path) -> Server:
    """``tests/ollama_server.py`` writing whole NDJSON lines, as Ollama does.

    The test suite cuts lines into 1-7 byte writes to stress the parser; a
    benchmark wants the byte pattern of the real server instead.
    """
    port = free_port()
    command = [
        sys.executable,
        str(REPO / "tests" / "ollama_server.py"),
        "--port",
        str(port),
        "--write-sizes",
        "0",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    return _wait_ready(server, server.url + "/api/version")
