"""A loopback HTTP proxy that records request bodies on their way to a real server.

Tests of wire formats need two things at once: what the engine put on the wire,
and proof that the real server accepts it (``llama_cpp.server`` validates every
request against its schema). The proxy forwards each request unchanged except
for ``Connection: close`` (one request per connection keeps the forwarding
trivial) and pipes the answer back byte for byte, streams included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Captured:
    method: str
    path: str
    body: Any


class CaptureProxy:
    """``async with CaptureProxy(upstream_url) as proxy``; point a client at ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self.requests: list[Captured] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> CaptureProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{self._prefix}"

    def bodies(self, path_suffix: str) -> list[Any]:
        return [r.body for r in self.requests if r.path.endswith(path_suffix)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = [h for h in lines[1:] if h and not h.lower().startswith("connection:")]
            sizes = [h.split(":", 1)[1] for h in headers if h.lower().startswith("content-length:")]
            length = int(sizes[0]) if sizes else 0
            raw = await reader.readexactly(length)
            self.requests.append(Captured(method, path, json.loads(raw) if raw else None))
            upstream_reader, upstream_writer = await asyncio.open_connection(self._host, self._port)
            request = "\r\n".join([lines[0], *headers, "Connection: close", "", ""])
            upstream_writer.write(request.encode("latin-1") + raw)
            await upstream_writer.drain()
            while chunk := await upstream_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if upstream_writer is not None:
                upstream_writer.close()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
