"""Headless engines: one async interface over Ollama, llama.cpp and OpenAI-compatible servers.

Nothing in this package imports Textual; the CLI, the tests and the UI all drive
engines through :class:`offyai_tui.engines.base.Engine`.

This module is also the plugin API (see ``docs/plugins.md``): a third-party engine
imports what it needs from here, never from the submodules, whose layout may
change. Engines register in the ``offyai.engines`` entry-point group
(:mod:`offyai_tui.engines.plugins`); :mod:`offyai_tui.engines.contract` checks one.
"""

from __future__ import annotations

from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    ChatStats,
    Done,
    Engine,
    ErrorEvent,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    PullProgress,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
)
from offyai_tui.engines.errors import (
    AttachmentUnavailable,
    EngineError,
    EngineUnavailable,
    ModelNotFound,
    StreamInterrupted,
    Unsupported,
)
from offyai_tui.engines.parts import ImageRef, ToolCall, ToolSpec

__all__ = [
    "AttachmentUnavailable",
    "ChatEvent",
    "ChatOptions",
    "ChatStats",
    "Done",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "ErrorEvent",
    "Health",
    "ImageRef",
    "LoadedModel",
    "Message",
    "ModelInfo",
    "ModelNotFound",
    "PullProgress",
    "StreamInterrupted",
    "TextDelta",
    "ThinkingDelta",
    "ToolCall",
    "ToolCallEvent",
    "ToolSpec",
    "Unsupported",
]
