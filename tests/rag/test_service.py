"""The Documents service across restarts: saved roots, recorded skips, cancel, progress.

Real files, the real index and the bundled MiniLM on the llama.cpp engine; a
"restart" is a new :class:`Documents` on the same workspace.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.rag.embedder import BUNDLED_EMBEDDER, EmbeddingIdentity, resolve_model
from offyai_tui.rag.indexer import IndexProgress
from offyai_tui.rag.service import Documents, index_paths, list_documents, list_roots
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.settings.workspace import Workspace
from tests.llama_server import LlamaServer

pytestmark = pytest.mark.slow


def _settings() -> Settings:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    return settings


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine(_settings())
    yield engine
    engine.close()


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.open("service")


@pytest.fixture
async def docs(engine: LlamaCppEngine, workspace: Workspace) -> AsyncIterator[Documents]:
    docs = Documents(workspace, engine, _settings())
    yield docs
    docs.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nThe alpha project ships in March.\n")
    (folder / "b.txt").write_text("Budget meeting notes: travel costs are frozen.\n")
    return folder


def _names(paths: list[str]) -> list[str]:
    return sorted(Path(p).name for p in paths)


def _status(workspace: Workspace) -> dict[str, tuple[str, str]]:
    return {Path(r.path).name: (r.status, r.reason) for r in list_documents(workspace)}


# -- skips decided during the walk are recorded ------------------------------------------


async def test_walk_skips_are_listed_after_a_restart(
    engine: LlamaCppEngine, workspace: Workspace, folder: Path
) -> None:
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "self").symlink_to(folder / "self")
    (folder / "up").symlink_to(folder)
    report = await index_paths(workspace, engine, _settings(), [folder])
    assert _names(report.added) == ["a.md", "b.txt"]

    status = _status(workspace)  # a fresh index object: what a restarted app sees
    assert status["photo.jpg"] == ("skipped", "unsupported file type (.jpg)")
    assert status["self"] == ("skipped", "symlink loop")
    assert status["up"] == ("skipped", "symlink loop (folder already visited)")
    kinds = {Path(r.path).name: r.kind for r in list_documents(workspace)}
    assert kinds["photo.jpg"] == "jpg"
    manifest = json.loads(workspace.documents_manifest.read_text())
    assert {Path(d["path"]).name for d in manifest["documents"]} >= {"photo.jpg", "self", "up"}

    (folder / "photo.jpg").unlink()
    (folder / "up").unlink()
    again = await index_paths(workspace, engine, _settings(), [folder])
    assert _names(again.removed) == ["photo.jpg", "up"]
    assert "photo.jpg" not in _status(workspace) and "self" in _status(workspace)


# -- roots are saved and walked again ---------------------------------------------------------


async def test_refresh_after_a_restart_finds_new_files_in_saved_folders(
    engine: LlamaCppEngine, workspace: Workspace, folder: Path, tmp_path: Path
) -> None:
    single = tmp_path / "single.md"
    single.write_text("# Single\n\nA file added on its own.\n")
    first = Documents(workspace, engine, _settings())
    try:
        await first.add([folder, single])
        assert await first.roots() == [str(folder.resolve()), str(single.resolve())]
    finally:
        first.close()

    (folder / "c.md").write_text("# Gamma\n\nA note written after the restart.\n")
    (folder / "b.txt").unlink()
    single.write_text("# Single\n\nChanged while the app was closed.\n")
    assert list_roots(workspace) == [str(folder.resolve()), str(single.resolve())]
    restarted = Documents(workspace, engine, _settings())
    try:
        report = await restarted.refresh()
        assert _names(report.added) == ["c.md"]
        assert _names(report.updated) == ["single.md"]
        assert _names(report.removed) == ["b.txt"]
        assert _names(report.unchanged) == ["a.md"]
        hit = (await restarted.retrieve("note written after the restart", top_k=1)).sources[0]
        assert Path(hit.path).name == "c.md"
        (folder / "d.md").write_text("# Delta\n\nOne more.\n")
        assert _names((await restarted.add([])).added) == ["d.md"]  # add([]) refreshes too
    finally:
        restarted.close()
    manifest = json.loads(workspace.documents_manifest.read_text())
    assert manifest["roots"] == [str(folder.resolve()), str(single.resolve())]


async def test_removed_paths_stay_out_of_a_refresh_until_added_again(
    docs: Documents, folder: Path
) -> None:
    await docs.add([folder])
    removed = await docs.remove([folder / "b.txt"])
    assert _names(removed) == ["b.txt"]
    assert await docs.roots() == [str(folder.resolve())]
    assert _names((await docs.refresh()).added) == []
    assert [Path(d.path).name for d in await docs.documents()] == ["a.md"]

    back = await docs.add([folder / "b.txt"])
    assert _names(back.added) == ["b.txt"]
    await docs.remove([folder])
    assert await docs.roots() == [] and await docs.documents() == []
    assert (await docs.refresh()).added == []


async def test_documents_indexed_before_roots_existed_are_still_rechecked(
    docs: Documents, folder: Path
) -> None:
    await docs.add([folder / "a.md"])
    index = await docs.index()
    with index.writer() as writer:  # an index from before roots were recorded
        writer._db.execute("DELETE FROM roots")
        writer._pending = True
        writer.commit()
    assert await docs.roots() == []
    (folder / "a.md").write_text("# Alpha\n\nThe alpha project slipped to May.\n")
    assert _names((await docs.refresh()).updated) == ["a.md"]


# -- cancel at any moment -----------------------------------------------------------------------


async def test_cancel_before_the_embedder_exists_stops_the_run(
    workspace: Workspace, folder: Path
) -> None:
    engine = LlamaCppEngine(_settings())  # model not loaded yet: the slow start
    docs = Documents(workspace, engine, _settings())
    seen: list[IndexProgress] = []

    def progress(p: IndexProgress) -> None:
        seen.append(p)
        if len(seen) == 1:
            assert docs.cancel()

    try:
        report = await docs.add([folder], progress)
        assert report.cancelled and report.added == []
        assert [p.phase for p in seen] == ["scanning", "cancelled"]
        assert await docs.documents() == [] and await docs.roots() == []
        assert not docs.cancel()  # nothing running: nothing remembered for the next run
        assert not (await docs.add([folder])).cancelled
    finally:
        docs.close()
        engine.close()


async def test_cancel_while_the_model_loads_stops_before_any_file(
    docs: Documents, folder: Path
) -> None:
    embedder = await docs.embedder()
    probe = embedder.probe

    async def slow_start():  # the cancel lands while the engine answers the probe
        docs.cancel()
        return await probe()

    embedder.probe = slow_start  # type: ignore[method-assign]
    report = await docs.add([folder])
    assert report.cancelled and report.added == [] and report.chunks == 0
    assert await docs.documents() == []


# -- progress snapshots -------------------------------------------------------------------------


async def test_first_indexing_snapshot_is_immediate_and_the_last_has_the_counts(
    docs: Documents, folder: Path
) -> None:
    seen: list[IndexProgress] = []
    report = await docs.add([folder], seen.append)
    indexing = [p for p in seen if p.phase == "indexing"]
    assert indexing[0].files_done == 0 and indexing[0].files_total == 2
    assert indexing[0].current.endswith("a.md")
    last = seen[-1]
    assert last.phase == "done" and last.finished
    assert (last.files_done, last.files_total) == (2, 2)
    assert last.chunks_done == report.chunks == 2 and last.chunks_per_s > 0
    assert last.current == "" and last.fraction == 1.0


async def test_cancelled_snapshot_counts_the_files_kept(
    docs: Documents, folder: Path
) -> None:
    for n in range(4):
        (folder / f"extra{n}.md").write_text(f"# Extra {n}\n\nFiller note number {n}.\n")
    (await docs.embedder()).batch_size = 1
    seen: list[IndexProgress] = []

    def progress(p: IndexProgress) -> None:
        seen.append(p)
        if p.phase == "indexing" and p.files_done >= 2:
            docs.cancel()

    report = await docs.add([folder], progress)
    kept = await docs.documents()
    assert report.cancelled and 1 <= len(kept) < 6
    assert seen[-1].phase == "cancelled"
    assert (seen[-1].files_done, seen[-1].files_total) == (len(kept), 6)


async def test_reembedding_reports_its_total_first(docs: Documents, folder: Path) -> None:
    await docs.add([folder])
    index = await docs.index()
    with index.writer() as writer:  # pretend another model built the index
        writer._set_identity(EmbeddingIdentity("ollama", "other", 384))
        writer.commit()
    seen: list[IndexProgress] = []
    report = await docs.reembed(seen.append)
    steps = [p for p in seen if p.phase == "reembedding"]
    assert steps[0].chunks_total == 2 and steps[0].chunks_done == 0
    assert steps[-1].fraction == 1.0 and report.reembedded == 2
    assert seen[-1].phase == "done" and seen[-1].chunks_done == 2


# -- rag.embedding_model ------------------------------------------------------------------------


async def test_rag_embedding_model_wins_over_the_llamacpp_setting(
    engine: LlamaCppEngine, workspace: Workspace, folder: Path
) -> None:
    settings = _settings()
    assert await resolve_model(engine, settings) == BUNDLED_EMBEDDER
    settings.llamacpp.embedding_model = "no-such-embedder"
    assert await resolve_model(engine, settings) == "no-such-embedder"
    settings.rag.embedding_model = BUNDLED_EMBEDDER
    docs = Documents(workspace, engine, settings)
    try:
        report = await docs.add([folder])
        assert len(report.added) == 2
        assert (await docs.index()).identity == EmbeddingIdentity(
            "llamacpp", BUNDLED_EMBEDDER, 384
        )
    finally:
        docs.close()


async def test_rag_embedding_model_names_the_model_on_other_engines(
    llama_embed_server: LlamaServer, workspace: Workspace, folder: Path
) -> None:
    settings = _settings()
    settings.rag.embedding_model = "minilm-by-name"
    engine = OpenAICompatEngine(OpenAIEndpoint(name="local", url=llama_embed_server.url), settings)
    docs = Documents(workspace, engine, settings)
    try:
        assert (await docs.embedder()).model == "minilm-by-name"
        report = await docs.add([folder])
        assert len(report.added) == 2
        identity = (await docs.index()).identity
        assert identity is not None and identity.model == "minilm-by-name"
    finally:
        docs.close()
        await engine.aclose()


async def test_removing_a_looping_link_row_keeps_its_folder(
    docs: Documents, folder: Path
) -> None:
    (folder / "up").symlink_to(folder)
    await docs.add([folder])
    assert "up" in {Path(d.path).name for d in await docs.documents()}
    removed = await docs.remove([folder / "up"])
    assert _names(removed) == ["up"]
    assert await docs.roots() == [str(folder.resolve())]
    assert _names([d.path for d in await docs.documents()]) == ["a.md", "b.txt"]
    report = await docs.refresh()
    assert report.skipped == [] and len(report.unchanged) == 2
    assert _names([d.path for d in await docs.documents()]) == ["a.md", "b.txt"]
