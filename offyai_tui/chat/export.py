"""Markdown export of a conversation: readable anywhere, content kept verbatim."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from offyai_tui.chat.attachments import Attachment
from offyai_tui.chat.records import ChatMessage

_ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System", "tool": "Tool"}
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
    attachments_root: Path | None = None,
    link_from: Path | None = None,
    thinking: bool = True,
) -> str:
    """Render a conversation as Markdown, one ``###`` section per message.

    An answer's reasoning comes first as a collapsed ``<details>`` block (a
    Markdown viewer shows one line until it is opened), or not at all when
    ``thinking`` is false.

    Attachments are linked to the workspace files that hold them (images as
    Markdown images, files as links), never inlined: ``attachments_root`` is
    the workspace, ``link_from`` the folder the export is written to (links
    are then relative, so the export and the workspace can move together).
    Without a root the workspace-relative path is shown as text.
    """
    lines = [f"# {_one_line(title) or 'Untitled conversation'}", ""]
    meta = [f"{k}: {v}" for k, v in (("model", model), ("mode", mode), ("created", created)) if v]
    if meta:
        lines += ["*" + " · ".join(meta) + "*", ""]
    for message in messages:
        heading = [_ROLE_NAMES.get(message.role, message.role)]
        if message.role == "assistant" and message.model:
            heading.append(message.model)
        if message.role == "tool" and message.name:
            heading.append(message.name)
        if message.created:
            heading.append(message.created[:16].replace("T", " "))
        lines += ["---", "", "### " + " · ".join(heading), ""]
        if thinking and message.thinking.strip():
            lines += _thinking_block(message)
        lines += [message.content.rstrip("\n"), ""]
        lines += [_attachment_line(a, attachments_root, link_from) for a in message.images]
        lines += [_attachment_line(a, attachments_root, link_from) for a in message.files]
        lines += [
            f"*Tool call: {c.name}({json.dumps(c.arguments, ensure_ascii=False)})*"
            for c in message.tool_calls
        ]
        if message.images or message.files or message.tool_calls:
            lines.append("")
        note = _STATUS_NOTES.get(message.status)
        if note:
            detail = f": {_one_line(message.error)}" if message.error else ""
            lines += [f"> *{note}{detail}*", ""]
        stats = _stats_line(message)
        if stats:
            lines += [f"*{stats}*", ""]
        sources = [_source_line(s) for s in message.sources if isinstance(s, dict)]
        if sources:
            lines += ["Sources:", "", *(f"- {line}" for line in sources), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _attachment_line(item: Attachment, root: Path | None, link_from: Path | None) -> str:
    """``![photo.png](../attachments/<sha>.png)`` or ``[notes.txt](...)``, with its facts."""
    name = _one_line(item.name) or "unnamed"
    label = name.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    facts = f"{item.width}×{item.height}" if item.is_image and item.width else ""
    if not item.is_image and item.tokens:
        facts = f"{item.tokens:,} tokens"
    suffix = f" *({facts})*" if facts else ""
    if root is None:
        return f"*{'Image' if item.is_image else 'File'}: {name} ({item.file})*"
    target = root / item.file
    link = os.path.relpath(target, link_from) if link_from is not None else str(target)
    link = Path(link).as_posix()
    return f"{'!' if item.is_image else ''}[{label}](<{link}>){suffix}"


def _source_line(source: dict[str, Any]) -> str:
    """``[2] notes.md > Setup, lines 4-9`` from a source stored with an answer."""
    place = " > ".join(
        [PurePath(str(source.get("path", ""))).name, *map(str, source.get("heading_path", ()))]
    )
    page, line = source.get("page_start"), source.get("line_start")
    if page:
        end = source.get("page_end") or page
        where = f"p. {page}" if end == page else f"pp. {page}-{end}"
    elif line:
        end = source.get("line_end") or line
        where = f"line {line}" if end == line else f"lines {line}-{end}"
    else:
        where = ""
    label = f"[{source.get('number', '?')}] {_one_line(place)}"
    return f"{label}, {where}" if where else label


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


def _thinking_block(message: ChatMessage) -> list[str]:
    """``<details>`` with the reasoning; blank lines around it keep Markdown inside
    rendered, and a ``</details>`` in the text cannot close the block early."""
    seconds = message.thinking_s
    summary = f"Thinking ({seconds:.0f} s)" if seconds >= 1 else "Thinking"
    body = message.thinking.strip("\n").replace("</details>", "&lt;/details>")
    return ["<details><summary>" + summary + "</summary>", "", body, "", "</details>", ""]


def _one_line(text: str) -> str:
    return " ".join(text.split())
