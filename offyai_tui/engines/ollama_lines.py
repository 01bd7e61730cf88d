"""What the lines of Ollama's NDJSON streams mean: a chat turn's events, pull progress.

Kept apart from the HTTP client (:mod:`offyai_tui.engines.ollama`) because this
is the part that must hold up against whatever a server sends: every field is
checked before use, and a line that makes no sense ends the stream with a
readable error and the text received so far.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from offyai_tui.engines.base import (
    ChatEvent,
    ChatStats,
    Done,
    ErrorEvent,
    Message,
    PullProgress,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
)
from offyai_tui.engines.errors import EngineError, StreamInterrupted, Unsupported
from offyai_tui.engines.parts import ToolCall
from offyai_tui.engines.think_tags import ThinkSplitter


def wire_message(message: Message) -> dict[str, Any]:
    """A message as Ollama's ``/api/chat`` takes it (fields of its ``api.Message``).

    Images go as base64 of the stored files (read and hash-checked here, so an
    attachment that vanished is one readable error before anything is sent).
    Plain text messages stay ``{"role", "content"}``, as before parts existed.
    Earlier reasoning (``thinking``) is never sent back.
    """
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        out["images"] = [image.base64() for image in message.images]
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": call.id, "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
    if message.role == "tool":
        if message.name:
            out["tool_name"] = message.name
        if message.tool_call_id:
            out["tool_call_id"] = message.tool_call_id
    return out


def stream_error(message: str, model: str) -> EngineError:
    """Ollama's ``error`` text as the error users see.

    A request with ``think`` for a model that cannot think is refused with
    "... does not support thinking"; that becomes one line saying what to do.
    """
    if "does not support thinking" in message:
        return Unsupported(f"{model or 'this model'} cannot think; turn it off with /set think off")
    return StreamInterrupted(f"Ollama: {message}")


def tool_call(entry: Any, number: int) -> ToolCall:
    """One entry of ``message.tool_calls``; ``number`` names calls that come without an id.

    Raises:
        ValueError: the entry has no function name.
    """
    function = entry.get("function") if isinstance(entry, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str) or not name:
        raise ValueError("a tool call without a function name")
    call_id = entry.get("id")
    call_id = call_id if isinstance(call_id, str) and call_id else f"call_{number}"
    arguments = function.get("arguments")
    if isinstance(arguments, dict):
        return ToolCall(call_id, name, arguments)
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return ToolCall(call_id, name, parsed)
    return ToolCall(call_id, name, {}, raw_arguments=raw)


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
    tool_calls: int = 0
    inline: ThinkSplitter = field(default_factory=ThinkSplitter)
    """Older servers, and ``think`` left unset, leave ``<think>`` blocks in ``content``."""

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
            return [self.fail(stream_error(str(line["error"]), self.model))]
        message = line.get("message") or {}
        if not isinstance(message, dict):
            message = {"content": message}
        thinking, content = message.get("thinking") or "", message.get("content") or ""
        if not isinstance(thinking, str) or not isinstance(content, str):
            return [self.fail(StreamInterrupted(f"malformed line from Ollama: {line!r:.80}"))]
        calls = message.get("tool_calls")  # one lookup: most lines have none
        events: list[ChatEvent] = []
        if (thinking or content or calls) and not self.first_token_at:
            self.first_token_at = time.perf_counter()
        if content:
            inline_thinking, content = self.inline.feed(content)
            thinking += inline_thinking
        if line.get("done"):
            tail_thinking, tail = self.inline.close()
            thinking, content = thinking + tail_thinking, content + tail
        if thinking:
            events.append(ThinkingDelta(thinking))
        if content:
            self.parts.append(content)
            events.append(TextDelta(content))
        if calls and (failed := self._tool_calls(calls, events)) is not None:
            return [*events, failed]
        if line.get("done"):
            events.append(Done(self.stats(line)))
        return events

    def _tool_calls(self, calls: Any, events: list[ChatEvent]) -> ErrorEvent | None:
        """Add a line's tool calls to ``events``; an error if they make no sense."""
        if not isinstance(calls, list):
            return self.fail(StreamInterrupted(f"malformed tool calls from Ollama: {calls!r:.80}"))
        for entry in calls:
            try:
                call = tool_call(entry, self.tool_calls)
            except ValueError as exc:
                return self.fail(StreamInterrupted(f"Ollama sent {exc}: {entry!r:.80}"))
            self.tool_calls += 1
            events.append(ToolCallEvent(call))
        return None

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
