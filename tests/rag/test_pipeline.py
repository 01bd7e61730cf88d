"""The whole pipeline with the real bundled embedder on the llama.cpp engine.

Files on disk -> loaders -> chunker -> MiniLM in a worker process -> FAISS +
SQLite -> hybrid retrieval -> numbered sources and the augmented prompt.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.rag.embedder import Embedder, EmbeddingIdentity
from offyai_tui.rag.errors import RemoteEmbeddingRefused
from offyai_tui.rag.index import DocumentRecord
from offyai_tui.rag.indexer import Indexer, IndexProgress, IndexReport
from offyai_tui.rag.prompt import augmented_prompt, cited_numbers
from offyai_tui.rag.service import Documents, index_paths, list_documents, retrieve
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from offyai_tui.settings.workspace import Workspace
from tests.rag.samples import encrypt_pdf, make_docx, make_pdf

pytestmark = pytest.mark.slow

CORPUS: dict[str, str | bytes] = {
    "garden.md": (
        "# Gardening notes\n\n## Tomatoes\n\nTomato plants need full sun and deep watering "
        "twice a week; mulch keeps the soil moist.\n\n## Roses\n\nPrune roses in late winter, "
        "just before the buds swell, cutting above an outward-facing bud.\n"
    ),
    "finance.txt": (
        "Quarterly report.\n\nRevenue grew twelve percent compared with last year, driven by "
        "subscriptions.\n\nOperating costs stayed flat.\n"
    ),
    "scheduler.py": (
        "import collections\n\n\ndef round_robin(tasks):\n    \"\"\"Run each task in turn until "
        "all are done.\"\"\"\n    queue = collections.deque(tasks)\n    while queue:\n"
        "        task = queue.popleft()\n        if task.step():\n            queue.append(task)\n"
    ),
    "bread.html": (
        "<html><head><title>Bread</title><script>track()</script></head><body>\n"
        "<h1>Sourdough bread</h1>\n<p>Knead the dough for ten minutes, then let it rise "
        "overnight in the fridge.</p>\n</body></html>\n"
    ),
    "manual.pdf": make_pdf(
        ["Safety: unplug the kettle before cleaning it.", "Warranty: the kettle is covered "
         "for two years from the date of purchase."]
    ),
    "lease.docx": make_docx(
        [("Title", "Lease agreement"), ("Heading1", "Rent"),
         ("", "The tenant pays the rent on the first day of every month.")]
    ),
}


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
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, content in CORPUS.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.open("docs")


async def _top(docs: Documents, query: str, mode: str = "hybrid") -> tuple[str, str]:
    retrieval = await docs.retrieve(query, top_k=3, mode=mode)  # type: ignore[arg-type]
    first = retrieval.sources[0]
    return Path(first.path).name, first.label


async def test_index_then_retrieve_cites_file_heading_and_position(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    seen: list[IndexProgress] = []
    report = await index_paths(workspace, engine, _settings(), [corpus], seen.append)
    assert sorted(Path(p).name for p in report.added) == sorted(CORPUS)
    assert report.skipped == [] and report.chunks >= len(CORPUS)
    assert seen[-1].phase == "done"
    assert any(p.phase == "indexing" and p.files_total == len(CORPUS) for p in seen)

    docs = Documents(workspace, engine, _settings())
    try:
        assert await _top(docs, "how often should I water my tomato plants") == (
            "garden.md", "garden.md > Gardening notes > Tomatoes, line 5",
        )
        assert await _top(docs, "when do I prune the roses?") == (
            "garden.md", "garden.md > Gardening notes > Roses, line 9",
        )
        assert await _top(docs, "how many years of warranty") == ("manual.pdf", "manual.pdf, p. 2")
        assert (await _top(docs, "day the rent is due"))[0] == "lease.docx"
        assert (await _top(docs, "round robin task queue"))[0] == "scheduler.py"
        assert (await _top(docs, "how long to knead sourdough", "vector"))[0] == "bread.html"
        assert (await _top(docs, "revenue growth percent", "lexical"))[0] == "finance.txt"

        retrieval = await docs.retrieve("tomato watering", top_k=4, budget_tokens=40)
        assert [s.number for s in retrieval.sources] == list(range(1, len(retrieval.sources) + 1))
        assert sum(s.tokens for s in retrieval.sources) <= 40
        assert retrieval.note == "" and retrieval.model == "all-minilm-l6-v2"
        restored = type(retrieval).from_dict(json.loads(json.dumps(retrieval.to_dict())))
        assert restored.sources == retrieval.sources

        prompt = augmented_prompt("How often to water tomatoes?", retrieval.sources)
        assert "[1] garden.md > Gardening notes > Tomatoes, line 5\nTomato plants" in prompt
        assert cited_numbers("Twice a week [1], mulch [1, 2] and [9].", 4) == [1, 2]
    finally:
        docs.close()
    rows = {Path(r.path).name: r for r in list_documents(workspace)}
    assert rows["manual.pdf"].pages == 2 and rows["garden.md"].lines == 9
    assert all(r.status == "indexed" and r.chunks >= 1 for r in rows.values())


async def test_reindex_skips_unchanged_updates_changed_and_prunes_deleted(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    settings = _settings()
    await index_paths(workspace, engine, settings, [corpus])
    again = await index_paths(workspace, engine, settings, [corpus])
    assert len(again.unchanged) == len(CORPUS) and again.chunks == 0

    (corpus / "finance.txt").write_text("Revenue fell by a third after the flood.\n")
    (corpus / "scheduler.py").unlink()
    third = await index_paths(workspace, engine, settings, [corpus])
    assert [Path(p).name for p in third.updated] == ["finance.txt"]
    assert [Path(p).name for p in third.removed] == ["scheduler.py"]
    retrieval = await retrieve(workspace, engine, settings, "revenue after the flood", top_k=2)
    assert retrieval.sources[0].text == "Revenue fell by a third after the flood."
    texts = " ".join(s.text for s in retrieval.sources)
    assert "twelve percent" not in texts
    manifest = json.loads(workspace.documents_manifest.read_text())
    assert sorted(Path(d["path"]).name for d in manifest["documents"]) == sorted(
        n for n in CORPUS if n != "scheduler.py"
    )


async def test_bad_files_are_skipped_and_the_batch_goes_on(
    engine: LlamaCppEngine, tmp_path: Path, workspace: Workspace
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Note\n\nThe meeting moved to Thursday.\n")
    (folder / "secret.pdf").write_bytes(encrypt_pdf(make_pdf(["hidden"]), user_password="pw"))
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blob.xyz").write_bytes(bytes(range(256)))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "big.txt").write_text("word " * 400_000)
    (folder / "loop.md").symlink_to(folder / "loop.md")
    settings = _settings()
    settings.rag.max_file_mb = 1
    report = await index_paths(workspace, engine, settings, [folder])
    assert [Path(p).name for p in report.added] == ["good.md"]
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["secret.pdf"] == "encrypted PDF: a password is required"
    assert reasons["broken.pdf"].startswith("damaged PDF")
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blob.xyz"] == "binary file"
    assert reasons["photo.jpg"] == "unsupported file type (.jpg)"
    assert reasons["big.txt"] == "larger than the 1 MB limit (2 MB)"
    assert reasons["loop.md"] == "symlink loop"
    status = {Path(r.path).name: (r.status, r.reason) for r in list_documents(workspace)}
    assert status["good.md"] == ("indexed", "")
    assert status["secret.pdf"] == ("skipped", "encrypted PDF: a password is required")


async def test_file_vanishing_mid_index_is_skipped(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    victim = corpus / "scheduler.py"

    def progress(p: IndexProgress) -> None:
        if p.phase == "indexing" and p.current.endswith("bread.html") and victim.exists():
            victim.unlink()

    report = await index_paths(workspace, engine, _settings(), [corpus], progress)
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("scheduler.py", "file not found (moved or deleted?)")
    ]
    assert len(report.added) == len(CORPUS) - 1


async def test_cancel_keeps_finished_files_and_a_consistent_index(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    docs = Documents(workspace, engine, _settings())
    try:
        embedder = await docs.embedder()
        embedder.batch_size = 1  # one chunk per batch: cancellation lands between files

        def progress(p: IndexProgress) -> None:
            if p.phase == "indexing" and p.files_done >= 2:
                docs.cancel()

        report = await docs.add([corpus], progress)
        assert report.cancelled
        index = await docs.index()
        kept = await docs.documents()
        assert 1 <= len(kept) < len(CORPUS)
        assert index.chunk_count() == index.vector_count() == sum(d.chunks for d in kept)
        embedder.batch_size = 32
        rest = await docs.add([corpus])
        assert not rest.cancelled
        assert len(rest.unchanged) == len(kept) and len(rest.added) == len(CORPUS) - len(kept)
    finally:
        docs.close()


async def test_batches_embed_while_files_are_read_and_each_chunk_keeps_its_vector(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    """Two batches are out at once (the workers never wait for the parent to read the
    next files), and a batch landing late still gives each chunk its own vector."""
    docs = Documents(workspace, engine, _settings())
    try:
        embedder = await docs.embedder()
        embedder.batch_size = 2
        out = most = 0
        embed = embedder.embed

        async def counted(texts, progress=None):  # type: ignore[no-untyped-def]
            nonlocal out, most
            out += 1
            most = max(most, out)
            try:
                return await embed(texts, progress)
            finally:
                out -= 1

        embedder.embed = counted  # type: ignore[method-assign]
        report = await docs.add([corpus])
        assert len(report.added) == len(CORPUS) and most == 2
        index = await docs.index()
        chunks = [c for batch in index.iter_chunks() for c in batch]
        assert len(chunks) == report.chunks == index.vector_count()
        own = await embed([c.indexed_text() for c in chunks])
        for chunk, vector in zip(chunks, own):
            assert index.vector_scores(vector, [chunk.id])[chunk.id] == pytest.approx(1, abs=1e-4)
    finally:
        docs.close()


async def test_changing_the_embedding_model_reembeds(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    docs = Documents(workspace, engine, _settings())
    try:
        index = await docs.index()
        other = EmbeddingIdentity("ollama", "nomic-embed-text", 384)
        rng = np.random.default_rng(0)
        with index.writer() as writer:
            from offyai_tui.rag.chunker import chunk_document
            from offyai_tui.rag.loaders import load_file

            doc = load_file(corpus / "garden.md", 2**20)
            chunks = chunk_document(doc, 256, 32)
            vectors = rng.standard_normal((len(chunks), 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            writer.put_document(DocumentRecord(doc.path, "markdown", doc.size, doc.sha256),
                                chunks, vectors, other)
            writer.commit()
        degraded = await docs.retrieve("prune roses")
        assert degraded.mode == "lexical" and "built with nomic-embed-text" in degraded.note
        assert Path(degraded.sources[0].path).name == "garden.md"

        report = await docs.reembed()
        assert report.reembedded == len(chunks)
        assert index.identity == EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", 384)
        healed = await docs.retrieve("prune roses")
        assert healed.mode == "hybrid" and healed.note == ""
        assert healed.sources[0].heading_path == ("Gardening notes", "Roses")
    finally:
        docs.close()


async def test_events_iterator_ends_with_the_report(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    docs = Documents(workspace, engine, _settings())
    try:
        indexer = Indexer(await docs.index(), await docs.embedder(), _settings())
        items = [item async for item in indexer.events([corpus / "garden.md"])]
        assert isinstance(items[-1], IndexReport) and len(items[-1].added) == 1
        assert all(isinstance(i, IndexProgress) for i in items[:-1])
    finally:
        docs.close()


async def test_embedder_normalizes_and_truncates(engine: LlamaCppEngine) -> None:
    embedder = Embedder(engine, "all-minilm-l6-v2", batch_size=2)
    vectors = await embedder.embed(["short", "word " * 5000, "third"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.identity == EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", 384)


async def test_documents_never_go_to_a_remote_engine_without_opt_in() -> None:
    settings = _settings()
    remote = OpenAICompatEngine(OpenAIEndpoint(name="cloud", url="https://api.example.com/v1"),
                                settings)
    try:
        assert remote.is_remote
        with pytest.raises(RemoteEmbeddingRefused, match="is not on this machine"):
            await Embedder.for_engine(remote, settings)
        settings.rag.allow_remote = True  # the old global switch grants nothing
        with pytest.raises(RemoteEmbeddingRefused, match="--allow-remote-docs"):
            await Embedder.for_engine(remote, settings, workspace=Workspace.open("default"))
    finally:
        await remote.aclose()


async def test_two_indexers_on_one_workspace_do_not_interleave(
    engine: LlamaCppEngine, corpus: Path, workspace: Workspace
) -> None:
    from offyai_tui.rag.errors import IndexBusy

    first = Documents(workspace, engine, _settings())
    second = Documents(workspace, engine, _settings())
    try:
        started = asyncio.Event()

        def progress(p: IndexProgress) -> None:
            if p.phase == "indexing":  # the first run holds the writer by now
                started.set()

        task = asyncio.ensure_future(first.add([corpus], progress))
        await started.wait()
        with pytest.raises(IndexBusy):
            await second.add([corpus])
        await task
    finally:
        first.close()
        second.close()
