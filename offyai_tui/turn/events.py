"""What a turn tells the surface that shows it: plain values, no Textual, no terminal.

The chat screen draws them, ``offyai ask`` prints them, tests compare them.
Each event says what happened, never how to show it, so a new surface (a
web view, a voice mode) needs no change in the runner.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from offyai_tui.engines.base import ChatStats
from offyai_tui.engines.parts import ToolCall

if TYPE_CHECKING:
    from offyai_tui.chat import ChatMessage, ContextPlan, ReplyHandle
    from offyai_tui.turn.grounding import Grounding

Decision = Literal["once", "conversation", "deny"]
"""An answer to an approval request: allow this call, allow the tool for the rest
of the conversation, or deny (the model is told it was denied)."""


@dataclass
class Searching:
    """The workspace's documents are being searched for the question."""


@dataclass
class SourcesFound:
    """The search ended: numbered sources, or one line why there are none."""

    grounding: Grounding


@dataclass
class AnswerStarted:
    """An assistant message now exists (and is being written to the transcript).

    A turn with tool calls starts several answers: one per round.
    """

    handle: ReplyHandle
    round: int = 0


@dataclass
class ContextPlanned:
    """What the request carries; ``note`` says what had to be left out, if anything."""

    plan: ContextPlan
    note: str = ""


@dataclass
class ThinkingText:
    """Reasoning streamed apart from the answer."""

    text: str


@dataclass
class AnswerText:
    """Answer text, in order."""

    text: str


@dataclass
class ToolRequested:
    """A tool call waits for the user's decision; answer with :meth:`respond`.

    Nothing runs until the surface answers. The runner waits as long as it
    takes (a person is reading the arguments); Esc on the turn cancels it.
    """

    call: ToolCall
    server: str
    description: str
    _answer: asyncio.Future[Decision] = field(repr=False, compare=False,
                                              default_factory=lambda: _future())

    def respond(self, decision: Decision) -> None:
        """Allow once, allow for this conversation, or deny (the first answer counts)."""
        if not self._answer.done():
            self._answer.set_result(decision)

    async def decision(self) -> Decision:
        return await self._answer


@dataclass
class ToolDecided:
    """The call was allowed or denied, by the user or by a policy they set."""

    call: ToolCall
    allowed: bool
    by: Literal["user", "policy", "conversation"]


@dataclass
class ToolFinished:
    """A tool's result (or the denial, or the failure) as the model will read it."""

    call: ToolCall
    message: ChatMessage
    is_error: bool


@dataclass
class AnswerEnded:
    """One answer ended (complete, stopped, cut or failed); the transcript has it."""

    message: ChatMessage
    stats: ChatStats | None = None
    error: str = ""
    """The engine's or the stream's one-line error, empty when the answer completed."""
    more: bool = False
    """True when tool results follow and the model answers again in this turn."""
    withdrawn: bool = False
    """A regenerate failed before its first word: the failed answer was taken back and
    the answer shown before it is shown again (``error`` says why, in one line)."""


@dataclass
class Notice:
    """One line the user should see once (an MCP server that would not start)."""

    text: str


@dataclass
class NotSaved:
    """A transcript write failed (disk full, read-only workspace): shown, kept pending."""

    error: BaseException


@dataclass
class TurnFailed:
    """No answer could start (no engine, no model, context impossible): one line why."""

    error: BaseException
    title: str = "Error"


TurnEvent = (Searching | SourcesFound | AnswerStarted | ContextPlanned | ThinkingText
             | AnswerText | ToolRequested | ToolDecided | ToolFinished | AnswerEnded
             | Notice | NotSaved | TurnFailed)


def _future() -> asyncio.Future[Decision]:
    return asyncio.get_running_loop().create_future()
