"""A loopback server speaking just enough of the OpenAI API to list chosen model ids.

The escape tests need names and error messages they choose byte for byte (an
OSC title change in a model id) to reach the real ``offyai`` binary through its
real HTTP client, as a hostile or broken llamafile, LM Studio or vLLM could
send them. ``/v1/models`` lists ``models``; ``/v1/chat/completions`` streams a
short answer, or, when ``error`` is set, fails with HTTP 500 and that message
in the usual ``{"error": {"message": …}}`` body. The server runs in a thread of
the test process and records what it was asked (chat bodies included).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.e2e.stand_in import StandInHandler, serving


class ScriptedOpenAI(ThreadingHTTPServer):
    """Lists ``models``; answers chats with ``reply``, or fails with ``error``."""

    daemon_threads = True

    def __init__(self, models: list[str], reply: str = "ok", error: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.models = models
        self.reply = reply
        self.error = error
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[dict[str, Any]] = []
        """The JSON bodies of the chat requests, as received."""

    @property
    def url(self) -> str:
        """The ``url`` of an ``[[openai]]`` endpoint in config.toml."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(StandInHandler):
    server: ScriptedOpenAI

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        if self.path.rstrip("/") == "/v1/models":
            models = [{"id": name, "object": "model"} for name in self.server.models]
            self._json({"object": "list", "data": models})
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(("POST", self.path))
        self.server.bodies.append(body)
        if self.path != "/v1/chat/completions":
            self._json({"error": {"message": "not found"}}, 404)
        elif self.server.error:
            self._json({"error": {"message": self.server.error, "type": "server_error"}}, 500)
        else:
            self._stream(str(body.get("model", "")))

    def _stream(self, model: str) -> None:
        delta = {"role": "assistant", "content": self.server.reply}
        events = [
            {"choices": [{"index": 0, "delta": delta}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
        ]
        data = b"".join(
            b"data: " + json.dumps({"model": model, **event}).encode() + b"\n\n"
            for event in events
        )
        data += b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def scripted_openai(
    models: list[str], reply: str = "ok", error: str = ""
) -> AbstractContextManager[ScriptedOpenAI]:
    """Serve on a free loopback port for the duration of the block."""
    return serving(ScriptedOpenAI(models, reply, error))
