"""A reasoning model's thinking, above its answer: live while it thinks, then folded.

The model may think for minutes before a word of the answer. The block shows that
time as it passes ("Thinking… 12 s") and the reasoning as it streams, dimmed, so
the wait is never a bare "Thinking…". When the answer begins, the block folds to
one line ("Thought for 12 s") unless ``chat.show_thinking = "open"``; a key
(``messages.thinking`` on a selected message, ``chat.thinking`` from the prompt)
shows or hides it again.

The reasoning streams through an :class:`AnswerBody`, so a long think costs what
a long answer costs (batched appends, finished blocks frozen) and not a re-render
of everything thought so far on every token. A stored answer's block starts
folded and builds its body only when first opened: a conversation with many
reasoning answers opens as fast as one without.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget

from offyai_tui.ui.widgets.chat.message_fold import unfold

if TYPE_CHECKING:  # imported when the body is first built: it loads the Markdown parser
    from offyai_tui.ui.widgets.chat.answer_body import AnswerBody

FOLD = "fold"
OPEN = "open"
"""Values of ``chat.show_thinking``: what the block does once the answer begins."""


def span(seconds: float) -> str:
    """``12 s``, ``2 min 05 s``; a think under a second reads ``under a second``."""
    whole = int(seconds)
    if whole < 1:
        return "under a second"
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs:02d} s"


class _Header(Widget):
    """The block's one line; a new second repaints it without a layout pass."""

    DEFAULT_CSS = "_Header { height: 1; }"

    def __init__(self) -> None:
        super().__init__(classes="thinking-header")
        self.content = Content("")

    def render(self) -> Content:
        return self.content

    def show(self, content: Content) -> None:
        self.content = content
        self.refresh()


class ThinkingBlock(Vertical):
    """The reasoning of one answer, with how long it took."""

    DEFAULT_CSS = """
    ThinkingBlock { height: auto; padding: 0 0 0 1; border-left: outer $secondary 60%; }
    ThinkingBlock > .thinking-header { color: $text-muted; text-style: italic; }
    ThinkingBlock > AnswerBody { padding: 0 0 0 1; }
    ThinkingBlock > AnswerBody Markdown, ThinkingBlock > AnswerBody MarkdownBlock {
        color: $text-muted;
    }
    """

    def __init__(self, text: str = "", seconds: float = 0.0, *, live: bool = False,
                 opened: bool = False, hint: str = "") -> None:
        """``live``: the model is thinking now (text keeps coming); otherwise the
        block shows stored reasoning, folded unless ``opened``. ``hint`` names the
        key that shows and hides it (``alt+t``)."""
        super().__init__()
        self._text = text
        self._seconds = seconds
        self._live = live
        self._since = time.monotonic() - seconds if live else 0.0
        self._open = live or opened
        self._hint = hint
        self._header = _Header()
        self._body: AnswerBody | None = None
        self._timer: Timer | None = None

    @property
    def live(self) -> bool:
        """The model is still thinking."""
        return self._live

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def body(self) -> AnswerBody | None:
        """The reasoning's Markdown while it is shown (the message list folds its
        parts far from the viewport as it does an answer's)."""
        return self._body if self._open else None

    @property
    def text(self) -> str:
        return self._text

    @property
    def seconds(self) -> float:
        """Time spent thinking: growing while live, final after."""
        return time.monotonic() - self._since if self._live else self._seconds

    def compose(self):
        yield self._header
        if self._open:
            self._body = self._make_body()
            yield self._body

    def on_mount(self) -> None:
        self._show_header()
        if self._live:
            self._timer = self.set_interval(1.0, self._show_header)

    def _make_body(self) -> AnswerBody:
        from offyai_tui.ui.widgets.chat.answer_body import AnswerBody

        return AnswerBody(self._text, streaming=self._live)

    async def write(self, chunk: str) -> None:
        """More reasoning: into the open body (a folded one gets it when opened)."""
        if not self._live and self.is_attached:
            await self._resume()
        self._text += chunk
        if self._body is not None:
            await self._body.write(chunk)

    async def _resume(self) -> None:
        """Reasoning again after the block ended (a continued answer): live and open,
        its time going on from where it stopped."""
        self._live, self._open = True, True
        self._since = time.monotonic() - self._seconds
        old, self._body = self._body, self._make_body()
        await self.mount(self._body)
        if old is not None:
            await old.remove()
        self._timer = self.set_interval(1.0, self._show_header)
        self._show_header()

    async def end(self, seconds: float, *, fold: bool) -> None:
        """The model stopped thinking after ``seconds``; ``fold`` hides the reasoning."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        was_live, self._live, self._seconds = self._live, False, seconds
        if was_live and self._body is not None:
            await self._body.finish(self._text)
        await self.set_open(self._open and not (fold and was_live))

    def _unfold_chunks(self) -> None:
        """Show every part of the reasoning: while it streamed, parts far above were
        folded (see :class:`AnswerBody`), and the message list only unfolds answers."""
        if self._body is not None:
            for chunk in self._body.children:
                unfold(chunk)

    async def set_open(self, opened: bool) -> None:
        """Show or hide the reasoning (built on first opening)."""
        self._open = opened
        if opened and self._body is None and self.is_attached:
            self._body = self._make_body()
            await self.mount(self._body)
        elif self._body is not None:
            self._body.display = opened
        if opened and not self._live:
            self._unfold_chunks()
        self._show_header()

    async def toggle(self) -> bool:
        """Show hidden reasoning, hide shown reasoning; returns whether it is shown now."""
        await self.set_open(not self._open)
        return self._open

    def _show_header(self) -> None:
        if self._live:
            line = f"▾ Thinking… {span(self.seconds)}" if self.seconds >= 1 else "▾ Thinking…"
        else:
            arrow = "▾" if self._open else "▸"
            line = f"{arrow} Thought for {span(self._seconds)}"
            if self._hint:
                line += f"  ({self._hint} {'hides' if self._open else 'shows'})"
        self._header.show(Content(line))
