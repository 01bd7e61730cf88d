"""What the OpenAI-compatible engine's tests share: an engine for a URL, the events of one
answer, and a small HTTP server on loopback that plays a fixed script over a real socket
for the faults no real server produces on demand.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Message,
    TextDelta,
)
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings

HELLO = [Message("user", "Say hello in one short sentence.")]


def engine_for(
    url: str, *, api_key_env: str = "", model: str = "", **kw: Any
) -> OpenAICompatEngine:
    endpoint = OpenAIEndpoint(name="test-server", url=url, api_key_env=api_key_env, model=model)
    return OpenAICompatEngine(endpoint, Settings(), **kw)


async def collect(
    engine: OpenAICompatEngine, options: ChatOptions, messages: Sequence[Message] = HELLO
) -> list[ChatEvent]:
    return [event async for event in engine.stream_chat(messages, options)]


def text_of(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


HANG = object()
"""Script item: keep the connection open until the client goes away."""


@dataclass
class Route:
    status: int = 200
    script: list[Any] = field(default_factory=list)
    """Bytes to send, or seconds to sleep, or ``HANG``."""
    content_type: str = "text/event-stream"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """Answers each request from its route's script, one request per connection."""

    def __init__(self) -> None:
        models = {"object": "list", "data": [{"id": "tiny"}, {"id": "all-MiniLM-L6-v2"}]}
        self.routes = {"GET /v1/models": self.json(models)}
        self.requests: list[Recorded] = []
        self.client_left = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @staticmethod
    def json(body: Any, status: int = 200) -> Route:
        return Route(status, [json.dumps(body).encode()], "application/json")

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {
                k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)
            }
            raw = await reader.readexactly(int(headers.get("content-length", 0)))
            self.requests.append(Recorded(method, path, headers, json.loads(raw) if raw else None))
            route = self.routes.get(f"{method} {path}", self.json({"error": "no route"}, 404))
            writer.write(
                f"HTTP/1.1 {route.status} X\r\nContent-Type: {route.content_type}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            for item in route.script:
                if item is HANG:
                    await reader.read()
                    self.client_left.set()
                elif isinstance(item, bytes):
                    writer.write(item)
                    await writer.drain()
                else:
                    await asyncio.sleep(item)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_left.set()
        finally:
            writer.close()


def sse(*payloads: Any) -> list[bytes]:
    return [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads]


def delta(content: str = "", finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "delta": {"content": content, **extra}, "finish_reason": finish}]
    }


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as server:
        yield server
