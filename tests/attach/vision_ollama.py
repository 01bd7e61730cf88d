"""A loopback Ollama stand-in whose model may have vision, recording every chat body.

The scripted server of the end-to-end tests declares a text-only model; the
attachment tests need ``/api/show`` to say ``vision`` (or not) and the exact
``images`` entries a chat request carried, decoded and hashed by the test.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.e2e.stand_in import StandInHandler, serving

MODEL = "eyes:latest"


class VisionOllama(ThreadingHTTPServer):
    """Serves one model with ``capabilities``; answers every chat with ``reply``."""

    daemon_threads = True

    def __init__(self, capabilities: list[str], reply: str = "a red square") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.capabilities = capabilities
        self.reply = reply
        self.chats: list[dict[str, Any]] = []
        self.shows: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(StandInHandler):
    server: VisionOllama
    json_type = "application/json; charset=utf-8"

    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._json({"version": "0.0.0-vision"})
        elif self.path == "/api/tags":
            details = {"family": "gemma3", "families": ["gemma3"]}
            self._json({"models": [{"name": MODEL, "model": MODEL, "size": 1, "details": details}]})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/api/show":
            self.server.shows.append(body)
            if body.get("model") != MODEL:
                self._json({"error": f"model '{body.get('model')}' not found"}, 404)
                return
            self._json({
                "details": {"family": "gemma3"},
                "model_info": {"general.architecture": "gemma3", "gemma3.context_length": 8192},
                "capabilities": self.server.capabilities,
            })  # fmt: skip
        elif self.path == "/api/chat":
            self.server.chats.append(body)
            self._start_chunks("application/x-ndjson")
            for line in (
                {"model": MODEL, "message": {"role": "assistant", "content": self.server.reply},
                 "done": False},
                {"model": MODEL, "message": {"role": "assistant", "content": ""}, "done": True,
                 "done_reason": "stop", "eval_count": 3, "eval_duration": 1_000_000,
                 "prompt_eval_count": 1},
            ):  # fmt: skip
                self._write_chunk(json.dumps(line).encode() + b"\n")
            self._end_chunks()
        else:
            self._json({"error": "not found"}, 404)


def vision_ollama(capabilities: list[str]) -> AbstractContextManager[VisionOllama]:
    """Serve the stand-in on a free loopback port for the duration of the block."""
    return serving(VisionOllama(capabilities))
