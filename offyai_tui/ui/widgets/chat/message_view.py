"""One message in the chat: who, what, and how the answer ended.

A user message is plain text. An assistant message is an :class:`AnswerBody`
plus a footer that is never left saying "Thinking…": it shows the spinner while
streaming, then exactly one final state (stats, stopped, interrupted or an
error with the retry key). An answer given with documents on has a
:class:`SourcesPanel` between the text and the footer; a reasoning model's
thinking is a :class:`ThinkingBlock` above the text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from offyai_tui.chat.records import ChatMessage
from offyai_tui.ui.widgets.chat.sources_panel import SourcesPanel, stored_sources
from offyai_tui.ui.widgets.chat.thinking_block import FOLD, OPEN, ThinkingBlock
from offyai_tui.util.textsafe import strip_controls, visible

if TYPE_CHECKING:  # imported when first composed: it loads the Markdown parser
    from offyai_tui.ui.widgets.chat.answer_body import AnswerBody

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def stats_text(stats: dict[str, Any], model: str = "") -> str:
    """``42 tokens · 12.3 tok/s · first token 0.25 s · model`` (known parts only)."""

    def number(key: str) -> float:
        value = stats.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else 0.0

    parts = []
    if number("completion_tokens"):
        parts.append(f"{int(number('completion_tokens'))} tokens")
    if number("tokens_per_s"):
        parts.append(f"{number('tokens_per_s'):.1f} tok/s")
    if number("ttft_s"):
        parts.append(f"first token {number('ttft_s'):.2f} s")
    name = stats.get("model") or model
    if isinstance(name, str) and name:
        parts.append(visible(name))
    return " · ".join(parts)


class _Footer(Widget):
    """The answer's status line; a spinner frame repaints it without a layout pass."""

    DEFAULT_CSS = "_Footer { height: auto; }"

    def __init__(self, content: Content) -> None:
        super().__init__(classes="footer")
        self._content = content

    def render(self) -> Content:
        return self._content

    def show(self, content: Content) -> None:
        resized = len(content.plain) != len(self._content.plain)
        self._content = content
        self.refresh(layout=resized)


