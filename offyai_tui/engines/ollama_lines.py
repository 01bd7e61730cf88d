"""What the lines of Ollama's NDJSON streams mean: a chat turn's events, pull progress.

Kept apart from the HTTP client (:mod:`offyai_tui.engines.ollama`) because this
is the part that must hold up against whatever a server sends: every field is
checked before use, and a line that makes no sense ends the stream with a
readable error and the text received so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from offyai_tui.engines.base import (
    ChatEvent,
    ChatStats,
    Done,
    ErrorEvent,
    PullProgress,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.errors import EngineError, StreamInterrupted


def count_field(value: Any) -> int:
    """A counter from a JSON field; anything that is not a number counts as 0."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


@dataclass
class ChatTurn:
    """What one streamed answer has produced so far."""

    model: str
    started: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    first_token_at: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def fail(self, error: EngineError) -> ErrorEvent:
        error.partial_text = self.text
        return ErrorEvent(error, self.text)

    def on_line(self, line: Any) -> list[ChatEvent]:
        """Events for one NDJSON object; a ``Done`` or ``ErrorEvent`` is always last."""
        if not isinstance(line, dict):
            return [self.fail(StreamInterrupted(f"malformed line from Ollama: {line!r:.80}"))]
        if "error" in line:
            return [self.fail(StreamInterrupted(f"Ollama: {line['error']}"))]
        message = line.get("message") or {}
        if not isinstance(message, dict):
            message = {"content": message}
        thinking, content = message.get("thinking") or "", message.get("content") or ""
        if not isinstance(thinking, str) or not isinstance(content, str):
            return [self.fail(StreamInterrupted(f"malformed line from Ollama: {line!r:.80}"))]
        events: list[ChatEvent] = []
        if (thinking or content) and not self.first_token_at:
            self.first_token_at = time.perf_counter()
        if thinking:
            events.append(ThinkingDelta(thinking))
        if content:
            self.parts.append(content)
            events.append(TextDelta(content))
        if line.get("done"):
            events.append(Done(self.stats(line)))
        return events

    def stats(self, final: dict[str, Any]) -> ChatStats:
        now = time.perf_counter()
        first = self.first_token_at or now
        completion = count_field(final.get("eval_count")) or len(self.parts)
        eval_s = count_field(final.get("eval_duration")) / 1e9
        if eval_s <= 0:
            eval_s = now - first
        return ChatStats(
            model=str(final.get("model") or self.model),
            prompt_tokens=count_field(final.get("prompt_eval_count")),
            completion_tokens=completion,
            ttft_s=first - self.started,
            total_s=now - self.started,
            tokens_per_s=completion / eval_s if eval_s > 0 else 0.0,
            done_reason=str(final.get("done_reason") or "stop"),
        )



def pull_progress(name: str, line: Any) -> PullProgress:
    if not isinstance(line, dict):
        raise StreamInterrupted(f"malformed line from Ollama: {line!r:.80}")
    if "error" in line:
        raise EngineError(f"could not pull {name!r}: {line['error']}")
    return PullProgress(
        status=str(line.get("status") or ""),
        digest=str(line.get("digest") or ""),
        total=count_field(line.get("total")),
        completed=count_field(line.get("completed")),
    )
