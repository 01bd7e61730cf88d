"""One turn of a conversation, headless: what the chat screen and ``offyai ask`` share.

:class:`TurnRunner` takes a conversation whose last message is the user's and
yields :mod:`~offyai_tui.turn.events`; the surfaces render them. Documents reach
a turn through :class:`~offyai_tui.turn.grounding.DocumentsAccess`, tools through
:class:`~offyai_tui.turn.runner.ToolAccess`; the engine is any
:class:`~offyai_tui.engines.Engine`.
"""

from __future__ import annotations

from offyai_tui.turn.engine_info import EngineInfo
from offyai_tui.turn.events import (
    AnswerEnded,
    AnswerStarted,
    AnswerText,
    ContextPlanned,
    Decision,
    Notice,
    NotSaved,
    Searching,
    SourcesFound,
    ThinkingText,
    ToolDecided,
    ToolFinished,
    ToolRequested,
    TurnEvent,
    TurnFailed,
)
from offyai_tui.turn.grounding import DocumentsAccess, Grounding
from offyai_tui.turn.runner import MAX_TOOL_ROUNDS, ToolAccess, TurnRunner

__all__ = [
    "MAX_TOOL_ROUNDS",
    "AnswerEnded",
    "AnswerStarted",
    "AnswerText",
    "ContextPlanned",
    "Decision",
    "DocumentsAccess",
    "EngineInfo",
    "Grounding",
    "NotSaved",
    "Notice",
    "Searching",
    "SourcesFound",
    "ThinkingText",
    "ToolAccess",
    "ToolDecided",
    "ToolFinished",
    "ToolRequested",
    "TurnEvent",
    "TurnFailed",
    "TurnRunner",
]
