"""Search this workspace's documents: the index as a tool the model calls when it needs it.

``--docs`` and the chat's documents switch search once per question, with the
question as the query; as a tool the model picks the query (a name, a term
from an earlier answer) and may search more than once. The passages come
back numbered with their file and location (``[2] plan.md > Budget, lines
10-24``), the same blocks the documents prompt uses, so an answer can cite
them and the sources panel can show them (``ToolResult.sources``).
"""

from __future__ import annotations

from typing import Any

from offyai_tui.engines.base import Engine
from offyai_tui.engines.parts import ToolSpec
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools.base import BuiltinTool, ToolResult, error

SPEC = ToolSpec(
    "search_documents",
    "Search the user's documents (files they added to this workspace) and get the most "
    "relevant passages, numbered. Cite them in the answer as [1], [2].",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for"},
            "top_k": {"type": "integer", "description": "how many passages (default 6)"},
        },
        "required": ["query"],
    },
)
MAX_TOP_K = 20


def passages(sources: Any) -> str:
    """``[n] plan.md > Budget, lines 10-24``, the file's full path (what ``read_file``
    takes to read on), then the passage."""
    return "\n\n".join(f"[{s.number}] {s.label}\nfile: {s.path}\n{s.text.strip()}"
                       for s in sources)


class DocumentSearch:
    """The workspace's index, opened on the first search and kept for the next ones."""

    def __init__(self, workspace: Workspace, engine: Engine | None, settings: Settings,
                 *, remote_this_run: bool = False) -> None:
        self.workspace = workspace
        self.engine = engine
        self.settings = settings
        self.remote_this_run = remote_this_run
        self._docs: Any = None

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        from offyai_tui.rag import Documents, RagError

        query = arguments.get("query")
        top_k = arguments.get("top_k") or self.settings.rag.top_k
        if not isinstance(query, str) or not query.strip():
            return error('search_documents needs {"query": "..."}')
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            return error("top_k must be a whole number from 1")
        if not (self.workspace.index_dir / "index.sqlite").exists():
            return error(f"workspace {self.workspace.name!r} has no documents yet "
                         "(the user adds them with offyai index PATH or the Documents screen)")
        if self._docs is None:
            self._docs = Documents(self.workspace, self.engine, self.settings,
                                   remote_this_run=self.remote_this_run)
        try:
            retrieval = await self._docs.retrieve(query.strip(), min(top_k, MAX_TOP_K))
        except RagError as exc:
            return error(f"the documents cannot be searched: {exc}")
        if not retrieval.sources:
            return ToolResult(f"No passage of the documents matched {query.strip()!r}.")
        note = f"\n\n(note: {retrieval.note})" if retrieval.note else ""
        text = (f"Passages from the user's documents for {query.strip()!r} "
                f"(cite as [n]):\n\n{passages(retrieval.sources)}{note}")
        return ToolResult(text, sources=tuple(retrieval.sources))

    def close(self) -> None:
        if self._docs is not None:
            self._docs.close()
            self._docs = None

    def tool(self) -> BuiltinTool:
        return BuiltinTool(SPEC, self.run, reads_workspace=True)
