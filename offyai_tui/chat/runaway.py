"""The runaway guard: an answer that has turned into a loop is stopped, its text kept.

Small models sometimes repeat one passage until the context is full: SmolLM2
answered a documents question with the same sentence for 3,000 tokens and 87 s.
Sampling penalties make that rarer; this guard makes it harmless, for every
engine, because every stream the chat screen and ``offyai ask`` read passes
through :func:`guard_repetition`.

Two signs of a loop, both counted on the text as it streams (a few microseconds
per piece):

* the same sentence or paragraph, of at least :data:`MIN_SEGMENT_CHARS` characters
  and three words, for the ``repeats``-th time (whitespace and case ignored, so a
  loop that wraps its lines differently each time is still one sentence);
* the answer ending in one span repeated ``repeats`` times back to back, with no
  sentence end in it (``and then and then and then ...``), over at least
  :data:`MIN_RUN_CHARS` characters.

Repeated short lines (``}``, ``|---|``, ``- yes``) never count as sentences: code
and tables repeat those legitimately (a whole block repeated back to back does).
``chat.repeat_guard`` sets ``repeats`` (0: off).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator

from offyai_tui.engines.base import ChatEvent, ChatStats, Done, TextDelta

REPEATING_NOTE = "stopped: the answer was repeating"
DONE_REASON = "repeating"
MIN_SEGMENT_CHARS = 20
MIN_RUN_CHARS = 200
MAX_PERIOD = 1024
WINDOW = 8192
CHECK_EVERY = 32
"""New characters between two checks for a back-to-back run."""

_SEGMENT_END = re.compile(r"\n[ \t]*\n|(?<=[.!?:])\s")
"""Sentences end at ``.``, ``!``, ``?`` or ``:`` before a space, and at a blank line.
A single newline is only a space: loops rewrap their sentence at a different word."""
_WORD = re.compile(r"[^\W\d_]{2,}")


class RepetitionDetector:
    """Watches an answer's text; :meth:`feed` returns True once it is a loop."""

    def __init__(self, repeats: int = 10) -> None:
        self.repeats = repeats
        self.counts: Counter[str] = Counter()
        self._partial = ""
        self._tail = ""
        self._unchecked = 0
        self.looping = False

    def feed(self, text: str) -> bool:
        if self.looping or self.repeats < 2 or not text:
            return self.looping
        self._partial += text
        *done, self._partial = _SEGMENT_END.split(self._partial)
        for segment in done:
            key = " ".join(segment.split()).lower()
            if len(key) >= MIN_SEGMENT_CHARS and len(_WORD.findall(key)) >= 3:
                self.counts[key] += 1
                if self.counts[key] >= self.repeats:
                    self.looping = True
        if len(self._partial) > WINDOW:  # no sentence end for a long while
            self._partial = self._partial[-WINDOW:]
        self._tail = (self._tail + text)[-WINDOW:]
        self._unchecked += len(text)
        if not self.looping and self._unchecked >= CHECK_EVERY:
            self._unchecked = 0
            self.looping = _ends_in_run(self._tail, self.repeats)
        return self.looping


def _ends_in_run(tail: str, repeats: int) -> bool:
    """True if ``tail`` ends with one span (holding letters) repeated ``repeats`` times.

    Candidate spans come from earlier places where the last 8 characters occur,
    so only a handful of periods is verified.
    """
    needle = tail[-8:]
    if len(needle) < 8:
        return False
    end = len(tail) - 8
    position = tail.rfind(needle, 0, end)
    tried = 0
    while position >= 0 and tried < 8:
        period = end - position
        if period > MAX_PERIOD:
            return False
        tried += 1
        span = period * repeats
        if span >= MIN_RUN_CHARS and span <= len(tail):
            unit = tail[-period:]
            if _WORD.search(unit) and tail[-span:] == unit * repeats:
                return True
        position = tail.rfind(needle, 0, position)
    return False


async def guard_repetition(
    events: AsyncIterator[ChatEvent], repeats: int, model: str = ""
) -> AsyncIterator[ChatEvent]:
    """Pass ``events`` on; end with ``Done(done_reason="repeating")`` once they loop.

    The engine's stream is closed (which stops generation: every engine cancels
    on close), the text so far has already been passed on and is kept, and the
    final ``Done`` carries :data:`REPEATING_NOTE` for the UI and the CLI.
    """
    detector = RepetitionDetector(repeats)
    iterator = events.__aiter__()
    tokens = 0
    try:
        async for event in iterator:
            yield event
            if isinstance(event, TextDelta):
                tokens += 1
                if detector.feed(event.text):
                    break
        else:
            return
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
    yield Done(ChatStats(model=model, completion_tokens=tokens, done_reason=DONE_REASON,
                         note=REPEATING_NOTE))
