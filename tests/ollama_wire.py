"""How the Ollama stand-in talks HTTP/1.1: JSON written as Go's encoder writes it, plain
replies, and NDJSON streams in chunked encoding, each line cut into writes of the
configured sizes (one cut always inside the first multibyte character), plus the dropped
or silent connection of the fault models.
"""

from __future__ import annotations

import json
import select
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import Any


class ClientGone(Exception):
    """The client closed its end while we were writing."""


def go_json(value: Any) -> bytes:
    """JSON as Go's encoder writes it: raw UTF-8, with <, > and & escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


class WireHandler(BaseHTTPRequestHandler):
    """Request bodies, replies and streams; the server holds ``write_sizes`` and
    ``state.rng``."""

    server: Any

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------

    def _body(self) -> dict[str, Any] | None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            self._reply(400, {"error": f"invalid request body: {exc}"})
            return None
        return body if isinstance(body, dict) else {}

    def _reply(
        self, status: int, payload: Any = None, kind: str = "application/json; charset=utf-8"
    ) -> None:
        data = (
            b"" if payload is None else payload if isinstance(payload, bytes) else go_json(payload)
        )
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, name: str) -> None:
        self._reply(404, {"error": f'model "{name}" not found, try pulling it first'})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise ClientGone from exc

    def _send(self, payload: Any, raw: bytes | None = None) -> None:
        """One NDJSON line, in pieces of the configured sizes.

        When splitting, one cut always falls right after the first byte of the
        line's first multibyte character, so clients must reassemble UTF-8.
        """
        data = raw if raw is not None else go_json(payload) + b"\n"
        low, high = self.server.write_sizes
        if not high:
            self._chunk(data)
            return
        awkward = next((i + 1 for i, byte in enumerate(data) if byte >= 0xC0), 0)
        start = 0
        while start < len(data):
            end = start + self.server.state.rng.randint(low, high)
            if start < awkward < end:
                end = awkward
            self._chunk(data[start:end])
            start = end

    def _end_stream(self) -> None:
        self._chunk(b"")
        self.wfile.write(b"\r\n")

    def _cut(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _wait_for_hangup(self, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return
