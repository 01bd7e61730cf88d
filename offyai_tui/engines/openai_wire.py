"""The OpenAI chat-completions wire format: messages out, streamed chunks in.

Kept apart from the HTTP client (:mod:`offyai_tui.engines.openai_compat`)
because this is the part that must follow the format and hold up against what
servers send. Messages with images become content parts with ``data:`` URLs;
tool calls and tool results use ``tool_calls`` / ``tool_call_id``. Streamed
tool calls arrive as fragments keyed by ``index`` (the id and name first, the
JSON arguments in pieces), so they are assembled here and handed on whole,
once the answer says it has finished. Reasoning arrives as ``reasoning_content``
(or ``reasoning``), or inline as a ``<think>`` block that opens ``content``
(Qwen3 and R1 GGUFs through llamafile or ``llama-server --reasoning-format none``);
both become :class:`ThinkingDelta`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from offyai_tui.engines.base import (
    ChatEvent,
    ChatStats,
    Message,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
)
from offyai_tui.engines.parts import ToolCall
from offyai_tui.engines.think_tags import ThinkSplitter


def wire_message(message: Message) -> dict[str, Any]:
    """A message as ``/v1/chat/completions`` takes it.

    Plain text messages stay ``{"role", "content"}`` with a string content, the
    form every server accepts; only messages with images use content parts.
    Reasoning is not sent back: servers either ignore it or reject it.
    """
    if message.role == "tool":
        out: dict[str, Any] = {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
        if message.name:
            out["name"] = message.name
        return out
    content: str | list[dict[str, Any]] = message.content
    if message.images:
        parts: list[dict[str, Any]] = []
        if message.content:
            parts.append({"type": "text", "text": message.content})
        parts += [
            {"type": "image_url", "image_url": {"url": image.data_url()}}
            for image in message.images
        ]
        content = parts
    out = {"role": message.role, "content": content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
            }
            for call in message.tool_calls
        ]
    return out


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def call(self, index: int) -> ToolCall | None:
        if not self.name:
            return None  # fragments that never named a function: nothing to run
        raw = "".join(self.arguments)
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = None
        call_id = self.id or f"call_{index}"
        if isinstance(parsed, dict):
            return ToolCall(call_id, self.name, parsed)
        return ToolCall(call_id, self.name, {}, raw_arguments=raw)


class Turn:
    """What one streamed answer has produced so far, and its timing."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.parts: list[str] = []
        self.chunks = 0
        self.usage: dict[str, Any] = {}
        self.finish_reason = ""
        self._calls: dict[int, _PendingCall] = {}
        self._calls_sent = False
        self._inline = ThinkSplitter()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def apply(self, chunk: dict[str, Any]) -> list[ChatEvent]:
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
            return []
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        events: list[ChatEvent] = []
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            events.append(ThinkingDelta(thinking))
        content = delta.get("content")
        if isinstance(content, str) and content:
            events += self._content(*self._inline.feed(content))
        fragments = delta.get("tool_calls")
        if isinstance(fragments, list) and self._take(fragments) and not self.first_token:
            self.first_token = time.perf_counter()
        if events:
            self.chunks += 1
            self.first_token = self.first_token or time.perf_counter()
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
            events += self.end_events()
        return events

    def _content(self, thinking: str, text: str) -> list[ChatEvent]:
        events: list[ChatEvent] = []
        if thinking:
            events.append(ThinkingDelta(thinking))
        if text:
            self.parts.append(text)
            events.append(TextDelta(text))
        return events

    def end_events(self) -> list[ChatEvent]:
        """What the end of the answer releases: text held back in case it opened a
        ``<think>`` tag, then the assembled tool calls. Safe to call more than once."""
        return self._content(*self._inline.close()) + self.end_tool_calls()

    def _take(self, fragments: list[Any]) -> bool:
        """Add streamed tool-call fragments; True if any was usable."""
        took = False
        for position, fragment in enumerate(fragments):
            if not isinstance(fragment, dict):
                continue
            index = fragment.get("index", position)
            index = index if isinstance(index, int) else position
            pending = self._calls.setdefault(index, _PendingCall())
            if isinstance(fragment.get("id"), str) and fragment["id"]:
                pending.id = fragment["id"]
            function = fragment.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str) and function["name"]:
                    pending.name = function["name"]
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    pending.arguments.append(arguments)
                elif isinstance(arguments, dict):  # some servers send an object at once
                    pending.arguments.append(json.dumps(arguments))
            took = True
        return took

    def end_tool_calls(self) -> list[ChatEvent]:
        """The assembled tool calls, once (at ``finish_reason`` or the end of the stream)."""
        if self._calls_sent:
            return []
        self._calls_sent = bool(self._calls)
        events: list[ChatEvent] = []
        for index in sorted(self._calls):
            call = self._calls[index].call(index)
            if call is not None:
                events.append(ToolCallEvent(call))
        return events

    def stats(self) -> ChatStats:
        end = time.perf_counter()
        completion = int(self.usage.get("completion_tokens") or self.chunks)
        first = self.first_token or end
        decode = end - first
        return ChatStats(
            model=self.model,
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
            completion_tokens=completion,
            ttft_s=first - self.started,
            total_s=end - self.started,
            tokens_per_s=completion / decode if decode > 0 else 0.0,
            done_reason=self.finish_reason or "stop",
        )
