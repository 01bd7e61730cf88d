"""The Markdown body of one answer, streamed at a cost that does not grow.

A single ``Markdown`` widget fed through ``get_stream()`` re-reads its whole
source on every append and, like any screen, lays out every widget it holds
on every frame; both grow with the answer. This body keeps three parts:

- frozen chunks: ``Markdown`` widgets holding finished blocks (see
  :mod:`offyai_tui.widgets.blocks`), each rendered once with a full
  ``update()`` (Textual can otherwise leave a streamed code block blank) and
  never touched again;
- the live tail: one ``Markdown`` fed through ``Markdown.get_stream()``; when
  it holds more than :attr:`AnswerBody.freeze_chars` of finished blocks, they
  become a frozen chunk and the tail restarts with the unfinished block;
- a spacer: frozen chunks more than a few screens above the bottom are hidden
  while the view follows the stream, and the spacer keeps their height, so a
  frame lays out only what is near the screen. Everything is shown again when
  the user scrolls up, the width changes, or the answer ends.

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

from textual.containers import ScrollableContainer, Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from offyai_tui.textsafe import strip_controls
from offyai_tui.widgets.blocks import BlockSplitter

FLUSH_INTERVAL = 1 / 20
"""Seconds between appends to the live tail when the screen keeps up (20 fps)."""
MAX_FLUSH_INTERVAL = 0.1
"""Upper bound when the screen is slow (also bounds the work of one append)."""
KEEP_SCREENS = 2
"""Frozen chunks within this many screen heights of the bottom stay laid out."""


def _markdown(text: str) -> Markdown:
    return Markdown(text, open_links=False)


async def _stop(stream: MarkdownStream) -> None:
    """Stop a stream, even one whose task has not run yet.

    ``MarkdownStream.stop()`` awaits its cancelled task, which raises
    ``CancelledError`` in the caller if the task never started; yielding once
    first lets it start. Our own cancellation (Esc) is still passed on.
    """
    await asyncio.sleep(0)
    try:
        await stream.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        cancelling = getattr(task, "cancelling", None)
        if cancelling is not None and cancelling():
            raise


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
        self._stream: MarkdownStream | None = None
        self._lock = asyncio.Lock()
        self._done_blocks: list[str] = []
        """Finished blocks shown in the live tail (not frozen yet)."""
        self._done_chars = 0
        self._current = ""
        """The unfinished block's text given to the live tail so far."""
        self._unsent: list[str] = []
        """Text for the live tail waiting for the next flush."""
        self._interval = FLUSH_INTERVAL
        self._flush_due = 0.0
        self._flush_timer: Timer | None = None
        self._spacer = Static(id="spacer")
        self._hidden: list[Widget] = []
        self._spacer_height = 0
        self._width = 0

    @property
    def streaming(self) -> bool:
        return self._streaming

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
        self._live = _markdown(self._live_source())
        await self.mount_all([self._spacer, self._live])
        self._stream = Markdown.get_stream(self._live)

    def _live_source(self) -> str:
        return "\n\n".join([*self._done_blocks, self._current])

    async def write(self, chunk: str) -> None:
        """Append streamed text."""
        chunk = strip_controls(chunk)
        async with self._lock:
            if self._stream is None:
                if self._streaming:
                    self._pending += chunk
                return
            self._shown.append(chunk)
            fed = self._splitter.feed(chunk)
            if fed.finished:
                first, *others = fed.finished
                self._unsent.append(first[len(self._current) :])
                self._unsent.extend("\n\n" + block for block in [*others, fed.append])
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
        self._interval = min(MAX_FLUSH_INTERVAL, max(FLUSH_INTERVAL, 2 * late))
        async with self._lock:
            if self._stream is None or self._live is None:
                return
            if self._done_chars > self.freeze_chars:
                await self._freeze()
            else:
                text = "".join(self._unsent)
                self._unsent.clear()
                if text:
                    await self._stream.write(text)
            self._hide_far_chunks()

    async def _freeze(self) -> None:
        """Turn the live tail's finished blocks into a frozen chunk."""
        assert self._stream is not None and self._live is not None
        await _stop(self._stream)
        await self._live.update("\n\n".join(self._done_blocks))
        self._done_blocks, self._done_chars = [], 0
        self._unsent.clear()
        self._live = _markdown(self._current)
        await self.mount(self._live)
        self._stream = Markdown.get_stream(self._live)

    def _hide_far_chunks(self) -> None:
        """Hide frozen chunks far above the bottom while the view follows the stream."""
        scroller = next(
            (a for a in self.ancestors if isinstance(a, ScrollableContainer)), None
        )
        if scroller is None or scroller.scroll_y < scroller.max_scroll_y - 1:
            self._show_hidden()
            return
        keep = KEEP_SCREENS * max(self.screen.size.height, 1)
        below = 0
        chunks = [c for c in self.children if c.display and c not in (self._spacer, self._live)]
        for chunk in reversed(chunks):
            height = chunk.outer_size.height
            if not height:
                continue
            below += height
            if below > keep:
                chunk.display = False
                self._hidden.append(chunk)
                self._spacer_height += height
                self._spacer.styles.height = self._spacer_height
                self._spacer.display = True

    def _show_hidden(self) -> None:
        if not self._hidden:
            return
        for chunk in self._hidden:
            chunk.display = True
        self._hidden.clear()
        self._spacer_height = 0
        self._spacer.styles.height = 0
        self._spacer.display = False

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self._show_hidden()

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
            stream, self._stream = self._stream, None
            if stream is not None:
                await _stop(stream)
            if not self.is_attached:
                return
            self._show_hidden()
            if self._live is None or "".join(self._shown) != final:
                await self.remove_children()
                self._shown = [final]
                await self.mount(_markdown(final))
            else:
                self._done_blocks.append(self._splitter.live)
                await self._live.update("\n\n".join(self._done_blocks))
