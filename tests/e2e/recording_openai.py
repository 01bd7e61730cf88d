"""An OpenAI-compatible server that records every request it gets.

The remote-documents tests need to know exactly what a remote engine received:
no model can report that. This server speaks the part of the API ``offyai``
uses (``/v1/models``, streamed ``/v1/chat/completions``, ``/v1/embeddings``),
answers every chat with the same words, returns vectors computed from the
texts (so indexing and search work), and keeps each request's method, path
and raw body. It binds to the address it is given: the tests run it on an
address of a network namespace's own loopback.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.e2e.stand_in import StandInHandler, serving

CHAT_MODEL = "recorder"
EMBED_MODEL = "recorder-embedding"
REPLY = ["Recorded ", "your ", "question."]
DIM = 16


def vector(text: str) -> list[float]:
    """A deterministic bag-of-words vector: equal words land in equal buckets."""
    out = [0.0] * DIM
    for word in text.lower().split():
        out[hashlib.sha256(word.encode()).digest()[0] % DIM] += 1.0
    out[0] += 0.01  # never all zeros
    return out


class RecordingServer(ThreadingHTTPServer):
    """``requests`` holds ``{"method", "path", "body"}`` for every request, in order."""

    daemon_threads = True

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def record(self, method: str, path: str, body: str) -> None:
        with self.lock:
            self.requests.append({"method": method, "path": path, "body": body})

    def take(self) -> list[dict[str, Any]]:
        """The requests so far; the list starts empty again."""
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


class _Handler(StandInHandler):
    server: RecordingServer

    def do_GET(self) -> None:
        self.server.record("GET", self.path, "")
        if self.path.rstrip("/") == "/v1/models":
            self._json({"object": "list", "data": [
                {"id": CHAT_MODEL, "object": "model"},
                {"id": EMBED_MODEL, "object": "model", "type": "embedding"},
            ]})  # fmt: skip
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        self.server.record("POST", self.path, raw)
        body = json.loads(raw or "{}")
        if self.path == "/v1/chat/completions":
            self._stream_reply()
        elif self.path == "/v1/embeddings":
            texts = body.get("input") or []
            texts = [texts] if isinstance(texts, str) else texts
            self._json({"object": "list", "model": EMBED_MODEL, "data": [
                {"object": "embedding", "index": i, "embedding": vector(t)}
                for i, t in enumerate(texts)
            ]})  # fmt: skip
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def _stream_reply(self) -> None:
        self._start_chunks("text/event-stream")
        for piece in REPLY:
            self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 3}})
        self._write_chunk(b"data: [DONE]\n\n")
        self._end_chunks()

    def _event(self, data: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(data).encode() + b"\n\n")


def recording_server(
    host: str = "127.0.0.1", port: int = 0
) -> AbstractContextManager[RecordingServer]:
    """Serve on ``host:port`` for the duration of the block."""
    return serving(RecordingServer(host, port))
