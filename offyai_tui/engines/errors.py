"""Typed engine errors, each with a short title and a one-line message for users."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: ``str(err)`` is one readable line, ``title`` a short heading."""

    title = "Engine error"

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.partial_text = partial_text


class EngineUnavailable(EngineError):
    """The engine cannot be reached (not running, wrong host, refused)."""

    title = "Engine not running"


class ModelNotFound(EngineError):
    """The requested model is not installed; the message lists what is."""

    title = "Model not found"

    def __init__(self, name: str, installed: list[str], engine: str = "") -> None:
        listing = ", ".join(installed[:12]) if installed else "none"
        if len(installed) > 12:
            listing += f" (+{len(installed) - 12} more)"
        where = f" in {engine}" if engine else ""
        super().__init__(f"model {name!r} is not installed{where}; installed: {listing}")
        self.name = name
        self.installed = installed


class StreamInterrupted(EngineError):
    """A stream ended before its final event (connection cut, stall, bad data)."""

    title = "Answer interrupted"


class WorkerCrashed(EngineError):
    """The llama.cpp worker process died (segfault, abort, kill)."""

    title = "Model process crashed"


class Unsupported(EngineError):
    """The engine cannot do this (e.g. pull on llama.cpp)."""

    title = "Not supported"


class AttachmentUnavailable(EngineError):
    """An attached file cannot be sent: gone from the workspace, unreadable or changed."""

    title = "Attachment unavailable"


class BadModelFile(EngineError):
    """A model file that is not a usable GGUF (wrong magic, truncated, corrupt)."""

    title = "Bad model file"
