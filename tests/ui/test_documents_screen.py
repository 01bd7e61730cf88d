"""The Documents screen, driven with Pilot in a tiny host app.

Files are real (Markdown, text, code, HTML, PDFs made with pypdf, binary,
empty, damaged, encrypted, a symlink loop) and go through the real pipeline.
One test embeds with the real llama.cpp engine and the bundled MiniLM and
searches; the others cover a remote embedder asked about first, a missing path
or unknown engine refused in one line, path completion and the screen's look.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.rag.service import index_paths, list_documents
from offyai_tui.settings.config import Settings
from offyai_tui.settings.privacy import Consent, destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.screens.documents import DocumentsScreen
from offyai_tui.ui.screens.documents_job import documents_job
from offyai_tui.ui.screens.remote_docs import RemoteDocumentsScreen
from offyai_tui.ui.widgets.common.path_suggest import complete_path
from offyai_tui.ui.widgets.documents import table as doc_table
from offyai_tui.ui.widgets.documents.chunk import ChunkScreen
from offyai_tui.ui.widgets.documents.hits import SearchHits
from tests.ui.documents_host import (
    INDEXED,
    SKIPPED,
    HashEmbedder,
    Host,
    add_path,
    build_corpus,
    job_idle,
    note,
    progress_line,
    rows,
    summary,
    wait_for,
)


@pytest.mark.slow
async def test_real_embedder_indexes_folder_shows_reasons_and_searches(tmp_path: Path) -> None:
    docs = build_corpus(tmp_path)
    settings = Settings()
    settings.llamacpp.n_threads = 1
    registry = EngineRegistry(settings)
    app = Host(settings, registry=registry)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await add_path(pilot, docs)
            await wait_for(pilot, job_idle(app), timeout=240)
            await wait_for(pilot, lambda: len(rows(app)) == len(INDEXED | SKIPPED))
            job = documents_job(app)
            assert job.phase == "done", job.error
            table = rows(app)
            for name in INDEXED:
                assert table[name][-1].startswith("indexed"), (name, table[name])
                assert int(table[name][2]) >= 1
            assert table["contract.pdf"][1] == "2 pages"
            assert table["guide.md"][1] == "9 lines"
            assert "Windows-1252" in table["latin.txt"][-1]
            reasons = {name: table[name][-1] for name in SKIPPED}
            assert reasons["photo.png"] == "skipped: unsupported file type (.png)"
            assert reasons["blob"] == "skipped: binary file"
            assert reasons["empty.txt"] == "skipped: empty file"
            assert "damaged" in reasons["broken.pdf"] or "corrupt" in reasons["broken.pdf"]
            assert "encrypted" in reasons["secret.pdf"]
            assert "symlink loop" in reasons["loop"]
            line = progress_line(app)
            assert line.startswith("Done: 6 added"), line
            assert "6 skipped" in line
            bar = app.screen.query_one("#bar")
            assert bar.total == bar.progress == 11  # type: ignore[attr-defined]
            line = summary(app)
            assert "all-minilm-l6-v2 via llamacpp (384 dimensions)" in line
            assert "12 documents (6 skipped)" in line
            assert line.splitlines()[1] == "Re-index (F5) walks 1 folder: docs/"

            search = app.screen.query_one("#search", Input)
            search.focus()
            search.value = "how long is the termination notice period"
            await pilot.press("enter")
            hits = app.screen.query_one(SearchHits)
            await wait_for(pilot, lambda: bool(hits.sources))
            top = hits.sources[0]
            assert Path(top.path).name == "contract.pdf"
            assert top.location in ("p. 1", "pp. 1-2")  # a PDF cites pages, not lines
            assert "[1]" in str(hits.get_option_at_index(0).prompt)
            assert "contract.pdf" in str(hits.get_option_at_index(0).prompt)
            assert "hybrid" in note(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ChunkScreen))
            text = str(app.screen.query_one("#chunk-text").render())
            assert "thirty days" in text
            assert top.location in str(app.screen.query_one("#chunk-meta").render())
            await pilot.press("escape")
            assert isinstance(app.screen, DocumentsScreen)
    finally:
        await registry.aclose()


async def test_remote_embedding_engine_is_asked_about_and_no_sends_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "private.md").write_text("# Patient record\n\nConfidential.\n")
    engine = HashEmbedder(remote=True)
    dest = destination(engine)
    assert dest is not None
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteDocumentsScreen))
        assert "(embeddings) would get" in app.screen.text  # type: ignore[attr-defined]
        assert "No: nothing is indexed." in app.screen.text  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, job_idle(app))
        line = progress_line(app)
        assert line.startswith("Indexing stopped:") and "documents not sent" in line
        assert "nothing was indexed" in line
        assert "\n" not in line
        assert engine.texts == []
        assert rows(app) == {}

        # Each request to index asks again; Yes indexes and is stored for that host.
        await add_path(pilot, folder)
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteDocumentsScreen))
        await pilot.press("y")
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: "private.md" in rows(app))
    assert Consent(Workspace.open("default")).allows(dest)

    app = Host(Settings(), engine=HashEmbedder(remote=True))
    async with app.run_test(size=(120, 36)) as pilot:  # not asked again
        await pilot.press("f5")
        await wait_for(pilot, job_idle(app))
        assert not isinstance(app.screen, RemoteDocumentsScreen)
        assert progress_line(app).startswith("Done:"), progress_line(app)


async def test_missing_path_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: note(app).startswith("No documents yet"))
        await add_path(pilot, tmp_path / "nowhere")
        assert note(app) == f"no such file or folder: {tmp_path / 'nowhere'}"
        assert not documents_job(app).busy
        assert app.screen.query_one("#path", Input).value == str(tmp_path / "nowhere")


async def test_unknown_embedding_engine_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\ntext\n")
    settings = Settings()
    settings.rag.embedding_engine = "nonsense"
    app = Host(settings, registry=EngineRegistry(settings))
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, tmp_path / "a.md")
        assert note(app).startswith("rag.embedding_engine: unknown engine 'nonsense'")
        assert not documents_job(app).busy


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "readme.md").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    base = str(tmp_path) + "/"
    assert complete_path(base + "rep") == base + "reports/"
    assert complete_path(base + "rea") == base + "readme.md"
    assert complete_path(base + "re") == base + "reports/"  # folders first
    assert complete_path(base + ".h") == base + ".hidden"
    assert complete_path(base + "zz") is None


def test_snapshot(tmp_path: Path, snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = build_corpus(tmp_path)
    settings = Settings()
    workspace = Workspace.open("default")
    asyncio.run(index_paths(workspace, HashEmbedder(), settings, [docs]))
    newest = max(r.indexed_at for r in list_documents(workspace))
    monkeypatch.setattr(doc_table, "_now", lambda: newest + 5)
    app = Host(settings, engine=HashEmbedder())

    async def loaded(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: len(rows(app)) == 12)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 30), run_before=loaded)


def test_gguf_path_completion_offers_gguf_files_before_folders(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "mistral.gguf").write_text("x")
    (tmp_path / "manual.txt").write_text("x")
    base = str(tmp_path) + "/"
    gguf = {"suffix": ".gguf", "files_first": True}
    assert complete_path(base + "m", **gguf) == base + "mistral.gguf"
    assert complete_path(base + "mo", **gguf) == base + "models/"
    assert complete_path(base + "man", **gguf) is None  # not a model file
    assert complete_path(base + "man") == base + "manual.txt"
