"""Which prompt format a GGUF model is driven with.

A model that carries ``tokenizer.chat_template`` is formatted by that template
(llama-cpp-python applies it when no format is forced). Base models such as
Gemma 3 270M ship without one; for them the format is chosen from the
architecture, because a wrong format makes a small model ramble.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.gguf_info import GGUFInfo

if TYPE_CHECKING:
    from offyai_tui.engines.base import ChatOptions, Message

FALLBACK = "chatml"
"""For architectures with no known format: the most widely trained one."""

_BY_ARCHITECTURE = {
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3": "gemma",
    "gemma3n": "gemma",
    "llama": "llama-2",
    "mistral": "mistral-instruct",
    "qwen": "qwen",
    "qwen2": "chatml",
    "qwen3": "chatml",
    "chatglm": "chatglm3",
}


def chat_format_for(info: GGUFInfo) -> str | None:
    """The llama-cpp-python ``chat_format`` to force, or ``None`` to use the GGUF's template."""
    if info.chat_template:
        return None
    return format_for_architecture(info.architecture)


def format_for_architecture(architecture: str) -> str:
    return _BY_ARCHITECTURE.get(architecture.lower(), FALLBACK)


_NO_SYSTEM_ROLE = frozenset({"gemma"})
"""Formats that drop system messages (Gemma has no system turn)."""


def fold_system_messages(
    messages: list[dict[str, str]], chat_format: str | None
) -> list[dict[str, str]]:
    """Move system text into the first user turn for formats without a system role.

    llama-cpp-python's ``gemma`` format silently drops system messages, which
    would lose a mode's instructions; Gemma's own template prepends them to
    the first user message instead, and so does this.
    """
    if chat_format not in _NO_SYSTEM_ROLE:
        return messages
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, list):  # content parts: the images, then the text
                texts = [part.get("text", "") for part in content if part.get("type") == "text"]
                images = [part for part in content if part.get("type") != "text"]
                text = "\n\n".join([system, *texts])
                message["content"] = [*images, {"type": "text", "text": text}]
            else:
                message["content"] = f"{system}\n\n{content}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def unsupported_parts(
    messages: Sequence[Message], options: ChatOptions, model: str, vision: bool = False
) -> Unsupported | None:
    """Why the embedded engine cannot send this request as asked, or ``None``.

    Images need a multimodal projector beside the model's GGUF (``vision``:
    one was found; :mod:`offyai_tui.engines.llamacpp_vision`), and the template
    handlers cannot return structured tool calls. Refusing before anything is
    generated beats an answer to a question the model never saw in full.
    Earlier reasoning (``thinking``) is simply not sent, as chat templates do.
    """
    if not vision and any(m.images for m in messages):
        return Unsupported(
            f"{model} has no vision in the embedded llama.cpp engine: no multimodal projector "
            "(mmproj*.gguf) beside its GGUF; nothing sent (use Ollama with a vision model)"
        )
    if options.tools:
        return Unsupported(
            f"{model} cannot call tools in the embedded llama.cpp engine "
            "(use Ollama or an OpenAI-compatible server)"
        )
    if any(m.tool_calls or m.role == "tool" for m in messages):
        return Unsupported(
            "this conversation holds tool calls and results, which the embedded llama.cpp "
            "engine cannot send (use Ollama or an OpenAI-compatible server)"
        )
    return None
