"""Split streamed Markdown into finished blocks and a live tail.

One ``Markdown`` widget fed through ``get_stream()`` re-reads its whole source
on every append, so each token costs more as the answer grows. The answer view
instead keeps finished blocks in frozen widgets and streams only into the last
one. A block is finished when a run of blank lines outside a code fence is
followed by a line that starts in column 0: such a line can only begin a new
block (an indented line would continue a list item or an indented code block,
so those never split).

:func:`split_blocks` is the whole-text definition; :class:`BlockSplitter` gives
the same blocks incrementally, reading each new character once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_FENCE_CHARS = "`~"


def _fence_open(line: str) -> tuple[str, int] | None:
    """The fence (char, length) that ``line`` opens, if it opens one.

    Any indentation is accepted: fences inside list items are indented, and
    treating a doubtful line as a fence only means fewer splits, never a wrong one.
    """
    stripped = line.lstrip(" \t")
    if not stripped or stripped[0] not in _FENCE_CHARS:
        return None
    char = stripped[0]
    length = len(stripped) - len(stripped.lstrip(char))
    if length < 3:
        return None
    if char == "`" and "`" in stripped[length:]:
        return None
    return char, length


def _fence_closes(line: str, fence: tuple[str, int]) -> bool:
    char, length = fence
    stripped = line.strip(" \t\r")
    return len(stripped) >= length and stripped == char * len(stripped)


def split_blocks(text: str) -> list[str]:
    """Split Markdown ``text`` into blocks that render the same apart as together.

    The blank lines between two blocks belong to neither; the last block is
    returned as is (it may still be growing). An empty text gives ``[""]``.
    """
    blocks: list[str] = []
    fence: tuple[str, int] | None = None
    start = 0
    content_end = -1
    """End of the last non-blank line of the current block (-1: none yet)."""
    blank_run = False
    pos = 0
    for body in text.split("\n"):
        if fence is not None:
            if _fence_closes(body, fence):
                fence = None
            content_end = pos + len(body)
        elif not body.strip(" \t\r"):
            blank_run = blank_run or content_end >= 0
        else:
            if blank_run and body[0] not in " \t\r":
                blocks.append(text[start:content_end])
                start = pos
            blank_run = False
            fence = _fence_open(body)
            content_end = pos + len(body)
        pos += len(body) + 1
    blocks.append(text[start:])
    return blocks


@dataclass
class Fed:
    """What one :meth:`BlockSplitter.feed` call means for the view.

    If ``finished`` is not empty, the live block ended: ``finished[0]`` is its
    final text and any further entries are whole blocks of their own; a new live
    block then starts with ``append``. Otherwise ``append`` extends the live block.
    """

    finished: list[str] = field(default_factory=list)
    append: str = ""


class BlockSplitter:
    """Incremental :func:`split_blocks`: constant work per character.

    Outside a fence, line ends and whitespace at the start of a line are held
    back until the next visible character shows whether a new block begins;
    the blank lines between two blocks are never shown in either.
    """

    def __init__(self) -> None:
        self._block: list[str] = []
        """Pieces of the live block's text, as shown."""
        self._held: list[str] = []
        """Whitespace not yet shown (line ends, blank lines, a line's indent)."""
        self._line: list[str] = []
        """Characters of the current line (for fence detection)."""
        self._line_has_text = False
        self._fence: tuple[str, int] | None = None
        self._has_content = False
        self._blank_run = False

    @property
    def live(self) -> str:
        """The live block's full text, including held-back whitespace."""
        return "".join(self._block) + "".join(self._held)

    def feed(self, chunk: str) -> Fed:
        """Take the next piece of the stream."""
        result = Fed()
        out: list[str] = []
        for char in chunk:
            if char == "\n":
                self._end_line(out)
            elif self._fence is not None:
                out.append(char)
                self._line.append(char)
            elif char in " \t\r" and not self._line_has_text:
                self._held.append(char)
                self._line.append(char)
            else:
                if not self._line_has_text:
                    if self._blank_run and not self._line:
                        self._block.extend(out)
                        out.clear()
                        result.finished.append("".join(self._block))
                        self._block = []
                        self._held.clear()
                    out.extend(self._held)
                    self._held.clear()
                    self._blank_run = False
                    self._has_content = True
                    self._line_has_text = True
                out.append(char)
                self._line.append(char)
        text = "".join(out)
        self._block.append(text)
        result.append = text
        return result

    def _end_line(self, out: list[str]) -> None:
        line = "".join(self._line)
        had_text = self._line_has_text
        self._line.clear()
        self._line_has_text = False
        if self._fence is not None:
            if _fence_closes(line, self._fence):
                self._fence = None
                self._held.append("\n")
            else:
                out.append("\n")
        elif had_text:
            self._fence = _fence_open(line)
            (out if self._fence is not None else self._held).append("\n")
        else:
            self._held.append("\n")
            self._blank_run = self._blank_run or self._has_content


@dataclass(frozen=True)
class CodeBlock:
    language: str
    code: str


def code_blocks(text: str) -> list[CodeBlock]:
    """Fenced and indented code blocks of a Markdown text, in order (for copying)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("gfm-like").parse(text)
    return [
        CodeBlock(token.info.strip().split(" ")[0] if token.info else "", token.content)
        for token in tokens
        if token.type in ("fence", "code_block")
    ]
