"""What every tool gives back, and what the approval step is told about a tool.

A tool's failure is an answer, not an exception: the model reads "the
timezone 'Nope/X' does not exist" and can try again or say so, while an
exception would end the user's turn. So everything a tool hands back is a
:class:`ToolResult`, and its ``is_error`` says whether the text reports a
failure. Texts are cut to a size the model's context can hold, with a note
the model and the user can both read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from offyai_tui.engines.parts import ToolCall, ToolSpec

Policy = Literal["ask", "allow", "deny"]
Decision = Literal["run", "ask", "deny"]


@dataclass(frozen=True)
class ToolResult:
    """A tool's output as the model will read it (``Message.tool_result(call, text)``)."""

    text: str
    is_error: bool = False
    sources: tuple[Any, ...] = field(default=(), compare=False)
    """Document passages behind the text (``rag.Source``), for a sources panel."""

    def for_model(self) -> str:
        """The text the model gets: an error says it is one, so small models notice."""
        return f"Error: {self.text}" if self.is_error else self.text


@dataclass(frozen=True)
class ToolInfo:
    """A tool as the approval dialog and ``offyai tools`` show it."""

    name: str
    """The name the model calls it by (MCP tools: ``server__tool``)."""
    server: str
    """``built-in``, or the MCP server's name."""
    description: str
    policy: Policy
    tool: str = ""
    """The server's own name of the tool (MCP), or the built-in's name."""


@dataclass(frozen=True)
class BuiltinTool:
    """A tool that runs inside OffyAI: its spec, its default policy and what runs it."""

    spec: ToolSpec
    run: Callable[[dict[str, Any]], Awaitable[ToolResult]]
    reads_workspace: bool = False
    """Its output holds the user's files: sent to a remote model only with the
    workspace's consent (:mod:`offyai_tui.settings.privacy`)."""


def error(text: str) -> ToolResult:
    """A failure as one line (newlines in outside text would break the line)."""
    return ToolResult(" ".join(text.split()), is_error=True)


def denial(call: ToolCall, reason: str = "") -> ToolResult:
    """The result that tells the model the user did not let ``call`` run.

    Worded so the model neither retries the same call nor pretends it ran.
    """
    why = f" ({' '.join(reason.split())})" if reason else ""
    return ToolResult(
        f"The user denied running the tool {call.name}{why}. It did not run. Do not call it "
        "again for this request; answer without it, or ask the user how to proceed.",
        is_error=True,
    )


def cut(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters, with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    kept = text[:limit]
    newline = kept.rfind("\n")
    if newline > limit * 0.8:  # end on a whole line when one is near
        kept = kept[:newline]
    return (f"{kept}\n[output cut: {len(text) - len(kept):,} of {len(text):,} characters "
            "left out]")
