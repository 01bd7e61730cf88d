"""search_documents: the real index and the bundled embedder, passages numbered for citing."""

from __future__ import annotations

from pathlib import Path

import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.parts import ToolCall
from offyai_tui.rag.service import index_paths
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools import ToolBox

pytestmark = pytest.mark.slow


async def test_search_returns_numbered_passages_with_file_and_lines(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "alpha.md").write_text("# Alpha\n\nThe alpha project ships in March.\n")
    (folder / "budget.txt").write_text("Budget meeting notes: travel costs are frozen.\n")
    settings = Settings()
    settings.llamacpp.n_threads = 1
    engine = LlamaCppEngine(settings)
    workspace = Workspace.open("search")
    try:
        async with ToolBox(settings, workspace, embedding_engine=engine) as box:
            empty = await box.call(ToolCall("c0", "search_documents", {"query": "alpha"}))
            assert empty.is_error and "has no documents yet" in empty.text
            await index_paths(workspace, engine, settings, [folder])
            result = await box.call(ToolCall("c1", "search_documents",
                                             {"query": "when does alpha ship?", "top_k": 2}))
    finally:
        engine.close()
    assert not result.is_error
    assert (f"[1] alpha.md > Alpha, line 3\nfile: {folder / 'alpha.md'}\n"
            "The alpha project ships in March.") in result.text
    assert "cite as [n]" in result.text
    assert result.sources[0].path == str(folder / "alpha.md")
    assert len(result.sources) <= 2
