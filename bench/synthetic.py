"""A synthetic engine that streams Markdown at a fixed token rate.

The text looks like a long model answer (headings, paragraphs, bullet lists,
fenced code) cut into pieces of a few characters, as tokenizers cut it, and
ends with a paragraph holding :data:`END_MARK`, so a benchmark can tell when
the last token reached the screen. Token ``i`` is due at ``i / rate`` seconds
after the first; a consumer that falls behind gets the overdue tokens without
a pause, so lag shows up as lateness, never as a slower engine.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    ChatStats,
    Done,
    Engine,
    Health,
    Message,
    ModelInfo,
    TextDelta,
)

END_MARK = "qzxendmark"
MODEL = "paced-synthetic"
_WORDS = [
    "the", "model", "answer", "local", "private", "terminal", "stream", "token", "render",
    "widget", "screen", "window", "context", "memory", "buffer", "latency", "process", "thread",
    "engine", "prompt", "reply", "document", "index", "search", "vector", "chunk", "offline",
    "machine", "keyboard", "cursor", "frame", "markdown", "paragraph", "list", "block", "code",
    "line", "value", "result", "simple", "quick", "careful",
]  # fmt: skip


def _pieces(text: str, rng: random.Random) -> list[str]:
    """Cut text into 1-6 character pieces at word-ish boundaries, like BPE tokens."""
    out: list[str] = []
    i = 0
    while i < len(text):
        size = rng.choice((1, 2, 3, 4, 4, 5, 5, 6))
        piece = text[i : i + size]
        if " " in piece[1:]:  # a token starts at a space, never contains one inside
            piece = piece[: piece.index(" ", 1)]
        out.append(piece)
        i += len(piece)
    return out


def _sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    chosen[0] = chosen[0].capitalize()
    return " ".join(chosen) + "."


def _block(rng: random.Random, index: int) -> str:
    kind = rng.random()
    if index % 9 == 0:
        return f"## Section {index // 9 + 1}\n\n"
    if kind < 0.55:
        sentences = [_sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(2, 5))]
        return " ".join(sentences) + "\n\n"
    if kind < 0.8:
        items = [
            f"- **{rng.choice(_WORDS)}**: {_sentence(rng, rng.randint(5, 12))}\n"
            for _ in range(rng.randint(3, 6))
        ]
        return "".join(items) + "\n"
    lines = [
        f"{rng.choice(_WORDS)}_{n} = {rng.choice(_WORDS)}({n}, `{rng.choice(_WORDS)}`)"
        for n in range(rng.randint(3, 8))
    ]
    code = "\n".join(lines)
    return f"```python\n{code}\n```\n\n"


def markdown_tokens(count: int, seed: int = 7) -> list[str]:
    """Exactly ``count`` pieces of Markdown; the last ones form a paragraph ending in END_MARK."""
    if count < 8:
        raise ValueError("need at least 8 tokens")
    rng = random.Random(seed)
    tail = _pieces(f"In short, that is the whole {END_MARK}", rng)
    body: list[str] = []
    index = 0
    while len(body) < count - len(tail):
        body += _pieces(_block(rng, index), rng)
        index += 1
    body = body[: count - len(tail)]
    text = "".join(body)
    if text.count("```") % 2:  # cut inside a code block: close it
        body[-1] = body[-1] + "\n```"
    if not "".join(body).endswith("\n\n"):
        body[-1] = body[-1] + "\n\n"
    return body + tail


class PacedEngine(Engine):
    """Streams ``tokens`` at ``rate`` tokens/s; records when it started and ended."""

    kind = "paced"
    IMPLEMENTS_COUNT_TOKENS = True

    def __init__(self, tokens: Sequence[str], rate: float) -> None:
        self.tokens = list(tokens)
        self.rate = rate
        self.started_at = 0.0
        """``perf_counter`` when the first token was yielded (0 until then)."""
        self.ended_at = 0.0
        """``perf_counter`` when the last token was yielded (0 until then)."""
        self.streams = 0

    @property
    def label(self) -> str:
        return "synthetic"

    async def health(self) -> Health:
        return Health(True, self.kind, "local")

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(MODEL, self.kind, context_length=32768)]

    async def count_tokens(self, text: str, model: str = "") -> int | None:
        return len(text) // 4 + 1

    @property
    def nominal_s(self) -> float:
        """How long the stream takes at its rate."""
        return len(self.tokens) / self.rate

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        self.streams += 1
        self.started_at = self.ended_at = 0.0
        start = time.perf_counter()
        for index, token in enumerate(self.tokens):
            delay = start + index / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not index:
                self.started_at = time.perf_counter()
            yield TextDelta(token)
        self.ended_at = time.perf_counter()
        total = self.ended_at - start
        yield Done(
            ChatStats(
                model=options.model or MODEL,
                completion_tokens=len(self.tokens),
                total_s=total,
                tokens_per_s=len(self.tokens) / max(total, 1e-9),
            )
        )
