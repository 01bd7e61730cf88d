"""The parts a message can carry besides its text: images, tool calls, tool definitions.

They are plain values so that every layer (transcripts, the turn runner, the
engines and third-party engine plugins) can pass them around without knowing
each other. An image is a *reference* to a file stored once in the workspace
(``attachments/<sha256>.<ext>``), never its bytes: a long conversation with
photos would otherwise hold every photo in memory and in every request object.
The bytes are read, and checked against the hash, only when an engine puts
them on the wire.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offyai_tui.engines.errors import AttachmentUnavailable


@dataclass(frozen=True)
class ImageRef:
    """An image attached to a message: where it is stored, its SHA-256 and MIME type."""

    path: str
    """Absolute path of the stored file."""
    sha256: str
    mime: str
    name: str = field(default="", compare=False)
    """The name the user attached it under, for messages (never used as a path)."""

    def read(self) -> bytes:
        """The image's bytes, verified against ``sha256``.

        Raises:
            AttachmentUnavailable: the file is gone, unreadable, or no longer the
                image that was attached (one line naming it).
        """
        name = self.name or Path(self.path).name
        try:
            data = Path(self.path).read_bytes()
        except FileNotFoundError:
            raise AttachmentUnavailable(
                f"the attached image {name} is no longer in the workspace's attachments"
            ) from None
        except OSError as exc:
            raise AttachmentUnavailable(
                f"the attached image {name} cannot be read: {exc.strerror or exc}"
            ) from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise AttachmentUnavailable(
                f"the attached image {name} was changed on disk; attach it again"
            )
        return data

    def base64(self) -> str:
        """The bytes as base64 text (Ollama's ``images`` entries)."""
        return base64.b64encode(self.read()).decode("ascii")

    def data_url(self) -> str:
        """A ``data:`` URL (OpenAI's ``image_url`` content parts)."""
        return f"data:{self.mime};base64,{self.base64()}"


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run one tool.

    ``id`` links the call to its result (``Message(role="tool", tool_call_id=...)``);
    engines whose servers send no id get one made up per answer (``call_0``, ...).
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False)
    raw_arguments: str = field(default="", compare=False)
    """The arguments as the model wrote them when they were not a JSON object
    (``arguments`` is then empty), so the caller can tell the model what was wrong."""


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}, hash=False
    )

    def as_function(self) -> dict[str, Any]:
        """The ``{"type": "function", ...}`` form both Ollama and OpenAI servers take."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }
