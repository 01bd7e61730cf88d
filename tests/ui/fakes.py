"""A scripted engine for UI tests: exact replies, controllable pacing.

Each call to ``stream_chat`` takes the next :class:`Script`. A script can hold
the stream after a given chunk until the test calls :meth:`ScriptedEngine.release`,
so a test can look at the screen mid-stream without racing the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    ChatStats,
    Done,
    Engine,
    ErrorEvent,
    Health,
    Message,
    ModelInfo,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import EngineError


@dataclass
class Script:
    """One scripted answer."""

    chunks: list[str]
    error: EngineError | None = None
    """If set, the stream ends with this error after the chunks."""
    hold_after: int | None = None
    """Wait for :meth:`ScriptedEngine.release` after this many chunks."""
    delay: float = 0.0
    """Seconds between chunks."""
    stats: ChatStats | None = None
    thinking: list[str] = field(default_factory=list)
    """Reasoning streamed before the chunks, as a thinking model does."""


@dataclass
class Request:
    messages: list[Message]
    options: ChatOptions


@dataclass
class ScriptedEngine(Engine):
    """An engine whose answers are written by the test."""

    scripts: list[Script] = field(default_factory=list)
    models: tuple[str, ...] = ("fake-model",)
    context_length: int = 4096
    word_tokens: bool = True
    """Count one token per whitespace-separated word (exact, predictable counts)."""
    remote: bool = False
    requests: list[Request] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a stream has produced its first chunk."""
    held: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while a stream is waiting for :meth:`release`."""
    _gate: asyncio.Event = field(default_factory=asyncio.Event)

    kind = "fake"
    IMPLEMENTS_COUNT_TOKENS = True

    def __hash__(self) -> int:
        return id(self)

    @property
    def endpoint(self) -> str:
        return "http://203.0.113.9:11434" if self.remote else "local"

    @property
    def is_remote(self) -> bool:
        return self.remote

    def release(self) -> None:
        """Let a held stream continue."""
        self.held.clear()
        self._gate.set()

    async def health(self) -> Health:
        return Health(True, self.kind, self.endpoint, version="1")

    async def list_models(self) -> list[ModelInfo]:
        return [
            ModelInfo(name, self.kind, context_length=self.context_length) for name in self.models
        ]

    async def count_tokens(self, text: str, model: str = "") -> int | None:
        return len(text.split()) if self.word_tokens else None

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        self.requests.append(Request(list(messages), options))
        script = self.scripts.pop(0) if self.scripts else Script(["ok"])
        text = ""
        for piece in script.thinking:
            await asyncio.sleep(script.delay)
            yield ThinkingDelta(piece)
        for index, chunk in enumerate(script.chunks):
            if script.hold_after is not None and index == script.hold_after:
                self._gate.clear()
                self.held.set()
                await self._gate.wait()
            if script.delay:
                await asyncio.sleep(script.delay)
            else:
                await asyncio.sleep(0)
            text += chunk
            yield TextDelta(chunk)
            self.started.set()
        if script.hold_after is not None and script.hold_after >= len(script.chunks):
            self._gate.clear()
            self.held.set()
            await self._gate.wait()
        if script.error is not None:
            yield ErrorEvent(script.error, partial_text=text)
            return
        yield Done(
            script.stats
            or ChatStats(
                model=options.model or self.models[0],
                prompt_tokens=sum(len(m.content.split()) for m in messages),
                completion_tokens=len(script.chunks),
                ttft_s=0.25,
                total_s=1.25,
                tokens_per_s=float(len(script.chunks)),
            )
        )
