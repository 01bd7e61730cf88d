"""Typed errors of the chat core, each with a short title and a one-line message.

The UI shows ``err.title`` as a heading and ``str(err)`` as the line under it,
the same convention as :mod:`offyai_tui.engines.errors`.
"""

from __future__ import annotations


class ChatError(Exception):
    """Base class: ``str(err)`` is one readable line."""

    title = "Chat error"


class TranscriptError(ChatError):
    """A transcript could not be written (disk full, permissions, deleted file).

    Raised only after the in-memory state is updated, so the UI can keep
    showing the message and tell the user it was not saved.
    """

    title = "Could not save"


class ReadOnlyWorkspace(TranscriptError):
    """A write was attempted on a store opened read-only."""

    title = "Read-only"


class WorkspaceLocked(ChatError):
    """Another OffyAI instance holds the workspace lock."""

    title = "Workspace in use"

    def __init__(self, workspace: str, pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"workspace {workspace!r} is open in another OffyAI instance ({holder})")
        self.workspace = workspace
        self.pid = pid


class ConversationNotFound(ChatError):
    """No transcript exists for the conversation id."""

    title = "Conversation not found"


class MessageNotFound(ChatError, LookupError):
    """No message with that id in the conversation."""

    title = "Message not found"


class ReplyInProgress(ChatError):
    """A reply is already streaming in this conversation.

    The core refuses a second concurrent reply per conversation; the UI may
    queue the prompt instead and send it when the current reply ends.
    """

    title = "Answer in progress"


class CannotContinue(ChatError):
    """The answer cannot be continued in place (not cut short, not the last, no text)."""

    title = "Cannot continue"


class ParameterError(ChatError, ValueError):
    """A generation parameter with an unknown name or a bad value."""

    title = "Bad parameter"
