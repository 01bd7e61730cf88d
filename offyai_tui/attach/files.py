"""Text files and PDFs put whole into a prompt, as the fenced block the model reads.

The same loaders as Documents read them (:mod:`offyai_tui.rag.loaders`), so
a file decodes the same way in both places: UTF-8 or UTF-16 with a BOM, else
Windows-1252; a PDF page by page; a Word document by its paragraphs. A file
is counted as the block that is sent (name line and fences included), and
refused before anything is stored when it does not fit the room the caller
has left in the context: a file cut to fit would be answered as if it were
whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from offyai_tui.attach.errors import NotText, OverBudget, Unreadable
from offyai_tui.chat.attachments import fenced
from offyai_tui.chat.tokens import estimate_tokens
from offyai_tui.rag.documents import Block
from offyai_tui.rag.loaders import LoadError, decode_text, parse_bytes

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
SAMPLE_CHARS_PER_TOKEN = 32
"""Characters per token above any real text's: a start this long that is over the
budget proves the whole is."""


@dataclass(frozen=True)
class PreparedText:
    """The text a file gives the model, its token count, and what it was read from."""

    text: str
    tokens: int
    source: str
    """``text``, ``pdf`` or ``docx``."""
    notes: list[str] = field(default_factory=list)
    """Non-fatal problems (``not UTF-8; read as Windows-1252``, ``page 4 unreadable``)."""


def text_source(data: bytes, name: str) -> str:
    """``pdf`` or ``docx`` by the file's first bytes (a Word file is a ZIP named .docx), else
    ``text``; whether it really is text is known only once decoded."""
    if PDF_MAGIC in data[:1024]:
        return "pdf"
    if data.startswith(ZIP_MAGIC) and name.lower().endswith(".docx"):
        return "docx"
    return "text"


def prepare_text(
    data: bytes,
    name: str,
    *,
    budget: int | None = None,
    count: Callable[[str], int] = estimate_tokens,
) -> PreparedText:
    """Read ``data`` as a text file, PDF or Word document and count its fenced block.

    Args:
        data: The file's bytes.
        name: The file's name as shown (already made visible by the caller).
        budget: Tokens the block may take (the room left in the context); ``None``
            for no limit.
        count: Token counter of the block; the offline cl100k estimate by default.

    Raises:
        NotText: a binary file (and not an image or a PDF).
        Unreadable: a damaged or password-protected PDF or Word file, or no text in it.
        OverBudget: more tokens than ``budget``.
    """
    source = text_source(data, name)
    notes: list[str] = []
    if source == "text":
        try:
            text, notes = decode_text(data)
        except LoadError:
            raise NotText(
                f"{name} is not a text file, an image or a PDF; nothing attached"
            ) from None
    else:
        try:
            document = parse_bytes(Path(name), data, source, max(len(data), 1))
        except LoadError as exc:
            raise Unreadable(f"{name} cannot be read: {exc}; nothing attached") from None
        text, notes = _document_text(document.blocks), list(document.notes)
    if not text.strip():
        raise NotText(f"{name} is empty; nothing attached")
    block = fenced(name, text)
    if budget is not None:
        _refuse_early(block, name, budget, count)
    tokens = count(block)
    if budget is not None and tokens > budget:
        raise OverBudget(_over(name, f"{tokens:,}", budget), tokens, budget)
    return PreparedText(text, tokens, source, notes)


def _refuse_early(block: str, name: str, budget: int, count: Callable[[str], int]) -> None:
    """Refuse a text far over the budget by counting only its start.

    Counting a 60 MB log takes tens of seconds; when its first
    ``(budget + 1) × 32`` characters already hold more than ``budget`` tokens
    (text averages 3-5 characters a token), the whole cannot fit, and the
    refusal gives the total scaled from that start as "about".
    """
    head = (max(budget, 0) + 1) * SAMPLE_CHARS_PER_TOKEN
    if len(block) <= head:
        return
    head_tokens = count(block[:head])
    if head_tokens > budget:
        tokens = round(head_tokens * len(block) / head)
        raise OverBudget(_over(name, f"about {tokens:,}", budget), tokens, budget)


def _over(name: str, tokens: str, budget: int) -> str:
    return (
        f"{name} is {tokens} tokens and {max(budget, 0):,} are left in this conversation's "
        "context; nothing attached (add it to Documents to ask about it in parts, or use a "
        "model with a larger context)"
    )


def _document_text(blocks: list[Block]) -> str:
    """A PDF's or Word file's blocks as plain text; PDF pages marked so answers can cite them."""
    parts: list[str] = []
    page: int | None = None
    for block in blocks:
        if block.page is not None and block.page != page:
            page = block.page
            parts.append(f"[page {page}]")
        parts.append(block.text)
    return "\n\n".join(parts)
