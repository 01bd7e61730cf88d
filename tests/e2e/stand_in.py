"""What the loopback stand-in servers of the end-to-end tests share.

Each stand-in (an Ollama-protocol server with a scripted reply, an
OpenAI-compatible one with chosen model ids, one that records every request)
speaks its own protocol; the HTTP plumbing under it (quiet logs, JSON bodies,
chunked streams, a serving thread that stops with the block) is this module.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


class StandInHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 with no access log on the test's stderr."""

    protocol_version = "HTTP/1.1"
    json_type = "application/json"
    """The ``Content-Type`` of JSON answers (Ollama adds a charset)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.json_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_chunks(self, content_type: str) -> None:
        """Begin a streamed answer whose length is not known up front."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        """One chunk, flushed at once so the client sees it as a server would send it."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve ``server`` on a thread of the test process for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
