"""The one-line status bar: engine · model · mode · docs · think · context · speed · remote.

The screen sets attributes; the bar only renders them. Names that come from
outside (model names from a server) are shown as plain text, never markup.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from offyai_tui.util.textsafe import visible


class StatusBar(Static):
    """Shows what the next message will be sent to, and how full the context is."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    StatusBar.-remote { color: $text-warning; }
    StatusBar.-readonly { color: $text-error; }
    """

    engine: reactive[str] = reactive("detecting engine…")
    """Engine label, or what startup detection is doing."""
    model: reactive[str] = reactive("")
    mode: reactive[str] = reactive("Default")
    documents: reactive[bool] = reactive(False)
    """The open conversation answers from the workspace's documents (shown as ``docs on``)."""
    think: reactive[str] = reactive("default")
    """The open conversation's ``/set think`` word, shown as ``think high``; ``default``
    (the model decides) is not shown."""
    context_used: reactive[int] = reactive(0)
    context_window: reactive[int] = reactive(0)
    context_exact: reactive[bool] = reactive(True)
    """False when the count is a cl100k estimate (shown as ``~``)."""
    tokens_per_s: reactive[float] = reactive(0.0)
    """Decode speed of the last answer; 0 hides it."""
    remote: reactive[bool] = reactive(False)
    """True when the engine runs on another machine."""
    read_only: reactive[bool] = reactive(False)
    busy: reactive[str] = reactive("")
    """Short note such as ``answering`` or ``1 queued``."""

    def render(self) -> Content:
        parts = [self.engine]
        if self.model:
            parts.append(self.model)
        parts.append(self.mode)
        if self.documents:
            parts.append("docs on")
        if self.think and self.think != "default":
            parts.append(f"think {self.think}")
        if self.context_window:
            approx = "" if self.context_exact else "~"
            percent = 100 * self.context_used // max(self.context_window, 1)
            parts.append(
                f"ctx {approx}{self.context_used:,}/{self.context_window:,} ({percent}%)"
            )
        if self.tokens_per_s:
            parts.append(f"{self.tokens_per_s:.1f} tok/s")
        if self.busy:
            parts.append(self.busy)
        if self.remote:
            parts.append("⚠ REMOTE")
        if self.read_only:
            parts.append("READ-ONLY")
        return Content(visible(" · ".join(parts)))  # names from servers and files

    def watch_remote(self, remote: bool) -> None:
        self.set_class(remote, "-remote")

    def watch_read_only(self, read_only: bool) -> None:
        self.set_class(read_only, "-readonly")
