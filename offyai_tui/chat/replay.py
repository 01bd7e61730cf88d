"""Replaying transcript events into a conversation's state: messages as a tree, the shown branch.

Split from :mod:`offyai_tui.chat.transcript` (which writes and splits lines)
because this is where the format's meaning lives: what each event does, how a
format-1 line is read (:mod:`offyai_tui.chat.upgrades.v1`), and how a line that
makes no sense is skipped with a warning instead of losing the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from offyai_tui.chat.attachments import Attachment
from offyai_tui.chat.errors import ParameterError
from offyai_tui.chat.params import ParamValue, check_param, check_think
from offyai_tui.chat.records import FINAL_STATUSES, ChatMessage
from offyai_tui.chat.tree import MessageTree
from offyai_tui.chat.upgrades import v1
from offyai_tui.engines.parts import ToolCall
from offyai_tui.engines.thinking import Think

FORMAT_VERSION = 2
"""2: messages have ``parent_id`` (variants form a tree), ``shown`` picks the branch,
images are ``attachments/`` references, tool calls and results have fields."""
EVENT_TYPES = frozenset(
    {
        "header",
        "message",
        "checkpoint",
        "edit",
        "title",
        "mode",
        "params",
        "deleted",
        "clear",
        "shown",
        "continue",
    }
)
_ROLES = frozenset({"system", "user", "assistant", "tool"})


@dataclass
class TranscriptData:
    """A transcript replayed into its current state."""

    id: str
    title: str = ""
    created: str = ""
    model: str = ""
    mode: str = ""
    params: dict[str, ParamValue] = field(default_factory=dict)
    system: str | None = None
    """System prompt set with ``/set system`` (overrides the mode's)."""
    documents: bool = False
    """Answer from the workspace's documents (the toggle, from ``params`` events)."""
    think: Think = None
    """``/set think`` (from ``params`` events); ``None`` is the model's default."""
    messages: list[ChatMessage] = field(default_factory=list)
    """The current branch: what the chat shows and sends (see :mod:`.tree`)."""
    tree: MessageTree = field(default_factory=MessageTree)
    """Every message, variants included."""
    pointer: str | None = None
    """The message the current branch goes through (added last, or named by ``shown``)."""
    updated: str = ""
    """Timestamp of the newest event that carried one."""
    version: int = FORMAT_VERSION
    """The format named in the file's header (lines appended later may be newer)."""
    warnings: list[str] = field(default_factory=list)
    """Lines skipped and why; never raised, the UI may show them."""


class Replay:
    """Applies events in file order; :meth:`finish` fills in the current branch."""

    def __init__(self, result: TranscriptData, name: str) -> None:
        self.result = result
        self.name = name
        self.tree = result.tree
        self.partial: set[str] = set()
        """Ids known only from checkpoints so far."""
        self.pointer: str | None = None
        """The message the current branch goes through: the last one added, or ``shown``."""
        self.saw_header = False

    def apply(self, lineno: int, event: dict[str, Any]) -> None:
        kind = event["type"]
        stamp = event.get("created")
        if isinstance(stamp, str) and stamp > self.result.updated:
            self.result.updated = stamp
        handler = getattr(self, f"_on_{kind}", None)
        if kind not in EVENT_TYPES or handler is None:
            self._warn(lineno, f"unknown event {kind!r} skipped")
            return
        handler(lineno, event)

    def finish(self) -> None:
        self.result.pointer = self.pointer
        leaf = self.tree.follow(self.pointer)
        self.result.messages = self.tree.branch(leaf)

    def _warn(self, lineno: int, text: str) -> None:
        self.result.warnings.append(f"{self.name}:{lineno}: {text}")

    def _on_header(self, lineno: int, event: dict[str, Any]) -> None:
        if self.saw_header:
            self._warn(lineno, "second header ignored")
            return
        self.saw_header = True
        r = self.result
        r.title = _str(event, "title")
        r.created = _str(event, "created")
        r.model = _str(event, "model")
        r.mode = _str(event, "mode")
        version = event.get("v", v1.VERSION)
        r.version = version if isinstance(version, int) else v1.VERSION
        if r.version > FORMAT_VERSION:
            r.warnings.append(
                f"{self.name}: written by a newer OffyAI (format {r.version}); "
                "unknown events are skipped"
            )

    def _parent(self, lineno: int, event: dict[str, Any]) -> str | None:
        """Where a message that appears for the first time goes in the tree."""
        if v1.is_v1_line(event):
            return v1.derived_parent(self.tree)
        parent = event["parent_id"]
        if parent is None or parent in self.tree:
            return parent
        if not isinstance(parent, str):
            raise ValueError("parent_id is not a string")
        self._warn(lineno, "a message's parent is missing; placed after the previous message")
        return v1.derived_parent(self.tree)

    def _place(self, lineno: int, event: dict[str, Any], message: ChatMessage) -> None:
        """Add a new message below its parent; the branch now goes through it."""
        self.tree.add(message, self._parent(lineno, event))
        self.pointer = message.id

    def _on_message(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        role = _required_str(event, "role")
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}")
        status = event.get("status", "complete")
        if status not in FINAL_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        stats = event.get("stats", {})
        message = ChatMessage(
            id=msg_id,
            role=role,  # type: ignore[arg-type]
            content=_required_str(event, "content"),
            created=_str(event, "created"),
            model=_str(event, "model"),
            stats=stats if isinstance(stats, dict) else {},
            request_id=_str(event, "request_id"),
            status=status,
            error=_str(event, "error"),
            sources=_sources(event),
            thinking=_str(event, "thinking"),
            thinking_s=_seconds(event, "thinking_s"),
            retrieval=_dict(event, "retrieval"),
            images=self._images(lineno, event),
            files=self._images(lineno, event, "files"),
            tool_calls=self._tool_calls(lineno, event),
            tool_call_id=_str(event, "tool_call_id"),
            name=_str(event, "name"),
        )
        if msg_id in self.tree:  # the final line of a checkpointed answer (or a repeat)
            self.tree.replace(message)
        else:
            self._place(lineno, event, message)
        self.partial.discard(msg_id)

    def _images(
        self, lineno: int, event: dict[str, Any], key: str = "images"
    ) -> list[Attachment]:
        """The attachment references under ``key``, each checked; a bad one is left out."""
        found: list[Attachment] = []
        raw = event.get(key, [])
        what = "image" if key == "images" else "file"
        for entry in raw if isinstance(raw, list) else []:
            try:
                attachment = Attachment.from_dict(entry)
            except ValueError as exc:
                self._warn(lineno, f"{exc}; the message is kept without that {what}")
                continue
            if attachment.is_image == (key == "images"):
                found.append(attachment)
            else:
                self._warn(lineno, f"{attachment.file} misplaced; the message is kept without it")
        return found

    def _tool_calls(self, lineno: int, event: dict[str, Any]) -> list[ToolCall]:
        calls: list[ToolCall] = []
        raw = event.get("tool_calls", [])
        for entry in raw if isinstance(raw, list) else []:
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(key), str) for key in ("id", "name")
            ):
                self._warn(lineno, "a malformed tool call was skipped")
                continue
            arguments = entry.get("arguments")
            arguments = arguments if isinstance(arguments, dict) else {}
            calls.append(ToolCall(entry["id"], entry["name"], arguments))
        return calls

    def _on_checkpoint(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        text = _required_str(event, "text")
        offset = event.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad offset")
        current = self.tree.get(msg_id)
        if current is None:
            current = ChatMessage(
                id=msg_id,
                role="assistant",
                content="",
                created=_str(event, "created"),
                model=_str(event, "model"),
                request_id=_str(event, "request_id"),
                status="interrupted",
                sources=_sources(event),
                retrieval=_dict(event, "retrieval"),
            )
            self._place(lineno, event, current)
            self.partial.add(msg_id)
        elif msg_id not in self.partial:
            return  # already final: the message line holds the whole text
        if offset > len(current.content):
            self._warn(lineno, "part of an interrupted answer is missing")
            current.content += text
        else:
            current.content = current.content[:offset] + text
        thinking, at = event.get("thinking"), event.get("thinking_offset", 0)
        if isinstance(thinking, str) and isinstance(at, int) and not isinstance(at, bool):
            current.thinking = current.thinking[: max(0, at)] + thinking

    def _on_edit(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        content = _required_str(event, "content")
        message = self.tree.get(msg_id)
        if message is None:
            self._warn(lineno, "edit of an unknown message skipped")
            return
        message.content = content
        message.edited = _str(event, "created") or "edited"

    def _on_title(self, lineno: int, event: dict[str, Any]) -> None:
        self.result.title = _required_str(event, "title")

    def _on_mode(self, lineno: int, event: dict[str, Any]) -> None:
        self.result.mode = _required_str(event, "mode")

    def _on_params(self, lineno: int, event: dict[str, Any]) -> None:
        params = event.get("params", {})
        if not isinstance(params, dict):
            raise ValueError("params is not an object")
        clean: dict[str, ParamValue] = {}
        for key, value in params.items():
            try:
                clean[key] = check_param(key, value)
            except ParameterError as exc:
                self._warn(lineno, f"{exc}; ignored")
        self.result.params = clean
        system = event.get("system")
        self.result.system = system if isinstance(system, str) else None
        documents = event.get("documents")
        if isinstance(documents, bool):
            self.result.documents = documents
        try:
            self.result.think = check_think(event.get("think"))
        except ParameterError as exc:
            self._warn(lineno, f"{exc}; the model's default is used")
            self.result.think = None

    def _on_deleted(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        removed = self.tree.remove(msg_id)
        self.partial.discard(msg_id)
        if removed is not None and self.pointer == msg_id:
            self.pointer = removed.parent_id

    def _on_clear(self, lineno: int, event: dict[str, Any]) -> None:
        for message in self.tree:
            message.in_context = False

    def _on_shown(self, lineno: int, event: dict[str, Any]) -> None:
        msg_id = _required_str(event, "id")
        if msg_id not in self.tree:
            self._warn(lineno, "shown names an unknown message; ignored")
            return
        self.pointer = msg_id
        self.tree.select(msg_id)

    def _on_continue(self, lineno: int, event: dict[str, Any]) -> None:
        """An answer is being continued in place: its checkpoints count again, and
        until its final line comes back it is what a crash left (``interrupted``)."""
        msg_id = _required_str(event, "id")
        message = self.tree.get(msg_id)
        if message is None:
            self._warn(lineno, "continue of an unknown message skipped")
            return
        message.status = "interrupted"
        self.partial.add(msg_id)


def _str(event: dict[str, Any], key: str) -> str:
    value = event.get(key, "")
    return value if isinstance(value, str) else ""


def _seconds(event: dict[str, Any], key: str) -> float:
    """A duration in seconds; anything but a finite, non-negative number is 0."""
    value = event.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if 0 <= value < float("inf") else 0.0


def _dict(event: dict[str, Any], key: str) -> dict[str, Any]:
    value = event.get(key, {})
    return value if isinstance(value, dict) else {}


def _sources(event: dict[str, Any]) -> list[dict[str, Any]]:
    value = event.get("sources", [])
    return [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []


def _required_str(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key} missing or not a string")
    return value
