"""A conversation in memory, kept in step with its transcript.

Every change goes to memory first, then to the transcript. If the write fails
(disk full, read-only workspace) the change stays visible, the event is kept
as pending and retried before the next write, and :class:`TranscriptError`
tells the UI to say so. The transcript file is created on the first write, so
an empty "new chat" leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from offyai_tui.chat.attachments import Attachment
from offyai_tui.chat.context import ContextPlan, fit_context, resolve_budget
from offyai_tui.chat.errors import (
    MessageNotFound,
    ReadOnlyWorkspace,
    ReplyInProgress,
    TranscriptError,
)
from offyai_tui.chat.export import to_markdown
from offyai_tui.chat.modes import Mode, ModeCatalog, builtin_catalog
from offyai_tui.chat.params import ParamValue, apply_params, check_param, check_think
from offyai_tui.chat.records import (
    ChatMessage,
    make_title,
    new_message_id,
    new_request_id,
    now_iso,
)
from offyai_tui.chat.reply import ReplyHandle
from offyai_tui.chat.tokens import TokenCounter
from offyai_tui.chat.transcript import FORMAT_VERSION, TranscriptWriter
from offyai_tui.chat.tree import MessageTree
from offyai_tui.chat.variants import Variants, place, until
from offyai_tui.engines.base import ChatOptions, Message
from offyai_tui.engines.thinking import Think
from offyai_tui.settings.config import ChatSettings
from offyai_tui.settings.workspace import validate_name

CHECKPOINT_INTERVAL = 1.0
"""Seconds between checkpoints of a streaming answer (kill -9 loses at most this)."""


class Conversation(Variants):
    """Messages, mode, parameters and title of one conversation.

    Build one through ``ConversationStore`` (``create``/``load``), which wires
    the transcript writer; a ``Conversation`` without a writer is read-only.

    Args:
        clock: Monotonic seconds; tests inject a fake to drive checkpoints.
        checkpoint_interval: Seconds between checkpoints while streaming.
        attachments_root: The workspace root its attachment references are
            relative to (default: the parent of the transcript's ``chats/``).

    ``messages`` is the current branch of ``tree`` (every variant): what is
    shown and sent. New messages go below the last one of the branch.
    """

    def __init__(
        self,
        conv_id: str,
        *,
        writer: TranscriptWriter | None,
        modes: ModeCatalog | None = None,
        title: str = "",
        model: str = "",
        mode: Mode | None = None,
        created: str = "",
        clock: Callable[[], float] = time.monotonic,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
        attachments_root: Path | None = None,
        ephemeral: bool = False,
    ) -> None:
        self.id = validate_name(conv_id, "conversation")
        self.ephemeral = ephemeral
        """Kept in memory only (``offyai ask`` without a chat to add to): writes are skipped."""
        self.modes = modes or builtin_catalog()
        self.title = title
        self.model = model
        self.mode: Mode = mode or self.modes.default
        self.created = created or now_iso()
        self.params: dict[str, ParamValue] = {}
        """Overrides from ``/set parameter`` (on top of the mode's parameters)."""
        self.system: str | None = None
        """System prompt from ``/set system``; ``None`` means the mode's."""
        self.documents = False
        """Answer from the workspace's documents (stored with the parameters)."""
        self.think: Think = None
        """``/set think``: ``None`` leaves it to the model (stored with the parameters)."""
        self.messages: list[ChatMessage] = []
        self.tree = MessageTree()
        self._pointer: str | None = None
        """The message the branch goes through (as the transcript reader tracks it)."""
        if attachments_root is None and writer is not None:
            attachments_root = writer.path.parent.parent
        self.attachments_root = attachments_root
        self.warnings: list[str] = []
        """Lines skipped while loading the transcript."""
        self.active_reply: ReplyHandle | None = None
        self.tool_grants: set[str] = set()
        """Tools the user allowed for the rest of this conversation (this session only)."""
        self.last_plan: ContextPlan | None = None
        self._writer = writer
        self._saved = writer is not None and writer.exists
        self._pending: list[dict[str, Any]] = []
        self._closed_reason = ""
        self._clock = clock
        self._interval = checkpoint_interval

    # ----------------------------------------------------------------- queries

    @property
    def saved(self) -> bool:
        """True once the transcript file exists."""
        return self._saved

    @property
    def read_only(self) -> bool:
        return self._writer is None

    @property
    def unsaved_events(self) -> int:
        """Changes that could not be written yet (retried on the next write)."""
        return len(self._pending)

    @property
    def is_streaming(self) -> bool:
        return self.active_reply is not None

    @property
    def system_prompt(self) -> str:
        return self.system if self.system is not None else self.mode.system_prompt

    def message(self, message_id: str) -> ChatMessage | None:
        """Any message of the conversation, on the current branch or not."""
        return self.tree.get(message_id)

    def accepts(self, request_id: str) -> bool:
        """True if ``request_id`` is the answer currently streaming here."""
        return self.active_reply is not None and self.active_reply.request_id == request_id

    def effective_parameters(self, settings: ChatSettings | None = None) -> dict[str, ParamValue]:
        """Config < mode parameters < ``/set parameter`` values; only what someone set.

        An unset ``chat.temperature`` is left out, so the model's own (a GGUF's
        recommended sampling, an Ollama Modelfile's) or the engine's default applies.
        """
        merged: dict[str, ParamValue] = {}
        if settings is not None and settings.temperature is not None:
            merged["temperature"] = settings.temperature
        merged.update(self.mode.parameters)
        merged.update(self.params)
        return merged

    def to_markdown(self, link_from: Path | None = None, *, thinking: bool = True) -> str:
        """The conversation as Markdown; attachments are linked relative to ``link_from``
        (the export's folder), or by absolute path when it is not given. Reasoning is a
        collapsed block above each answer, or left out (``thinking=False``)."""
        return to_markdown(
            self.title, self.messages, model=self.model, mode=self.mode.name, created=self.created,
            attachments_root=self.attachments_root, link_from=link_from, thinking=thinking,
        )  # fmt: skip

    # ---------------------------------------------------------------- changes

    def add_user(
        self, text: str, images: Sequence[Attachment] = (), files: Sequence[Attachment] = ()
    ) -> ChatMessage:
        """Add the user's prompt (fsynced); the first one also sets the title.

        ``images`` and ``files`` are stored attachments (``offyai_tui.attach.prepare``).
        """
        if self.active_reply is not None:
            raise ReplyInProgress("an answer is still streaming; wait or press Esc to stop it")
        message = ChatMessage(
            id=new_message_id(), role="user", content=text, images=list(images), files=list(files)
        )
        self._append(message)
        if not self.title:
            self.title = make_title(text or " ".join(a.name for a in [*images, *files]))
        self._write(message.to_event())
        return message

    def add_tool_result(self, call_id: str, name: str, text: str) -> ChatMessage:
        """Add what a tool returned (or why it did not run) below the answer that asked.

        Denials and failures are results too: the model reads them and answers
        without the tool, so they are stored like any other result.
        """
        if self.active_reply is not None:
            raise ReplyInProgress("an answer is still streaming; wait or press Esc to stop it")
        message = ChatMessage(id=new_message_id(), role="tool", content=text,
                              tool_call_id=call_id, name=name)
        self._append(message)
        self._write(message.to_event())
        return message

    async def start_reply(
        self,
        counter: TokenCounter,
        *,
        model: str = "",
        settings: ChatSettings | None = None,
        model_window: int = 0,
        engine_window: int = 0,
        extra_tokens: int = 0,
        below: str | None = None,
    ) -> ReplyHandle:
        """Plan the request and add a ``streaming`` assistant message.

        Args:
            counter: Token counter for the engine and model in use.
            model: Model to answer with; empty keeps the conversation's.
            settings: ``Settings.chat`` (window, reply reserve, temperature if set).
            model_window: The model's own context length, 0 if unknown.
            engine_window: A hard engine limit such as llama.cpp's ``n_ctx``, 0 if none.
            extra_tokens: Text the caller will add to the latest turn of
                ``handle.messages`` (retrieved passages); older turns make room.
            below: Answer this message of the branch again (regenerate): the
                request ends at it and the answer is a new variant below it.

        Raises:
            ReplyInProgress: another answer is streaming in this conversation.
        """
        if self.active_reply is not None:
            raise ReplyInProgress("an answer is still streaming; wait or press Esc to stop it")
        self.model = model or self.model
        message = ChatMessage(
            id=new_message_id(),
            role="assistant",
            content="",
            model=self.model,
            request_id=new_request_id(),
            status="streaming",
        )
        handle = ReplyHandle(self, message, clock=self._clock, interval=self._interval)
        self.active_reply = handle  # reserved before awaiting: no second reply can start
        try:
            handle.plan = await self.plan_context(
                counter, settings=settings, model_window=model_window,
                engine_window=engine_window, extra_tokens=extra_tokens, below=below,
            )
        except BaseException:
            self.active_reply = None
            raise
        params = self.effective_parameters(settings)
        handle.messages = handle.plan.messages
        handle.options = apply_params(
            ChatOptions(model=self.model, num_ctx=handle.plan.window, think=self.think), params
        )
        self._append(message, below)
        return handle

    async def plan_context(
        self,
        counter: TokenCounter,
        *,
        settings: ChatSettings | None = None,
        model_window: int = 0,
        engine_window: int = 0,
        extra_tokens: int = 0,
        below: str | None = None,
    ) -> ContextPlan:
        """What the next request would send (up to ``below`` when given); also updates
        ``last_plan`` (status bar)."""
        params = self.effective_parameters(settings)
        budget = resolve_budget(
            num_ctx=_int(params.get("num_ctx")),
            num_predict=_int(params.get("num_predict")),
            configured_ctx=settings.num_ctx if settings else 0,
            reply_reserve=settings.reply_reserve if settings else 512,
            model_window=model_window,
            engine_window=engine_window,
        )
        plan = await fit_context(
            self.system_prompt, self.history(below), counter.count_message, budget,
            exact=counter.exact, extra=extra_tokens,
        )
        if counter.exact and not plan.exact:
            plan = replace(plan, exact=True)
        self.last_plan = plan
        return plan

    def history(self, below: str | None = None) -> list[Message]:
        """Messages the model may see: in context, finished, with text (up to ``below``).

        Failed answers are left out (their text may be garbage); stopped and
        interrupted ones are kept, since the user saw them.
        """
        out = []
        root = self.attachments_root or Path(".")
        for m in until(self.messages, below):
            if not m.in_context or m.role == "system" or m.status in ("streaming", "error"):
                continue
            if m.role == "assistant" and not m.content.strip() and not m.tool_calls:
                continue
            out.append(m.to_request(root))
        return out

    def rename(self, title: str) -> None:
        title = " ".join(title.split())
        if not title:
            raise ValueError("a title cannot be empty")
        self.title = title
        self._write({"type": "title", "title": title, "created": now_iso()}, create=False)

    def set_mode(self, mode: Mode | str) -> Mode:
        """Switch mode (a ``Mode`` or its name); stored in the transcript."""
        if isinstance(mode, str):
            found = self.modes.get(mode)
            if found is None:
                raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(self.modes.names())}")
            mode = found
        self.mode = mode
        self._write({"type": "mode", "mode": mode.key, "created": now_iso()}, create=False)
        return mode

    def set_parameter(self, name: str, value: Any) -> ParamValue:
        """Set one parameter for this conversation (validated; ``ParameterError``)."""
        checked = check_param(name, value)
        self.params[name] = checked
        self._write(self._params_event(), create=False)
        return checked

    def set_think(self, value: Any) -> Think:
        """``/set think``: on, off, a level, or ``None`` for the model's default (stored).

        Raises:
            ParameterError: a value that is none of those.
        """
        self.think = check_think(value)
        self._write(self._params_event(), create=False)
        return self.think

    def set_documents(self, on: bool) -> None:
        """Turn answering from the workspace's documents on or off (stored)."""
        self.documents = bool(on)
        self._write(self._params_event(), create=False)

    def reset_parameters(self) -> None:
        """Forget ``/set`` parameters and system prompt: back to the mode's."""
        self.params = {}
        self.system = None
        self.think = None
        self._write(self._params_event(), create=False)

    def set_system(self, text: str | None) -> None:
        """Override the mode's system prompt (``None`` restores it)."""
        self.system = text
        self._write(self._params_event(), create=False)

    def clear_context(self) -> None:
        """``/clear``: earlier messages stay visible but are no longer sent."""
        for message in self.tree:
            message.in_context = False
        self._write({"type": "clear", "created": now_iso()}, create=False)

    def edit_message(self, message_id: str, content: str) -> ChatMessage:
        message = self._require(message_id)
        message.content = content
        message.edited = now_iso()
        self._write(
            {"type": "edit", "id": message_id, "content": content, "created": message.edited}
        )
        return message

    def delete_message(self, message_id: str) -> None:
        """Remove a message (e.g. a failed answer before a retry); its replies move up."""
        self._require(message_id)
        removed = self.tree.remove(message_id)
        if removed is not None and self._pointer == message_id:
            self._pointer = removed.parent_id
        self.messages = self.tree.branch(self.tree.follow(self._pointer))
        self._write({"type": "deleted", "id": message_id, "created": now_iso()})

    def show(self, message_id: str) -> list[ChatMessage]:
        """Make the branch through ``message_id`` current (a variant); stored as ``shown``.

        Below that message the branch follows the reply last shown at each step.
        """
        if self.active_reply is not None:
            raise ReplyInProgress("an answer is still streaming; wait or press Esc to stop it")
        self._require(message_id)
        self._pointer = message_id
        self.messages = self.tree.branch(self.tree.select(message_id))
        self._write({"type": "shown", "id": message_id, "created": now_iso()})
        return self.messages

    def flush(self) -> None:
        """Retry writing pending changes (after the user freed disk space)."""
        if self._pending:
            self._write()

    # ------------------------------------------------------------- internals

    def _append(self, message: ChatMessage, below: str | None = None) -> None:
        """Add ``message`` below ``below`` or the end of the current branch; it ends it now."""
        place(self, message, below or (self.messages[-1].id if self.messages else None))

    def _require(self, message_id: str) -> ChatMessage:
        if self.active_reply is not None and self.active_reply.message_id == message_id:
            raise ReplyInProgress("that answer is still streaming; stop it first")
        message = self.message(message_id)
        if message is None:
            raise MessageNotFound(f"no message {message_id!r} in this conversation")
        return message

    def _params_event(self) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "params",
            "params": dict(self.params),
            "system": self.system,
            "documents": self.documents,
            "created": now_iso(),
        }
        if self.think is not None:
            event["think"] = self.think
        return event

    def _header(self) -> dict[str, Any]:
        return {
            "type": "header",
            "v": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "model": self.model,
            "mode": self.mode.key,
        }

    def _reply_ended(self, handle: ReplyHandle) -> None:
        if self.active_reply is handle:
            self.active_reply = None
        self._write(handle.message.to_event())

    def _mark_deleted(self) -> None:
        self._closed_reason = "this conversation was deleted; not saved"

    def _write(self, *events: dict[str, Any], durable: bool = True, create: bool = True) -> None:
        """Append events; create the file first if needed.

        Settings changes (``create=False``) on a conversation with no messages
        yet stay in memory: they go into the file with the first message.
        Checkpoints (``durable=False``) are never queued; a later checkpoint
        repeats their text.
        """
        if self._closed_reason:
            raise TranscriptError(self._closed_reason)
        if self._writer is None:
            if self.ephemeral:
                return
            raise ReadOnlyWorkspace(
                "the workspace is open in another OffyAI instance; "
                "this change is shown but not saved"
            )
        if not self._saved and not create:
            return
        batch = self._pending + list(events)
        durable = durable or bool(self._pending)
        try:
            if not self._saved:
                first: list[dict[str, Any]] = []
                if self.params or self.documents or (self.system, self.think) != (None, None):
                    first.append(self._params_event())
                self._writer.create(self._header(), first + batch)
                self._saved = True
            else:
                self._writer.append(*batch, durable=durable)
        except TranscriptError:
            self._pending = [e for e in batch if e.get("type") != "checkpoint"]
            raise
        self._pending = []


def _int(value: ParamValue | None) -> int | None:
    return None if value is None or isinstance(value, list) else int(value)
