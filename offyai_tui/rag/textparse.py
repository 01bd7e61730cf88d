"""Split decoded text into blocks: Markdown, reStructuredText, source code, plain text.

These parsers only find structure a chunker needs (headings with their depth,
paragraphs, code blocks kept whole) and the line range of each block; they do
not render anything. Every non-blank line of the input lands in exactly one
block, so nothing a user wrote is lost on the way to the index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from offyai_tui.rag.documents import Block

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RST_ADORN = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")
_RST_CODE_DIRECTIVE = re.compile(r"^\s*\.\. (code-block|code|sourcecode|literalinclude)::")


def _paragraphs(lines: list[str], first_line: int, page: int | None = None) -> Iterable[Block]:
    """Blank-line separated paragraphs of ``lines`` (numbered from ``first_line``)."""
    start = None
    for offset, line in enumerate([*lines, ""]):
        if line.strip():
            if start is None:
                start = offset
        elif start is not None:
            text = "\n".join(lines[start:offset]).strip("\n")
            yield Block(text, "paragraph", first_line + start, first_line + offset - 1, page)
            start = None


def parse_plain(text: str, page: int | None = None) -> list[Block]:
    return list(_paragraphs(text.split("\n"), 1, page))


def parse_markdown(text: str) -> list[Block]:
    """ATX and one-line setext headings, fenced code blocks, paragraphs."""
    lines = text.split("\n")
    blocks: list[Block] = []
    para: list[int] = []

    def flush() -> None:
        if para:
            body = "\n".join(lines[para[0] : para[-1] + 1])
            blocks.append(Block(body, "paragraph", para[0] + 1, para[-1] + 1))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            mark = fence.group(1)
            end = i + 1
            while end < len(lines):
                close = _FENCE.match(lines[end])
                if close and close.group(1)[0] == mark[0] and len(close.group(1)) >= len(mark):
                    break
                end += 1
            end = min(end, len(lines) - 1)
            body = "\n".join(lines[i : end + 1])
            blocks.append(Block(body, "code", i + 1, end + 1))
            i = end + 1
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            title = (atx.group(2) or "").strip()
            if title:
                blocks.append(Block(title, "heading", i + 1, i + 1, level=len(atx.group(1))))
            i += 1
            continue
        setext = _SETEXT.match(line)
        if setext and len(para) == 1 and lines[para[0]].strip():
            title = lines[para[0]].strip()
            level = 1 if setext.group(1)[0] == "=" else 2
            blocks.append(Block(title, "heading", para[0] + 1, i + 1, level=level))
            para.clear()
            i += 1
            continue
        if line.strip():
            para.append(i)
        else:
            flush()
        i += 1
    flush()
    return blocks


def _rst_heading(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """(title, style, lines used) if a section title starts at line ``i``."""
    line = lines[i]
    over = _RST_ADORN.match(line)
    if over and i + 2 < len(lines):
        title, under = lines[i + 1].strip(), _RST_ADORN.match(lines[i + 2])
        if title and under and under.group(1) == over.group(1) and len(line.rstrip()) >= len(title):
            return title, "over" + over.group(1), 3
    if line.strip() and not line[0].isspace() and i + 1 < len(lines):
        under = _RST_ADORN.match(lines[i + 1])
        if under and len(lines[i + 1].rstrip()) >= len(line.rstrip()):
            return line.strip(), under.group(1), 2
    return None


def parse_rst(text: str, styles: list[str] | None = None) -> list[Block]:
    """Section titles (depth from the order adornment styles appear), literal blocks.

    ``styles`` carries the adornment order from earlier parts of the same file
    (a large file is parsed a part at a time); it is updated in place.
    """
    lines = text.split("\n")
    blocks: list[Block] = []
    styles = [] if styles is None else styles
    para: list[int] = []
    literal_next = False
    literal_indent = 0

    def flush() -> None:
        nonlocal literal_next, literal_indent
        if para:
            body = "\n".join(lines[para[0] : para[-1] + 1])
            literal_next = body.rstrip().endswith("::")
            literal_indent = len(lines[para[0]]) - len(lines[para[0]].lstrip())
            blocks.append(Block(body, "paragraph", para[0] + 1, para[-1] + 1))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        heading = None if para else _rst_heading(lines, i)
        if heading:
            title, style, used = heading
            if style not in styles:
                styles.append(style)
            blocks.append(Block(title, "heading", i + 1, i + used, level=styles.index(style) + 1))
            literal_next = False
            i += used
            continue
        directive = _RST_CODE_DIRECTIVE.match(line)
        indent = len(line) - len(line.lstrip())
        if not para and (directive or (literal_next and line.strip() and indent > literal_indent)):
            floor = indent if directive else literal_indent
            end = i + 1
            while end < len(lines) and (
                not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > floor
            ):
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            blocks.append(Block("\n".join(lines[i:end]), "code", i + 1, end))
            literal_next = False
            i = end
            continue
        if line.strip():
            para.append(i)
        else:
            flush()
        i += 1
    flush()
    return blocks


def parse_code(text: str) -> list[Block]:
    """Top-level units of source code: a blank line followed by an unindented line
    starts a new block, so a function and its body stay together."""
    lines = text.split("\n")
    blocks: list[Block] = []
    start: int | None = None
    last = -1
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        top_level = not line[0].isspace()
        if start is not None and top_level and i > last + 1:
            blocks.append(Block("\n".join(lines[start : last + 1]), "code", start + 1, last + 1))
            start = None
        if start is None:
            start = i
        last = i
    if start is not None:
        blocks.append(Block("\n".join(lines[start : last + 1]), "code", start + 1, last + 1))
    return blocks
