"""One streaming assistant answer: deltas in, checkpoints and a final line out.

A :class:`ReplyHandle` is bound to one conversation and one request id, so the
text it receives can only ever land in that conversation, whatever the user
switched to meanwhile. After its final state (complete, stopped, error) it
ignores anything else, which makes late deltas and a double Esc harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from offyai_tui.chat.errors import TranscriptError
from offyai_tui.chat.records import ChatMessage, now_iso
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    ChatStats,
    Done,
    ErrorEvent,
    Message,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
)

if TYPE_CHECKING:
    from offyai_tui.chat.context import ContextPlan
    from offyai_tui.chat.conversation import Conversation


class ReplyHandle:
    """The live state of one answer; created by ``Conversation.start_reply``.

    ``append`` never raises. ``finish``, ``stop`` and ``fail`` (and ``apply`` on
    a final event) set the final state in memory first and then write the
    message line; if that write fails they raise :class:`TranscriptError`, the
    answer stays on screen and the line is retried with the next write.

    Attributes:
        request_id: Unique id of this request (compare with ``Conversation.accepts``).
        message: The assistant message, status ``streaming`` until it ends.
        messages: What to send to ``Engine.stream_chat``.
        options: The ``ChatOptions`` to send with them.
        plan: The context plan (tokens used/window, turns left out).
        checkpoint_error: Set when a checkpoint could not be written (disk
            full); streaming continues in memory and the UI may warn once.
    """

    def __init__(
        self,
        conversation: Conversation,
        message: ChatMessage,
        *,
        clock: Callable[[], float],
        interval: float,
        resumed: bool = False,
    ) -> None:
        """``resumed``: ``message`` is a saved answer being continued, so checkpoints
        start after the text it already has."""
        self.conversation = conversation
        self.message = message
        self.request_id = message.request_id
        self.messages: tuple[Message, ...] = ()
        self.options = ChatOptions(model=message.model)
        self.plan: ContextPlan | None = None
        self.checkpoint_error: TranscriptError | None = None
        self._clock = clock
        self._interval = interval
        self._last_checkpoint = clock()
        self._saved_len = len(message.content) if resumed else 0
        self._saved_thinking = len(message.thinking) if resumed else 0
        self._thinking_since: float | None = None
        self._done = False
        self._before = ((message.status, message.error, dict(message.stats), message.model)
                        if resumed else None)
        self._start = (len(message.content), len(message.thinking))
        """A continued answer's state before it reopened: a continue that fails before
        adding anything puts it back (the answer stays continuable, the error is said)."""

    @property
    def message_id(self) -> str:
        return self.message.id

    @property
    def text(self) -> str:
        return self.message.content

    @property
    def done(self) -> bool:
        return self._done

    # ---------------------------------------------------------------- input

    @property
    def thinking(self) -> bool:
        """True while the model is reasoning (its answer has not begun)."""
        return self._thinking_since is not None

    @property
    def thinking_seconds(self) -> float:
        """How long the model has thought: live while it thinks ("Thinking… 12 s"),
        then the final figure the transcript keeps ("Thought for 12 s")."""
        if self._thinking_since is not None:
            return self.message.thinking_s + (self._clock() - self._thinking_since)
        return self.message.thinking_s

    def append(self, text: str) -> None:
        """Add streamed text; saves a checkpoint when one is due. Never raises."""
        if self._done or not text:
            return
        self._end_thinking()
        self.message.content += text
        self.checkpoint_if_due()

    def append_thinking(self, text: str) -> None:
        """Add streamed reasoning; it is checkpointed like text, so a crash during
        minutes of thinking keeps it. Never raises."""
        if self._done or not text:
            return
        if self._thinking_since is None:
            self._thinking_since = self._clock()
        self.message.thinking += text
        self.checkpoint_if_due()

    def _end_thinking(self) -> None:
        """The answer (or the end) has come: the thinking time is final."""
        if self._thinking_since is not None:
            elapsed = self._clock() - self._thinking_since
            self.message.thinking_s = round(self.message.thinking_s + elapsed, 3)
            self._thinking_since = None

    def apply(self, event: ChatEvent) -> bool:
        """Route one engine event; returns True once the answer has ended.

        Convenience for the streaming loop::

            async for event in engine.stream_chat(handle.messages, handle.options):
                if handle.apply(event):
                    break
        """
        if isinstance(event, TextDelta):
            self.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.append_thinking(event.text)
        elif isinstance(event, ToolCallEvent):
            if not self._done:
                self.message.tool_calls.append(event.call)
        elif isinstance(event, Done):
            self.finish(event.stats)
        elif isinstance(event, ErrorEvent):
            self.fail(event.error, event.partial_text)
        return self._done

    # ----------------------------------------------------------- checkpoints

    def checkpoint_if_due(self) -> bool:
        """Write a checkpoint if the interval has passed and there is new text.

        ``append`` calls this; a UI timer may call it too so that text from a
        stream that has gone quiet is saved within the interval.
        """
        if self._done or (
            len(self.message.content) == self._saved_len
            and len(self.message.thinking) == self._saved_thinking
        ):
            return False
        now = self._clock()
        if now - self._last_checkpoint < self._interval:
            return False
        self._last_checkpoint = now
        return self._checkpoint()

    def _checkpoint(self) -> bool:
        content = self.message.content
        event: dict[str, Any] = {
            "type": "checkpoint",
            "id": self.message.id,
            "parent_id": self.message.parent_id,
            "offset": self._saved_len,
            "text": content[self._saved_len :],
            "created": now_iso(),
            "model": self.message.model,
            "request_id": self.request_id,
        }
        thinking = self.message.thinking
        if len(thinking) != self._saved_thinking:
            event["thinking_offset"] = self._saved_thinking
            event["thinking"] = thinking[self._saved_thinking :]
        if self._saved_len == 0:
            # The first checkpoint also keeps the sources, so an answer cut off
            # by a crash still shows what it was grounded on.
            if self.message.sources:
                event["sources"] = self.message.sources
            if self.message.retrieval:
                event["retrieval"] = self.message.retrieval
        try:
            self.conversation._write(event, durable=False)
        except TranscriptError as exc:
            self.checkpoint_error = exc
            return False
        self._saved_len = len(content)
        self._saved_thinking = len(thinking)
        self.checkpoint_error = None
        return True

    # ----------------------------------------------------------- final states

    def finish(self, stats: ChatStats | None = None) -> ChatMessage:
        """Complete the answer (``stopped`` if the engine reports a cancel or the
        runaway guard cut it; ``stats.note`` says why)."""
        cut = stats is not None and stats.done_reason in ("cancelled", "repeating")
        status = "stopped" if cut else "complete"
        if stats is not None:
            self.message.stats = asdict(stats)
            self.message.model = stats.model or self.message.model
        return self._end(status, "")

    def stop(self) -> ChatMessage:
        """The user stopped the answer: the partial text is kept."""
        return self._end("stopped", "")

    def fail(self, error: str | BaseException, partial_text: str = "") -> ChatMessage:
        """The answer failed: keep the longest partial text we have, note why."""
        if not self._done and len(partial_text) > len(self.message.content):
            self.message.content = partial_text
        grew = (len(self.message.content), len(self.message.thinking)) != self._start
        if self._before is not None and not grew and not self._done:
            status, was_error, self.message.stats, self.message.model = self._before
            return self._end(status, was_error)
        return self._end("error", " ".join(str(error).split()) or type(error).__name__)

    def _end(self, status: str, error: str) -> ChatMessage:
        if self._done:
            return self.message
        self._end_thinking()
        self._done = True
        self.message.status = status  # type: ignore[assignment]
        self.message.error = error
        self.conversation._reply_ended(self)
        return self.message