class MessageView(Vertical):
    """A user or assistant message; assistant ones can stream."""

    DEFAULT_CSS = """
    MessageView {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
    }
    MessageView > .header { color: $text-muted; text-style: bold; }
    MessageView.-user > .header { color: $text-primary; }
    MessageView.-user > .text { padding: 0 0 0 2; }
    MessageView.-tool > .text { padding: 0 0 0 2; color: $text-muted; }
    MessageView > .calls { color: $text-muted; padding: 0 0 0 2; }
    MessageView > .chips { color: $text-accent; padding: 0 0 0 2; }
    MessageView > .note { color: $text-warning; }
    MessageView > .footer { color: $text-muted; padding: 0 0 0 2; }
    MessageView > .footer.-error { color: $text-error; }
    MessageView > .footer.-stopped, MessageView > .footer.-interrupted {
        color: $text-warning;
    }
    MessageView.-hit { background: $accent 20%; }
    MessageView.-out-of-context > .header { text-style: bold strike; }
    """

    status: reactive[str] = reactive("complete")
    """The message's status: ``streaming`` or one of the final statuses."""

    def __init__(self, message: ChatMessage, *, note: str = "") -> None:
        classes = f"-{message.role}"
        if not message.in_context:
            classes += " -out-of-context"
        super().__init__(classes=classes)
        self.message = message
        self._note = note
        self._frame = 0
        self._ticks = 0
        self._timer: Timer | None = None
        self._has_text = bool(message.content)
        self._body: AnswerBody | None = None
        self._thinking: ThinkingBlock | None = None
        self._since = time.monotonic()
        self.variant = ""
        """Where it stands among its versions (``‹ 2/3 ›``), empty when it has none."""
        self.tool_result_open = False
        """A tool result shown whole rather than cut to :data:`TOOL_LINES` lines."""
        self.set_reactive(MessageView.status, message.status)

    @property
    def body(self) -> AnswerBody | None:
        """The answer's body, once composed (assistant messages only)."""
        return self._body

    def compose(self):
        yield Static(self._header(), classes="header")
        if self.message.role == "tool":
            yield Static(Content(tool_result_text(self.message.content)), classes="text")
            return
        if self.message.role != "assistant":
            yield Static(Content(strip_controls(self.message.content)), classes="text")
            if self.message.images or self.message.files:
                from offyai_tui.attach.chips import message_chips

                chips = message_chips(self.message.images, self.message.files)
                yield Static(Content("  ".join(chips)), classes="chips")
            return
        if self._note:
            yield Static(Content(self._note), classes="note")
        if self.message.thinking:
            live = self.status == "streaming" and not self.message.content
            self._thinking = self._thinking_block(self.message.thinking, live=live)
            yield self._thinking
        from offyai_tui.ui.widgets.chat.answer_body import AnswerBody

        self._body = AnswerBody(self.message.content, streaming=self.status == "streaming")
        yield self._body
        if self.message.sources or self.message.retrieval:
            yield self._sources_panel()
        if self.message.tool_calls:
            yield Static(Content(calls_text(self.message)), classes="calls")
        yield _Footer(self._footer())

    def on_mount(self) -> None:
        if self.message.role == "assistant":
            self._apply_status()

    def _header(self) -> Content:
        header = self._who()
        return Content(f"{header}  {self.variant}") if self.variant else Content(header)

    def _who(self) -> str:
        if self.message.role == "user":
            return "You"
        if self.message.role == "system":
            return "System"
        if self.message.role == "tool":
            return f"Tool result · {visible(self.message.name)}"
        model = visible(self.message.model)
        return f"Assistant · {model}" if model else "Assistant"

    def toggle_tool_result(self) -> bool:
        """Show a tool's whole result, or its first lines again; False when nothing is cut."""
        text = self._child(".text")
        if self.message.role != "tool" or text is None or not tool_result_cut(self.message.content):
            return False
        self.tool_result_open = not self.tool_result_open
        whole = visible(self.message.content, multiline=True)
        text.update(Content(whole if self.tool_result_open else
                            tool_result_text(self.message.content)))
        return True

    def set_variant(self, variant: str) -> None:
        """Show where the message stands among its versions (``‹ 2/3 ›``, or nothing)."""
        if variant != self.variant:
            self.variant = variant
            header = self._child(".header")
            if header is not None:
                header.update(self._header())

    async def reopen(self) -> None:
        """Stream into this answer again (a continue): its text stays and grows."""
        from offyai_tui.ui.widgets.chat.answer_body import AnswerBody

        old, self._body = self._body, AnswerBody(self.message.content, streaming=True)
        self._has_text = bool(self.message.content)
        self._since = time.monotonic()
        self.status = "streaming"
        if old is not None and old.is_attached:
            await self.mount(self._body, after=old)
            await old.remove()

    def set_note(self, note: str) -> None:
        """Say what was left out of the request (context window)."""
        self._note = note
        widget = self._child(".note")
        if widget is not None:
            widget.update(Content(note))
            widget.display = bool(note)
        elif note and self._child(".header") is not None:
            self.mount(Static(Content(note), classes="note"), after=".header")

    def rebind(self, message: ChatMessage) -> None:
        """Show ``message`` (the real answer replacing a placeholder)."""
        self.message = message
        header = self._child(".header")
        if header is not None:
            header.update(self._header())

    async def show_sources(self) -> None:
        """Show the sources recorded on the message (after a search, before streaming)."""
        for old in self.query_children(SourcesPanel):
            await old.remove()
        if not (self.message.sources or self.message.retrieval):
            return
        footer = next(iter(self.query_children(_Footer)), None)
        await self.mount(self._sources_panel(), before=footer)

    def _sources_panel(self) -> SourcesPanel:
        note = self.message.retrieval.get("note", "")
        hint = f"{self._key('chat.sources', 'alt+s')} then Enter shows a passage"
        return SourcesPanel(stored_sources(self.message),
                            note if isinstance(note, str) else "", hint=hint)

    @property
    def thinking(self) -> ThinkingBlock | None:
        """The answer's reasoning block, if the model thought."""
        return self._thinking

    async def think(self, chunk: str) -> None:
        """Append streamed reasoning, in a block made live above the text on the first."""
        if self._thinking is None:
            if self.body is None:
                return
            self._thinking = self._thinking_block("", live=True)
            await self.mount(self._thinking, before=self.body)
        await self._thinking.write(chunk)

    async def toggle_thinking(self) -> bool | None:
        """Show or hide the reasoning; ``None`` when the answer has none."""
        return await self._thinking.toggle() if self._thinking is not None else None

    def _thinking_block(self, text: str, *, live: bool) -> ThinkingBlock:
        return ThinkingBlock(text, self.message.thinking_s, live=live,
                             opened=self._show_thinking() == OPEN,
                             hint=self._key("chat.thinking", "alt+t"))

    def _show_thinking(self) -> str:
        """``chat.show_thinking``: whether reasoning folds once the answer begins."""
        chat = getattr(getattr(self.app, "settings", None), "chat", None)
        return getattr(chat, "show_thinking", FOLD)

    async def _end_thinking(self, *, answered: bool) -> None:
        """The model stopped thinking; its reasoning folds if the answer began."""
        if self._thinking is not None and self._thinking.live:
            fold = answered and self._show_thinking() == FOLD
            await self._thinking.end(self.message.thinking_s, fold=fold)

    async def write(self, chunk: str) -> None:
        if not self._has_text and chunk:
            self._has_text = True
            self._refresh_footer()
        if chunk and self._thinking is not None and self._thinking.live:
            await self._end_thinking(answered=True)
        body = self.body
        if body is not None:
            await body.write(chunk)

    async def finish(self, message: ChatMessage) -> None:
        """Reconcile with the final message (complete, stopped or error)."""
        self.message = message
        self.status = message.status
        await self._end_thinking(answered=bool(message.content))
        body = self.body
        if body is not None:
            await body.finish(message.content)
        header = self._child(".header")
        if header is not None:
            header.update(self._header())
        if message.tool_calls and self._child(".calls") is None and self.body is not None:
            footer = next(iter(self.query_children(_Footer)), None)
            await self.mount(Static(Content(calls_text(message)), classes="calls"), before=footer)

    def watch_status(self) -> None:
        if self.query_children(_Footer):
            self._apply_status()

    def _apply_status(self) -> None:
        # Classes go on the footer, not on this view: restyling a view that
        # holds a long answer would restyle every block in it.
        footer = next(iter(self.query_children(_Footer)), None)
        if footer is not None:
            for status in ("streaming", "stopped", "interrupted", "error"):
                footer.set_class(self.status == status, f"-{status}")
        # Without animation the footer still counts the seconds of a wait.
        streaming = self.status == "streaming"
        if streaming and self._timer is None:
            still = self.app.animation_level == "none"
            self._timer = self.set_interval(1.0 if still else 0.1, self._spin)
        elif not streaming and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._refresh_footer()

    def _spin(self) -> None:
        """Turn the spinner: 10 frames a second while thinking, 3 once text streams.

        Streaming text already shows progress; each spinner frame costs a
        screen update, which a model on the same cores would rather have.
        """
        self._ticks += 1
        if self._has_text and self._ticks % 3:
            return
        if self.app.animation_level != "none":
            self._frame = (self._frame + 1) % len(SPINNER)
        self._refresh_footer()

    def _refresh_footer(self) -> None:
        footer = next(iter(self.query_children(_Footer)), None)
        if footer is not None:
            footer.show(self._footer())

    def _key(self, binding_id: str, default: str) -> str:
        key_for = getattr(self.app, "key_for", None)
        return key_for(binding_id, default) if key_for is not None else default

    def _child(self, selector: str) -> Static | None:
        """A composed part of this view, or ``None`` before compose ran."""
        return next(iter(self.query_children(selector).results(Static)), None)

    def _footer(self) -> Content:
        message = self.message
        stats = stats_text(message.stats, message.model)
        if self.status == "streaming":
            spin = SPINNER[self._frame]
            waited = int(time.monotonic() - self._since)
            action = ("Writing…" if self._has_text
                      else f"Thinking… {waited} s" if waited else "Thinking…")
            return Content(f"{spin} {action}  ({self._key('chat.stop', 'escape')} stops)")
        note = message.stats.get("note")
        note = visible(note) if isinstance(note, str) else ""
        if self.status == "stopped":
            return Content(" · ".join(p for p in (f"■ {note or 'Stopped'}", stats) if p))
        if self.status == "interrupted":
            return Content("⚠ Interrupted: the app closed while this answer was written")
        if self.status == "error":
            error = visible(message.error) or "the engine failed"
            return Content(f"✗ Error: {error}  ·  {self._key('chat.retry', 'ctrl+r')} retries")
        return Content(" · ".join(p for p in (note and f"⚠ {note}", stats) if p))


TOOL_LINES = 8
"""Lines of a tool's result shown in the chat; the model gets it whole."""


def tool_result_cut(text: str) -> bool:
    """Whether the chat shows only the first lines of this result."""
    return len(visible(text, multiline=True).splitlines()) > TOOL_LINES


def tool_result_text(text: str) -> str:
    """A tool's result as inert text, cut to its first lines (outside data: never markup).

    A long result (a file read, a search) would push the answer off the screen; Enter
    on the selected result shows it whole.
    """
    lines = visible(text, multiline=True).splitlines() or [""]
    if len(lines) > TOOL_LINES:
        more = len(lines) - TOOL_LINES
        lines = [*lines[:TOOL_LINES], f"… {more} more lines (Enter on it shows all)"]
    return "\n".join(lines)


def calls_text(message: ChatMessage) -> str:
    """The tools an answer asked to run, one per line with its arguments (inert)."""
    out = []
    for call in message.tool_calls:
        args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
        out.append(visible(f"⚙ {call.name}({args or call.raw_arguments})"))
    return "\n".join(out)
