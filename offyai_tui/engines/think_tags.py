"""Reasoning written inline as ``<think>…</think>`` at the start of an answer.

Qwen3, DeepSeek-R1 and their GGUFs put their reasoning in the answer text itself
when the server does not take it apart (llama.cpp through llama-cpp-python,
llamafile, llama-server with ``--reasoning-format none``). :class:`ThinkSplitter`
takes such a stream apart as it arrives, so the reasoning can be shown, folded
and kept out of the next request like ``message.thinking`` from Ollama.

Only a block that opens the answer counts (leading whitespace allowed): a
``<think>`` later on, say inside a code sample about these very tags, is text.
Tags may be cut anywhere between chunks, so a chunk that ends in what could be
the start of a tag is held back until the next one decides it; the result never
depends on how the stream was cut. A block still open when the stream ends was
all reasoning (the answer was stopped or ran out of tokens while thinking).
"""

from __future__ import annotations

from enum import Enum

OPEN_TAGS = ("<think>", "<thinking>")
"""Opening tags, each closed by the same name with a slash."""


class _State(Enum):
    START = "start"
    """Nothing but whitespace so far: the answer may still open with a tag."""
    THINK = "think"
    AFTER = "after"
    """Just past the closing tag: whitespace before the answer is dropped."""
    TEXT = "text"


class ThinkSplitter:
    """Split one answer's chunks into (reasoning, answer text), incrementally.

    ``inside`` starts in the reasoning: the prompt itself ended with an opening
    tag (DeepSeek-R1's template does this), so the model writes only the close.

    Whitespace right after the opening and after the closing tag is dropped:
    models write ``<think>\\n…\\n</think>\\n\\n`` and neither block should start
    with blank lines.
    """

    def __init__(self, *, inside: bool = False) -> None:
        self._state = _State.THINK if inside else _State.START
        self._close = "</think>"
        self._pending = ""
        self._skip_space = inside
        self.thinking = ""
        """All reasoning so far."""
        self.text = ""
        """All answer text so far."""

    @property
    def in_thinking(self) -> bool:
        """True while the stream is inside a reasoning block."""
        return self._state is _State.THINK

    def feed(self, chunk: str) -> tuple[str, str]:
        """Take one chunk; returns the (reasoning, text) it completes, either may be ``""``."""
        thinking: list[str] = []
        text: list[str] = []
        data = self._pending + chunk
        self._pending = ""
        while data:
            if self._state is _State.TEXT:
                text.append(data)
                break
            if self._state is _State.START:
                data = self._start(data, text)
            elif self._state is _State.THINK:
                data = self._think(data, thinking)
            else:  # AFTER
                stripped = data.lstrip()
                if stripped:
                    self._state = _State.TEXT
                data = stripped
        return self._record("".join(thinking), "".join(text))

    def close(self) -> tuple[str, str]:
        """The end of the stream: whatever was held back, as (reasoning, text)."""
        pending, self._pending = self._pending, ""
        if self._state is _State.THINK:
            return self._record(pending, "")
        if self._state is _State.START:
            self._state = _State.TEXT
            return self._record("", pending)
        return self._record("", "")

    # -- states ---------------------------------------------------------------

    def _start(self, data: str, text: list[str]) -> str:
        """Look for an opening tag after leading whitespace; hold back what might be one."""
        body = data.lstrip()
        if not body:
            self._pending = data
            return ""
        for tag in OPEN_TAGS:
            if body.startswith(tag):
                self._state = _State.THINK
                self._close = "</" + tag[1:]
                self._skip_space = True
                return body[len(tag) :]
        if any(tag.startswith(body) for tag in OPEN_TAGS):
            self._pending = data  # "<thi": a tag, or text? the next chunk says
            return ""
        self._state = _State.TEXT
        text.append(data)
        return ""

    def _think(self, data: str, thinking: list[str]) -> str:
        """Reasoning up to the closing tag; hold back a tail that may start it."""
        if self._skip_space:
            data = data.lstrip()
            if not data:
                return ""
            self._skip_space = False
        end = data.find(self._close)
        if end >= 0:
            thinking.append(data[:end])
            self._state = _State.AFTER
            return data[end + len(self._close) :]
        keep = _partial_suffix(data, self._close)
        thinking.append(data[: len(data) - keep])
        self._pending = data[len(data) - keep :]
        return ""

    def _record(self, thinking: str, text: str) -> tuple[str, str]:
        self.thinking += thinking
        self.text += text
        return thinking, text


def _partial_suffix(data: str, tag: str) -> int:
    """Length of the longest end of ``data`` that is a proper start of ``tag``."""
    for size in range(min(len(tag) - 1, len(data)), 0, -1):
        if tag.startswith(data[-size:]):
            return size
    return 0


def split_whole(answer: str, *, inside: bool = False) -> tuple[str, str]:
    """(reasoning, text) of a complete answer: the same as feeding it in any pieces."""
    splitter = ThinkSplitter(inside=inside)
    splitter.feed(answer)
    splitter.close()
    return splitter.thinking, splitter.text
