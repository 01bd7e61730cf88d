"""The data passed along the pipeline: blocks from loaders, chunks, skipped files.

Positions are 1-based and inclusive, as people read them: ``lines 3-9`` means
the third to the ninth line of the file; for PDFs, lines count within a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "code"]


@dataclass(frozen=True)
class Block:
    """One structural unit of a document: a heading, a paragraph or a code block."""

    text: str
    kind: BlockKind
    line_start: int
    line_end: int
    page: int | None = None
    level: int = 0
    """Heading depth (1 = top); 0 for other blocks."""


@dataclass(frozen=True)
class LoadedDocument:
    """A file turned into blocks, with facts the documents list shows."""

    path: str
    kind: str
    """``text``, ``markdown``, ``rst``, ``code``, ``html``, ``pdf`` or ``docx``."""
    blocks: list[Block]
    size: int
    sha256: str
    lines: int = 0
    pages: int = 0
    title: str = ""
    notes: list[str] = field(default_factory=list)
    """Non-fatal problems, e.g. ``3 invalid bytes replaced`` or ``page 4 unreadable``."""


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document with everything needed to cite it."""

    path: str
    text: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    page_start: int | None = None
    page_end: int | None = None
    overlap_chars: int = 0
    """Length of the prefix of ``text`` repeated from the previous chunk."""
    tokens: int = 0
    title: str = ""
    """Document title (first heading, HTML title, or file name), for the index."""

    def header(self) -> str:
        """Title and heading path, prepended to the text that is embedded and searched.

        Without it a chunk in the middle of a section loses what it is about
        ("It was founded in 1998" says nothing of *what* was founded).
        """
        parts = list(self.heading_path)
        if self.title and (not parts or parts[0] != self.title):
            parts.insert(0, self.title)
        return " > ".join(parts)

    def indexed_text(self) -> str:
        header = self.header()
        return f"{header}\n\n{self.text}" if header else self.text


@dataclass(frozen=True)
class Skipped:
    """A path that was not indexed, and why (one readable line)."""

    path: str
    reason: str
    target: str = field(default="", compare=False)
    """For a link the folder rule refused: the real path it leads to."""

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def location(
    line_start: int, line_end: int, page_start: int | None, page_end: int | None
) -> str:
    """``p. 3``, ``pp. 3-4`` or ``lines 10-24``: the short form shown next to a citation."""
    if page_start is not None:
        end = page_end if page_end is not None else page_start
        return f"p. {page_start}" if end == page_start else f"pp. {page_start}-{end}"
    if line_start == line_end:
        return f"line {line_start}"
    return f"lines {line_start}-{line_end}"
