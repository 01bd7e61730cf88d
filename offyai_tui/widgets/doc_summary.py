"""The workspace summary line: documents, chunks, and the model the vectors came from.

The model and dimension are read from the index's manifest, not from the
settings: they say what the stored vectors really are.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.textsafe import strip_controls


def summary_line(
    workspace: str,
    documents: int,
    skipped: int,
    chunks: int,
    identity: EmbeddingIdentity | None,
    problem: str = "",
) -> str:
    """``Workspace default · 4 documents (1 skipped) · 37 chunks · all-minilm… (384 dims)``."""
    noun = "document" if documents == 1 else "documents"
    parts = [
        f"Workspace {workspace}",
        f"{documents} {noun}" + (f" ({skipped} skipped)" if skipped else ""),
    ]
    parts.append(f"{chunks} chunk" + ("" if chunks == 1 else "s"))
    if identity is not None:
        parts.append(f"{identity.model} via {identity.engine} ({identity.dim} dimensions)")
    else:
        parts.append("no embedding model yet")
    line = " · ".join(parts)
    if problem:
        line += f"\nIndex needs a re-index: {problem}"
    return line


class WorkspaceSummary(Static):
    """One or two lines above the documents list."""

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
    ) -> None:
        line = summary_line(workspace, documents, skipped, chunks, identity, problem)
        self.update(Content(strip_controls(line)))
