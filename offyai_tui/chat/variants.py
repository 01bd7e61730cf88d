"""Variants of a conversation: regenerate, edit, cycle, continue, delete a turn.

Every operation is new events in the append-only transcript, never a rewrite:
a regenerated answer or an edited prompt is a new message beside the old one
(the same parent, :mod:`.tree`); cycling is a ``shown`` event; continuing an
answer is a ``continue`` event, then checkpoints and a final line for the same
message; deleting a turn is one ``deleted`` event per message. The replay
(:mod:`.replay`) applies those events with the same tree operations used here,
so a reopened conversation has the same tree, shows the same branch and cycles
the same way.

:class:`Variants` is mixed into :class:`~offyai_tui.chat.conversation.Conversation`
(which is near the module size limit), so these are its methods; they keep its
``messages`` (the branch shown), ``tree`` and transcript in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from offyai_tui.chat.attachments import Attachment
from offyai_tui.chat.errors import (
    CannotContinue,
    MessageNotFound,
    ReplyInProgress,
    TranscriptError,
)
from offyai_tui.chat.params import apply_params
from offyai_tui.chat.records import ChatMessage, new_message_id, new_request_id, now_iso
from offyai_tui.chat.reply import ReplyHandle
from offyai_tui.engines.base import ChatOptions

if TYPE_CHECKING:
    from offyai_tui.chat.conversation import Conversation
    from offyai_tui.chat.tokens import TokenCounter

CONTINUABLE = frozenset({"stopped", "interrupted"})
"""Statuses of an answer cut short; a ``complete`` one qualifies when it hit the length limit."""


def place(conv: Conversation, message: ChatMessage, parent: str | None) -> None:
    """Add ``message`` below ``parent`` (a message of the branch shown, or ``None``
    for a first message); the branch shown now ends in it."""
    conv.tree.add(message, parent)
    conv.messages = conv.tree.branch(message.id)
    conv._pointer = message.id


def until(messages: Sequence[ChatMessage], last: str | None) -> Sequence[ChatMessage]:
    """``messages`` up to and including the one with id ``last`` (all when ``None``)."""
    if last is None:
        return messages
    for at, message in enumerate(messages):
        if message.id == last:
            return messages[: at + 1]
    raise MessageNotFound(f"message {last!r} is not on the branch shown")


def length_cut(message: ChatMessage) -> bool:
    """The answer ended because it reached the length limit (``num_predict``)."""
    return message.status == "complete" and message.stats.get("done_reason") == "length"


class Variants:
    """Regenerate, edit, cycle, continue and delete, as ``Conversation`` methods."""

    def variants(self: Conversation, message_id: str) -> tuple[int, int]:
        """Where a message stands among its variants: ``(index, count)``, index from 0
        (the UI shows ``‹ index+1/count ›`` when count > 1)."""
        siblings = [m.id for m in self.tree.siblings(self._known(message_id).id)]
        return siblings.index(message_id), len(siblings)

    def cycle(self: Conversation, message_id: str, step: int = 1) -> ChatMessage:
        """Show the next (``step=1``) or previous (``-1``) variant of a message, wrapping
        around; below it the branch is the one last shown there. Stored as ``shown``.

        Returns the variant now shown (``conv.messages`` is the new branch).
        """
        siblings = self.tree.siblings(self._known(message_id).id)
        at = [m.id for m in siblings].index(message_id)
        target = siblings[(at + step) % len(siblings)]
        if target.id != message_id:
            self.show(target.id)
        return target

    def regenerate_target(self: Conversation) -> ChatMessage:
        """The prompt a regenerate answers again: the last user message of the branch.

        Raises:
            ReplyInProgress: an answer is streaming.
            MessageNotFound: the branch has no user message.
        """
        self._idle()
        for message in reversed(self.messages):
            if message.role == "user":
                return message
        raise MessageNotFound("there is no prompt to answer again")

    def edit_prompt(
        self: Conversation,
        message_id: str,
        text: str,
        images: Sequence[Attachment] | None = None,
        files: Sequence[Attachment] | None = None,
    ) -> ChatMessage:
        """A new version of an earlier prompt: a variant beside it that ends the branch
        shown (the next turn answers it). The old prompt and what followed it stay,
        reachable by cycling. Attachments are the old prompt's unless given.
        """
        self._idle()
        original = self._known(message_id)
        if original.role != "user":
            raise MessageNotFound("only a prompt can be edited into a new version")
        message = ChatMessage(
            id=new_message_id(), role="user", content=text,
            images=list(original.images if images is None else images),
            files=list(original.files if files is None else files),
        )  # fmt: skip
        place(self, message, original.parent_id)
        self._write(message.to_event())
        return message

    def turn_versions(self: Conversation, message_id: str) -> list[ChatMessage]:
        """A prompt and its other versions (its edits: the prompts beside it), oldest first."""
        prompt = self._known(message_id)
        return [m for m in self.tree.siblings(prompt.id) if m.role == "user"]

    def delete_turn(self: Conversation, message_id: str) -> list[str]:
        """Delete a prompt and its answers: every version of the prompt (its edits),
        every variant of their answers and the tool results between. Prompts that
        followed (on any branch) move up to where it was, so nothing after the turn is
        lost; the prompt's other versions go too, or the prompts that moved up would
        sit beside them as their versions. Returns the deleted ids.
        """
        self._idle()
        prompt = self._known(message_id)
        if prompt.role != "user":
            raise MessageNotFound("only a prompt can be deleted with its answers")
        doomed, queue = [], [m.id for m in self.turn_versions(prompt.id)]
        while queue:
            current = queue.pop(0)
            doomed.append(current)
            queue += [m.id for m in self.tree.children(current) if m.role != "user"]
        stamp = now_iso()
        for gone in doomed:
            removed = self.tree.remove(gone)
            if removed is not None and self._pointer == gone:
                self._pointer = removed.parent_id
        self.messages = self.tree.branch(self.tree.follow(self._pointer))
        self._write(*({"type": "deleted", "id": gone, "created": stamp} for gone in doomed))
        return doomed

    def withdraw(self: Conversation, message_id: str, shown: str | None) -> None:
        """Take back an answer that failed before its first word (a regenerate the engine
        could not start) and show ``shown`` again, the answer it was to stand beside: an
        empty error version would only hide it. Stored as ``deleted`` then ``shown``."""
        self._idle()
        failed = self._known(message_id)
        stamp = now_iso()
        self.tree.remove(failed.id)
        events: list[dict[str, Any]] = [{"type": "deleted", "id": failed.id, "created": stamp}]
        if shown is not None and shown in self.tree:
            self._pointer = shown
            self.messages = self.tree.branch(self.tree.select(shown))
            events.append({"type": "shown", "id": shown, "created": stamp})
        else:
            self._pointer = failed.parent_id
            self.messages = self.tree.branch(self.tree.follow(self._pointer))
        self._write(*events)

    def continue_problem(self: Conversation, message_id: str) -> str:
        """Why this answer cannot be continued in place (one line), or ``""`` if it can:
        the last answer of the branch, stopped, interrupted or cut at the length limit."""
        message = self._known(message_id)
        if self.active_reply is not None:
            return "an answer is still streaming; wait or press Esc to stop it"
        if message.role != "assistant" or not self.messages or self.messages[-1] is not message:
            return "only the last answer of the conversation can be continued"
        if message.tool_calls:
            return "an answer that called tools cannot be continued; regenerate it instead"
        if message.status not in CONTINUABLE and not length_cut(message):
            return "only an answer that was stopped or cut at the length limit can be continued"
        if not message.content.strip():
            return "the answer has no text to continue; regenerate it instead"
        return ""

    async def start_continue(
        self: Conversation,
        message_id: str,
        counter: TokenCounter,
        *,
        model: str = "",
        settings: Any = None,
        model_window: int = 0,
        engine_window: int = 0,
    ) -> ReplyHandle:
        """Reopen an answer to grow it in place; the request ends with its text as the
        assistant's (engines that can continue a final assistant message do).

        The same message streams again (status ``streaming``); a ``continue`` event
        marks it, so a crash reloads it ``interrupted`` with what was added so far.

        Raises:
            CannotContinue: see :meth:`continue_problem`.
        """
        if problem := self.continue_problem(message_id):
            raise (ReplyInProgress if self.active_reply else CannotContinue)(problem)
        message = self._known(message_id)
        self.model = model or self.model
        message.request_id = new_request_id()
        handle = ReplyHandle(self, message, clock=self._clock, interval=self._interval,
                             resumed=True)
        self.active_reply = handle
        try:
            handle.plan = await self.plan_context(
                counter, settings=settings, model_window=model_window,
                engine_window=engine_window,
            )  # fmt: skip
        except BaseException:
            self.active_reply = None
            raise
        handle.messages = handle.plan.messages
        handle.options = apply_params(
            ChatOptions(model=self.model, num_ctx=handle.plan.window, think=self.think),
            self.effective_parameters(settings),
        )
        message.status = "streaming"
        message.model = self.model or message.model
        try:
            self._write({"type": "continue", "id": message.id, "created": now_iso()})
        except TranscriptError as exc:  # kept pending; the answer streams on and says so
            handle.checkpoint_error = exc
        return handle

    # ------------------------------------------------------------- internals

    def _known(self: Conversation, message_id: str) -> ChatMessage:
        message = self.tree.get(message_id)
        if message is None:
            raise MessageNotFound(f"no message {message_id!r} in this conversation")
        return message

    def _idle(self: Conversation) -> None:
        if self.active_reply is not None:
            raise ReplyInProgress("an answer is still streaming; wait or press Esc to stop it")
