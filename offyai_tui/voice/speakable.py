"""Markdown made fit to be read aloud: the words, without the markup.

A reader should not say "asterisk asterisk" or read a code listing symbol by
symbol: code blocks become "(code block)", links keep their text, and emphasis,
headings, list bullets, tables' pipes and inline code marks are dropped.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"`|~~|(?<!\w)(\*\*|__|\*|_)(?=\S)|(?<=\S)(\*\*|__|\*|_)(?!\w)")
_TABLE_EDGES = re.compile(r"^[ \t]*\|(.*)\|[ \t]*$", re.M)
_LINE_START = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M)


def speakable(markdown: str) -> str:
    """The text of ``markdown`` as a person would read it out."""
    text = _FENCE.sub("(code block)", markdown)
    text = _TABLE_RULE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _LINE_START.sub("", text)
    text = _MARKS.sub("", text)
    text = _TABLE_EDGES.sub(r"\1", text)
    text = re.sub(r"[ \t]*\|[ \t]*", ", ", text)
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(lines).strip()
