"""The workspace summary: documents, chunks, the model the vectors came from,
and the saved files and folders re-indexing walks.

The model and dimension are read from the index's manifest, not from the
settings: they say what the stored vectors really are. The saved roots come
from the index too, so they are the same after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.content import Content
from textual.widgets import Static

from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.util.textsafe import visible

SavedRoot = tuple[str, bool]
"""A saved file or folder: ``(path, is a folder)``."""
SHOWN_ROOTS = 3
"""Names listed on the summary's second line; the tooltip lists every full path."""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def roots_phrase(roots: Sequence[SavedRoot]) -> str:
    """``2 folders``, ``1 folder and 3 files``, or ``""`` if none."""
    folders = sum(1 for _, folder in roots if folder)
    counts = ((folders, "folder"), (len(roots) - folders, "file"))
    return " and ".join(_count(n, noun) for n, noun in counts if n)


def roots_line(roots: Sequence[SavedRoot]) -> str:
    """``Re-index (F5) walks 1 folder and 1 file: docs/, memo.txt``.

    Said as "re-index walks", not "watching": nothing follows the folders live.
    """
    if not roots:
        return ""
    names = [(Path(path).name or path) + ("/" if folder else "") for path, folder in roots]
    shown = ", ".join(names[:SHOWN_ROOTS])
    if len(names) > SHOWN_ROOTS:
        shown += f" and {len(names) - SHOWN_ROOTS} more"
    return f"Re-index (F5) walks {roots_phrase(roots)}: {shown}"


def summary_line(
    workspace: str,
    documents: int,
    skipped: int,
    chunks: int,
    identity: EmbeddingIdentity | None,
    problem: str = "",
    roots: Sequence[SavedRoot] = (),
) -> str:
    """``Workspace default · 4 documents (1 skipped) · 37 chunks · all-minilm-l6-v2 via
    llamacpp (384 dimensions)``, then the saved roots and any index problem below."""
    parts = [
        f"Workspace {workspace}",
        _count(documents, "document") + (f" ({skipped} skipped)" if skipped else ""),
        _count(chunks, "chunk"),
    ]
    if identity is not None:
        parts.append(f"{identity.model} via {identity.engine} ({identity.dim} dimensions)")
    else:
        parts.append("no embedding model yet")
    lines = [" · ".join(parts), roots_line(roots)]
    if problem:
        lines.append(f"Index needs a re-index: {problem}")
    return "\n".join(line for line in lines if line)


class WorkspaceSummary(Static):
    """A few lines above the documents list; hovering lists the saved paths in full."""

    DEFAULT_CSS = """
    WorkspaceSummary { height: auto; padding: 0 1; background: $panel; }
    """

    def show(
        self,
        workspace: str,
        documents: int,
        skipped: int,
        chunks: int,
        identity: EmbeddingIdentity | None,
        problem: str = "",
        roots: Sequence[SavedRoot] = (),
    ) -> None:
        line = summary_line(workspace, documents, skipped, chunks, identity, problem, roots)
        self.update(Content(visible(line, multiline=True)))
        paths = "\n".join(visible(path) for path, _ in roots)
        self.tooltip = Content(f"Re-index (F5) walks:\n{paths}") if roots else None
