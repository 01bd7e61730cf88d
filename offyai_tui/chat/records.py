"""Plain data shared by the chat modules: messages, summaries, search hits, ids."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from offyai_tui.chat.attachments import Attachment
from offyai_tui.engines.base import Message
from offyai_tui.engines.parts import ToolCall
from offyai_tui.settings.workspace import validate_name

Role = Literal["system", "user", "assistant", "tool"]
Status = Literal["streaming", "complete", "interrupted", "stopped", "error"]
"""``streaming`` exists only in memory; transcripts hold the other four."""

FINAL_STATUSES: frozenset[str] = frozenset({"complete", "interrupted", "stopped", "error"})


TITLE_MAX = 60


def make_title(prompt: str) -> str:
    """A sidebar title from the first prompt: its first line, trimmed at a word."""
    line = next((ln for ln in prompt.splitlines() if ln.strip()), "")
    line = " ".join(line.lstrip("#>*- ").split())
    if len(line) <= TITLE_MAX:
        return line or "Untitled"
    cut = line[: TITLE_MAX - 1]
    if " " in cut[TITLE_MAX // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


def now_iso() -> str:
    """UTC timestamp with milliseconds, e.g. ``2025-05-01T09:30:12.345+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_conversation_id() -> str:
    """A time-sortable, filename-safe id such as ``20250501-093012-345-7f3a9c``.

    Sorting ids as strings sorts conversations by creation time; the random
    suffix keeps two ids made in the same millisecond apart.
    """
    ns = time.time_ns()
    stamp = datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    millis = (ns // 1_000_000) % 1000
    return validate_name(f"{stamp}-{millis:03d}-{os.urandom(3).hex()}", "conversation")


def new_message_id() -> str:
    return uuid.uuid4().hex[:16]


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass
class ChatMessage:
    """One message as shown and as stored.

    ``content`` of an assistant message that did not complete holds the text
    produced before it stopped; ``status`` says why it ended.
    """

    id: str
    role: Role
    content: str
    created: str = field(default_factory=now_iso)
    model: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    """``ChatStats`` fields: prompt/completion tokens, ttft_s, total_s, tokens_per_s, ..."""
    request_id: str = ""
    status: Status = "complete"
    error: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    """Document passages an answer was grounded on (RAG): ``Source.to_dict()`` each."""
    retrieval: dict[str, Any] = field(default_factory=dict)
    """How they were found: ``Retrieval.to_dict()`` without ``sources`` (query, mode,
    model, elapsed_ms, note). A note alone means the search failed and the question
    was sent without sources; empty when documents were off."""
    thinking: str = ""
    """An answer's reasoning (reasoning models); kept and searched, never sent back."""
    thinking_s: float = 0.0
    """Seconds the model spent thinking before it answered ("Thought for 12 s")."""
    edited: str = ""
    """Timestamp of the last edit, empty if never edited."""
    in_context: bool = True
    """False once ``/clear`` has removed it from what the model sees."""
    parent_id: str | None = None
    """The message this one answers or follows; ``None`` for a first message.
    Variants (a regenerated answer, an edited question) share a parent."""
    images: list[Attachment] = field(default_factory=list)
    """Images attached to a user message: references to ``attachments/`` files."""
    files: list[Attachment] = field(default_factory=list)
    """Text files and PDFs attached to a user message: references to the stored
    text (``attachments/<sha256>.txt``); the request puts each in as a fenced
    block before the user's words, while ``content`` keeps only those words."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """Tools an assistant message asked to run."""
    tool_call_id: str = ""
    """On a ``tool`` message (a tool's result): the call it answers."""
    name: str = ""
    """On a ``tool`` message: the tool's name."""

    def to_request(self, attachments_root: Path) -> Message:
        """The message as engines take it; image references resolve under the workspace."""
        content = self.content
        if self.files:
            blocks = [file.block(attachments_root) for file in self.files]
            content = "\n\n".join([*blocks, content] if content else blocks)
        return Message(
            self.role,
            content,
            images=tuple(image.ref(attachments_root) for image in self.images),
            tool_calls=tuple(self.tool_calls),
            tool_call_id=self.tool_call_id or None,
            name=self.name or None,
        )

    def to_event(self) -> dict[str, Any]:
        """The transcript line of this message (empty optional fields omitted).

        ``parent_id`` is always written, ``null`` for a first message: a line
        without it is from format 1, whose messages simply followed each other.
        """
        event: dict[str, Any] = {
            "type": "message",
            "id": self.id,
            "parent_id": self.parent_id,
            "role": self.role,
            "status": self.status,
            "created": self.created,
            "model": self.model,
            "request_id": self.request_id,
            "content": self.content,
        }
        if self.stats:
            event["stats"] = self.stats
        if self.error:
            event["error"] = self.error
        if self.sources:
            event["sources"] = self.sources
        if self.retrieval:
            event["retrieval"] = self.retrieval
        if self.thinking:
            event["thinking"] = self.thinking
        if self.thinking_s:
            event["thinking_s"] = self.thinking_s
        if self.images:
            event["images"] = [image.to_dict() for image in self.images]
        if self.files:
            event["files"] = [file.to_dict() for file in self.files]
        if self.tool_calls:
            event["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id:
            event["tool_call_id"] = self.tool_call_id
        if self.name:
            event["name"] = self.name
        return event


@dataclass(frozen=True)
class ConversationSummary:
    """What the sidebar needs, read without parsing whole transcripts."""

    id: str
    title: str
    updated: float
    """Last write, seconds since the epoch (file modification time)."""
    messages: int
    created: str = ""


@dataclass(frozen=True)
class SearchHit:
    conversation_id: str
    title: str
    message_id: str
    role: str
    """The message's role, or ``thinking`` for a match in an answer's reasoning."""
    snippet: str
    """About 80 characters around the match, on one line."""
    position: int
    """Character offset of the match in the message content (in its reasoning when
    ``role`` is ``thinking``)."""
