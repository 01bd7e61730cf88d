"""The Markdown body of one answer, streamed at a cost that does not grow.

A single ``Markdown`` widget fed through ``get_stream()`` re-reads its whole
source on every append and, like any screen, lays out every widget it holds
on every frame; both grow with the answer. This body keeps three parts:

- the live tail: one ``Markdown`` that batched text is appended to (awaited
  ``Markdown.append()``, so nothing is pending when it is frozen); when it
  holds more than :attr:`AnswerBody.freeze_chars` of finished blocks, it gets
  the rest of them, becomes a frozen chunk as it is (no second render), and a
  new tail starts with the unfinished block;
- frozen chunks: ``Markdown`` widgets holding finished blocks (see
  :mod:`offyai_tui.ui.widgets.chat.blocks`), never touched again. Once a layout
  has measured a chunk, its height is pinned (while the width stays the
  same; after a width change, once two flushes agree), so a frame does not
  measure its blocks again: with ``height: auto`` every layout pass
  re-measured every block of the answer;
- a spacer: frozen chunks wholly more than a screen above the bottom are
  hidden while the view follows the stream, and the spacer keeps their
  height, so a frame lays out only what is near the screen. When the user
  scrolls up or the answer ends, they come back folded (their height, none of
  their blocks: :mod:`offyai_tui.ui.widgets.chat.message_fold`), and the message list
  unfolds those that come near the viewport; a width change shows them whole.

Streamed text reaches the live tail in batches, :data:`FLUSH_INTERVAL` apart
or more when the screen is slow: a token-by-token append costs a parse and a
layout each, which at thousands of tokens per second would take all the time
the event loop has (and keys would wait). Nothing is lost by batching: the end
of the stream always renders the full text.

Model output is shown as Markdown source only: control characters are removed
first, so escape sequences cannot reach the terminal, and Markdown has no
markup syntax that could restyle the app.
"""

from __future__ import annotations

import asyncio
import time

from markdown_it import MarkdownIt
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownBlock

from offyai_tui.ui.widgets.chat.blocks import BlockSplitter
from offyai_tui.ui.widgets.chat.message_fold import fold, unfold
from offyai_tui.util.textsafe import strip_controls

FLUSH_INTERVAL = 1 / 20
"""Seconds between appends to the live tail when text comes fast (20 fps)."""
SLOW_FLUSH_INTERVAL = 1 / 12
"""Seconds between appends when the last one carried little text (12 fps).

An append costs a parse and a repaint however little it adds (and a layout
whenever a block grows or starts): at a model's pace (tens of tokens a second)
20 fps took a fifth more CPU, which the model generating next to the app
wants. Fast streams keep the shorter interval: smaller batches make shorter
steps, so keys typed meanwhile wait less.
"""
SLOW_FLUSH_CHARS = 120
"""An append of fewer characters than this means the text comes slowly."""
MAX_FLUSH_INTERVAL = 0.1
"""Upper bound when the screen is slow (also bounds the work of one append)."""
KEEP_SCREENS = 1
"""Frozen chunks reaching into this many screen heights of the bottom stay laid out."""


_parser: MarkdownIt | None = None


def _shared_parser() -> MarkdownIt:
    """One parser for every answer: Textual builds a new one per append otherwise."""
    global _parser
    if _parser is None:
        _parser = MarkdownIt("gfm-like")
    return _parser


_MarkdownParagraph: type[MarkdownBlock] = Markdown.BLOCKS["paragraph_open"]
"""Textual's paragraph block (its class is not exported by name)."""


class _Paragraph(_MarkdownParagraph):  # type: ignore[misc, valid-type]
    """A paragraph that repaints without a layout while new text keeps its height.

    Streaming mostly adds a few words to the last paragraph. A layout reflows
    the whole screen (tens of milliseconds once an answer is long, and keys
    typed meanwhile wait); a repaint of this one block is enough until the
    text wraps onto a new line.
    """

    def set_content(self, content: Content) -> None:
        self._content = content
        width, height = self.size
        self.update(content, layout=False)
        if not (width and height and self._render().get_height(self.styles, width) == height):
            self.refresh(layout=True)


class _AnswerMarkdown(Markdown):
    BLOCKS: dict[str, type[MarkdownBlock]] = {**Markdown.BLOCKS, "paragraph_open": _Paragraph}


def _markdown(text: str) -> Markdown:
    """A Markdown widget; a live tail starts empty and is only appended to.

    ``Markdown.append()`` after text given to the constructor (or ``update()``)
    re-parses from the last line rather than from the start of the last
    block, which can drop the start of a list or code block left open.
    """
    return _AnswerMarkdown(text, open_links=False, parser_factory=_shared_parser)


