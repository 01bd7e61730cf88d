"""A loopback server speaking just enough of Ollama's API to send a scripted answer.

The security tests need model output they choose byte for byte (markup, terminal
escapes) to reach the real ``offyai`` binary through its real HTTP client; no
model produces that on request. The server runs in a thread of the test process
and records the bodies of the chat requests it gets.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.e2e.stand_in import StandInHandler, serving

MODEL = "scripted:latest"
DETAILS = {
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "1M",
    "quantization_level": "Q4_0",
}


class ScriptedOllama(ThreadingHTTPServer):
    """``reply`` is streamed, one NDJSON line per piece, to every ``/api/chat``."""

    daemon_threads = True

    def __init__(self, reply: list[str], delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reply = reply
        self.delay = delay
        """Seconds between pieces (a test may change it between answers)."""
        self.chats: list[dict[str, Any]] = []

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the form ``OLLAMA_HOST`` takes."""
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(StandInHandler):
    server: ScriptedOllama
    json_type = "application/json; charset=utf-8"

    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._json({"version": "0.0.0-scripted"})
        elif self.path == "/api/tags":
            self._json({"models": [{"name": MODEL, "model": MODEL, "size": 1, "details": DETAILS}]})
        elif self.path == "/api/ps":
            self._json({"models": []})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/api/show":
            self._json(
                {
                    "details": DETAILS,
                    "model_info": {"general.architecture": "llama", "llama.context_length": 4096},
                    "capabilities": ["completion"],
                }
            )
        elif self.path == "/api/chat":
            self.server.chats.append(body)
            self._stream_reply()
        else:
            self._json({"error": "not found"}, 404)

    def _stream_reply(self) -> None:
        self._start_chunks("application/x-ndjson")
        for piece in self.server.reply:
            if self.server.delay:
                time.sleep(self.server.delay)
            self._chunk({"model": MODEL, "message": {"role": "assistant", "content": piece},
                         "done": False})
        self._chunk({"model": MODEL, "message": {"role": "assistant", "content": ""},
                     "done": True, "done_reason": "stop", "eval_count": len(self.server.reply),
                     "eval_duration": 1_000_000, "prompt_eval_count": 1})
        self._end_chunks()

    def _chunk(self, line: dict[str, Any]) -> None:
        self._write_chunk(json.dumps(line).encode() + b"\n")


def scripted_ollama(reply: list[str], delay: float = 0.0) -> AbstractContextManager[ScriptedOllama]:
    """Serve ``reply`` on a free loopback port for the duration of the block."""
    return serving(ScriptedOllama(reply, delay))
