"""Markdown export of a conversation: readable anywhere, content kept verbatim."""

from __future__ import annotations

from collections.abc import Sequence

from offyai_tui.chat.records import ChatMessage

_ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}
_STATUS_NOTES = {
    "stopped": "stopped by the user",
    "interrupted": "interrupted (the app closed while answering)",
    "error": "failed",
    "streaming": "still being written",
}


def to_markdown(
    title: str,
    messages: Sequence[ChatMessage],
    *,
    model: str = "",
    mode: str = "",
    created: str = "",
) -> str:
    """Render a conversation as Markdown, one ``###`` section per message."""
    lines = [f"# {_one_line(title) or 'Untitled conversation'}", ""]
    meta = [f"{k}: {v}" for k, v in (("model", model), ("mode", mode), ("created", created)) if v]
    if meta:
        lines += ["*" + " · ".join(meta) + "*", ""]
    for message in messages:
        heading = [_ROLE_NAMES.get(message.role, message.role)]
        if message.role == "assistant" and message.model:
            heading.append(message.model)
        if message.created:
            heading.append(message.created[:16].replace("T", " "))
        lines += ["---", "", "### " + " · ".join(heading), "", message.content.rstrip("\n"), ""]
        note = _STATUS_NOTES.get(message.status)
        if note:
            detail = f": {_one_line(message.error)}" if message.error else ""
            lines += [f"> *{note}{detail}*", ""]
        stats = _stats_line(message)
        if stats:
            lines += [f"*{stats}*", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _stats_line(message: ChatMessage) -> str:
    def number(key: str) -> float:
        value = message.stats.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return 0.0
        return float(value)

    parts = []
    if number("completion_tokens"):
        parts.append(f"{int(number('completion_tokens'))} tokens")
    if number("tokens_per_s"):
        parts.append(f"{number('tokens_per_s'):.1f} tok/s")
    if number("ttft_s"):
        parts.append(f"first token {number('ttft_s'):.2f} s")
    return " · ".join(parts)


def _one_line(text: str) -> str:
    return " ".join(text.split())
