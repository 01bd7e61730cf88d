"""Token counting for chunk sizes (cl100k, from :mod:`offyai_tui.util.cl100k`).

cl100k is not the embedder's own tokenizer: MiniLM's WordPiece produces a few
more pieces per word on average, so chunk sizes stay well below its 512-token
window and the embedder truncates defensively on top (see ``embedder.py``).
"""

from __future__ import annotations

from offyai_tui.util.cl100k import TokenizerUnavailable, encoding

__all__ = ["TokenizerUnavailable", "count", "encoding", "truncate"]


def count(text: str) -> int:
    """Number of cl100k tokens in ``text`` (special-token text counts as plain text)."""
    return len(encoding().encode_ordinary(text))


def truncate(text: str, limit: int) -> str:
    """The longest prefix of ``text`` with at most ``limit`` tokens, cut between tokens.

    A cut that would split a multi-byte character drops the partial character
    rather than producing a replacement mark.
    """
    ids = encoding().encode_ordinary(text)
    if len(ids) <= limit:
        return text
    head = encoding().decode_bytes(ids[: max(limit, 0)])
    return head.decode("utf-8", errors="ignore")