class AnswerBody(Vertical):
    """Frozen chunks, a spacer for hidden ones, and one live tail while streaming.

    A streaming body starts its stream when mounted. Text written before that
    is buffered, so the view can be created, mounted and fed in any order.
    """

    DEFAULT_CSS = """
    AnswerBody { height: auto; }
    AnswerBody > Markdown { padding: 0; margin: 0; }
    AnswerBody > #spacer { height: 0; display: none; }
    """

    class Reshaped(Message):
        """Chunks came back folded: the message list may unfold those near the viewport."""

    freeze_chars = 800
    """Finished text the live tail may hold before it is frozen into a chunk."""

    def __init__(self, text: str = "", *, streaming: bool = False) -> None:
        super().__init__()
        self._pending = strip_controls(text)
        """Text not yet given to the splitter (before the stream starts)."""
        self._shown: list[str] = []
        """Every piece given to the splitter, to check the final text against."""
        self._streaming = streaming
        self._splitter = BlockSplitter()
        self._live: Markdown | None = None
        self._open = False
        """The live tail is mounted and takes text (until :meth:`finish`)."""
        self._lock = asyncio.Lock()
        self._done_blocks: list[str] = []
        """Finished blocks shown in the live tail (not frozen yet)."""
        self._done_chars = 0
        self._current = ""
        """The unfinished block's text given to the live tail so far."""
        self._unsent: list[str] = []
        """Text for the live tail waiting for the next flush."""
        self._unsent_done = 0
        """How many pieces of ``_unsent`` end finished blocks (the rest starts the live one)."""
        self._interval = SLOW_FLUSH_INTERVAL
        self._flush_due = 0.0
        self._flush_timer: Timer | None = None
        self._spacer = Static(id="spacer")
        self._hidden: dict[Widget, int] = {}
        """Chunks replaced by the spacer, with their heights (the spacer's is the sum)."""
        self._width = 0
        self._pinned: list[Widget] = []
        """Frozen chunks whose height is fixed (valid for the current width)."""
        self._settling: dict[Widget, int] = {}
        """Frozen chunks not pinned yet, with their height at the last flush."""

    @property
    def streaming(self) -> bool:
        return self._streaming

    def chunks(self) -> list[Widget]:
        """The displayed chunks that will not change any more (all of them once finished)."""
        return [
            child for child in self.children
            if child.display and child is not self._spacer
            and not (self._streaming and child is self._live)
        ]

    @property
    def hidden_chunks(self) -> int:
        """Frozen chunks currently replaced by the spacer."""
        return len(self._hidden)

    def compose(self):
        if not self._streaming:
            yield _markdown(self._pending)

    async def on_mount(self) -> None:
        async with self._lock:
            if self._streaming:
                await self._start()

    async def _start(self) -> None:
        text, self._pending = self._pending, ""
        self._shown.append(text)
        fed = self._splitter.feed(text)
        self._done_blocks = list(fed.finished)
        self._done_chars = sum(map(len, fed.finished))
        self._current = fed.append
        self._live = _markdown("")
        await self.mount_all([self._spacer, self._live])
        source = self._live_source()
        if source:
            await self._live.append(source)
        self._open = True

    def _live_source(self) -> str:
        return "\n\n".join([*self._done_blocks, self._current])

    async def write(self, chunk: str) -> None:
        """Append streamed text."""
        chunk = strip_controls(chunk)
        async with self._lock:
            if not self._open:
                if self._streaming:
                    self._pending += chunk
                return
            self._shown.append(chunk)
            fed = self._splitter.feed(chunk)
            if fed.finished:
                first, *others = fed.finished
                self._unsent.append(first[len(self._current) :])
                self._unsent.extend("\n\n" + block for block in others)
                self._unsent_done = len(self._unsent)
                self._unsent.append("\n\n" + fed.append)
                self._done_blocks += fed.finished
                self._done_chars += sum(map(len, fed.finished))
                self._current = fed.append
            elif fed.append:
                self._unsent.append(fed.append)
                self._current += fed.append
            else:
                return
            if self._flush_timer is None:
                self._flush_due = time.monotonic() + self._interval
                self._flush_timer = self.set_timer(self._interval, self._flush)

    async def _flush(self) -> None:
        """Give the batched text to the live tail, freezing finished blocks if due.

        A timer that fires late means the screen is busy (long layouts), so
        the interval grows with the delay and shrinks back when it is idle.
        """
        self._flush_timer = None
        late = time.monotonic() - self._flush_due
        slow = sum(map(len, self._unsent)) < SLOW_FLUSH_CHARS
        base = SLOW_FLUSH_INTERVAL if slow else FLUSH_INTERVAL
        self._interval = min(MAX_FLUSH_INTERVAL, max(base, 2 * late))
        async with self._lock:
            if not self._open or self._live is None:
                return
            if self._done_chars > self.freeze_chars:
                await self._freeze()
            else:
                text = "".join(self._unsent)
                self._unsent.clear()
                self._unsent_done = 0
                if text:
                    await self._live.append(text)
            self._pin_settled()
            self._hide_far_chunks()

    async def _freeze(self) -> None:
        """Give the live tail the rest of its finished blocks and freeze it as it is."""
        assert self._live is not None
        frozen = self._live
        done = "".join(self._unsent[: self._unsent_done])
        if done:
            await frozen.append(done)
        self._done_blocks, self._done_chars = [], 0
        self._unsent.clear()
        self._unsent_done = 0
        self._live = _markdown("")
        await self.mount(self._live)
        if self._current:
            await self._live.append(self._current)
        self._settling[frozen] = -1
        self.call_after_refresh(self._pin, frozen, self._width)

    def _pin(self, chunk: Widget, width: int) -> None:
        """Fix a frozen chunk's height once a layout has measured its final text."""
        height = chunk.outer_size.height
        if chunk in self._settling and chunk.display and height and width == self._width:
            chunk.styles.height = height
            self._pinned.append(chunk)
            del self._settling[chunk]

    def _pin_settled(self) -> None:
        """Fix the height of frozen chunks that measured the same at two flushes."""
        for chunk, last in list(self._settling.items()):
            height = chunk.outer_size.height
            if not chunk.is_attached:
                del self._settling[chunk]
            elif chunk.display and height and height == last:
                chunk.styles.height = height
                self._pinned.append(chunk)
                del self._settling[chunk]
            elif chunk.display:
                self._settling[chunk] = height

    def _unpin(self) -> None:
        for chunk in self._pinned:
            chunk.styles.height = None  # back to the stylesheet's auto height
            self._settling[chunk] = -1
        self._pinned.clear()

    def _hide_far_chunks(self) -> None:
        """Hide frozen chunks far above the bottom while the view follows the stream."""
        scroller = next(
            (a for a in self.ancestors if isinstance(a, ScrollableContainer)), None
        )
        if scroller is None or scroller.scroll_y < scroller.max_scroll_y - 1:
            self.show_hidden()
            return
        keep = KEEP_SCREENS * max(self.screen.size.height, 1)
        below = self._live.outer_size.height if self._live is not None else 0
        chunks = [c for c in self.children if c.display and c not in (self._spacer, self._live)]
        for chunk in reversed(chunks):
            height = chunk.outer_size.height
            if not height:
                continue
            below += height
            if below - height >= keep:  # wholly above the kept lines: never on screen
                chunk.display = False
                self._hidden[chunk] = height
                self._spacer.styles.height = sum(self._hidden.values())
                self._spacer.display = True

    def show_hidden(self, folded: bool = True) -> None:
        """Bring hidden chunks back: folded at their height, or whole (their height may change).

        Also called by the message list when the user scrolls up while the stream pauses.
        """
        if not self._hidden:
            return
        for chunk, height in self._hidden.items():
            chunk.display = True
            if folded:
                fold(chunk, height)
        self._hidden.clear()
        self._spacer.styles.height = 0
        self._spacer.display = False
        if folded:
            self.post_message(self.Reshaped())

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self._unpin()
            self.show_hidden(folded=False)
            for chunk in self.children:
                unfold(chunk)

    async def finish(self, final_text: str) -> None:
        """End the stream and render the live tail once in full.

        If ``final_text`` differs from what was streamed (an engine error that
        carried more text than its deltas), the whole body is rendered anew.
        """
        final = strip_controls(final_text)
        async with self._lock:
            self._streaming = False
            self._unsent.clear()
            if self._flush_timer is not None:
                self._flush_timer.stop()
                self._flush_timer = None
            self._open = False
            if not self.is_attached:
                return
            self.show_hidden()
            self._settling.clear()
            if self._live is None or "".join(self._shown) != final:
                self._pinned.clear()
                await self.remove_children()
                self._shown = [final]
                await self.mount(_markdown(final))
            else:
                self._done_blocks.append(self._splitter.live)
                await self._live.update("\n\n".join(self._done_blocks))
