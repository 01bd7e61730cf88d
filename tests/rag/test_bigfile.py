"""Large text files indexed as a stream with the real MiniLM: batches are committed as
they go, a stop keeps them (searchable, listed as partial, the manifest agreeing), and
the next run goes on from there, or starts over when the file or the settings changed.

The streaming threshold is lowered so a file of some kilobytes streams: embedding
megabytes on two shared cores would take far too long. Chunking memory on really
large files is measured in ``test_textstream.py``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.rag import bigfile
from offyai_tui.rag.chunker import chunk_document
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.index import DocumentIndex
from offyai_tui.rag.indexer import Indexer, IndexProgress
from offyai_tui.rag.loaders import load_file
from offyai_tui.rag.service import Documents
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace

pytestmark = pytest.mark.slow

MB = 2**20
WORDS = ["ferry", "island", "harbour", "morning", "timetable", "weather", "captain", "deck",
         "passenger", "ticket", "crossing", "lighthouse", "tide", "rope", "gull", "cargo"]


def _settings(chunk_tokens: int = 48) -> Settings:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    settings.rag.chunk_tokens = chunk_tokens
    settings.rag.chunk_overlap = 8
    return settings


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppEngine]:
    engine = LlamaCppEngine(_settings())
    yield engine
    engine.close()


@pytest.fixture(autouse=True)
def streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bigfile, "STREAM_MIN_BYTES", 1024)


def _journal(path: Path, seed: int = 3, first: str = "zanzibarferry") -> Path:
    """About forty chunks; ``first`` only in the first paragraph, ``quokkaharbour``
    only in the last."""
    rng = random.Random(seed)
    paragraphs = []
    for _ in range(36):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
            for _ in range(rng.randint(2, 5))
        ]
        paragraphs.append(" ".join(sentences))
    paragraphs[0] = f"The {first} leaves at nine. " + paragraphs[0]
    paragraphs[-1] += " The quokkaharbour crossing ends the log."
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def _whole(path: Path, settings: Settings) -> list[Chunk]:
    """What indexing the file whole makes (the stream must make exactly these)."""
    return chunk_document(load_file(path, MB), settings.rag.chunk_tokens, 8)


async def _stopped_run(docs: Documents, path: Path, after: int) -> None:
    """Index ``path`` in batches of 8 and stop once ``after`` chunks are embedded."""
    embedder = await docs.embedder()
    embedder.batch_size = 8

    def progress(p: IndexProgress) -> None:
        if p.phase == "indexing" and p.chunks_done >= after:
            docs.cancel()

    report = await docs.add([path], progress)
    assert report.cancelled and report.partial == [str(path)], report
    assert not report.added and not report.updated


def _found(docs_index: DocumentIndex, word: str) -> bool:
    return bool(docs_index.search_lexical(word, 3))


async def test_a_stop_keeps_what_is_stored_and_the_next_run_goes_on_from_there(
    engine: LlamaCppEngine, tmp_path: Path
) -> None:
    path = _journal(tmp_path / "journal.txt")
    settings = _settings()
    expected = _whole(path, settings)
    assert len(expected) > 24
    workspace = Workspace.open("big")
    docs = Documents(workspace, engine, settings)
    try:
        await _stopped_run(docs, path, after=16)
        index = await docs.index()
        record = index.document(str(path))
        assert record is not None and record.status == "partial", record
        assert 16 <= record.chunks < len(expected)
        assert index.chunk_count() == index.vector_count() == record.chunks
        stored = index.chunks_of(str(path))
        assert [c.text for c in stored] == [c.text for c in expected[: record.chunks]]
        manifest = json.loads(workspace.documents_manifest.read_text(encoding="utf-8"))
        assert manifest["generation"] == index.generation
        assert [(d["status"], d["chunks"]) for d in manifest["documents"]] == [
            ("partial", record.chunks)
        ]
        reopened = DocumentIndex.open(workspace.index_dir)  # what another process sees
        assert _found(reopened, "zanzibarferry") and not _found(reopened, "quokkaharbour")
        reopened.close()

        report = await docs.add([path])
        assert report.added == [str(path)] and not report.partial and not report.cancelled
        assert report.chunks == len(expected) - record.chunks  # the stored part is not redone
        after = index.chunks_of(str(path))
        assert [c.id for c in after[: len(stored)]] == [c.id for c in stored]
        assert [(c.text, c.line_start, c.line_end) for c in after] == [
            (c.text, c.line_start, c.line_end) for c in expected
        ]
        final = index.document(str(path))
        assert final is not None and final.status == "indexed" and final.reason == ""
        assert final.chunks == len(expected) == index.vector_count()
        assert final.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert final.lines == load_file(path, MB).lines
        assert _found(index, "quokkaharbour")
        again = await docs.add([path])
        assert again.unchanged == [str(path)] and again.chunks == 0
    finally:
        docs.close()


@pytest.mark.parametrize("change", ["file", "chunk size"])
async def test_a_partial_file_starts_over_when_the_file_or_the_settings_changed(
    engine: LlamaCppEngine, tmp_path: Path, change: str
) -> None:
    path = _journal(tmp_path / "journal.txt")
    settings = _settings()
    workspace = Workspace.open("big")
    docs = Documents(workspace, engine, settings)
    try:
        await _stopped_run(docs, path, after=8)
        if change == "file":
            _journal(path, seed=4, first="walrusferry")
        else:
            settings.rag.chunk_tokens = 40
        expected = _whole(path, settings)
        report = await docs.add([path])
        assert report.added == [str(path)] and report.chunks == len(expected)
        index = await docs.index()
        assert [c.text for c in index.chunks_of(str(path))] == [c.text for c in expected]
        assert index.chunk_count() == index.vector_count() == len(expected)
        assert _found(index, "walrusferry") == (change == "file")
    finally:
        docs.close()


async def test_batches_are_committed_while_the_file_is_still_being_indexed(
    engine: LlamaCppEngine, tmp_path: Path
) -> None:
    path = _journal(tmp_path / "journal.txt")
    settings = _settings()
    total = len(_whole(path, settings))
    workspace = Workspace.open("big")
    docs = Documents(workspace, engine, settings)
    seen: list[tuple[str, int]] = []
    try:
        index = await docs.index()
        embedder = await docs.embedder()
        embedder.batch_size = 8
        indexer = Indexer(index, embedder, settings, commit_every_s=0.0)
        snapshots: list[IndexProgress] = []

        def progress(p: IndexProgress) -> None:
            snapshots.append(p)
            if p.phase == "indexing" and p.chunks_done:
                with DocumentIndex.open(workspace.index_dir) as other:  # a second reader
                    record = other.document(str(path))
                    if record is not None:
                        seen.append((record.status, record.chunks))

        report = await indexer.run([path], progress)
        assert report.added == [str(path)]
        committed = [chunks for status, chunks in seen if status == "partial"]
        assert any(0 < chunks < total for chunks in committed), seen
        assert committed == sorted(committed)
        moving = [p for p in snapshots if p.phase == "indexing" and p.chunks_done]
        assert moving and all(p.bytes_total == path.stat().st_size for p in moving)
        assert all(0 < p.bytes_done <= p.bytes_total and p.chunks_total for p in moving)
        assert snapshots[-1].phase == "done" and snapshots[-1].fraction == 1.0
    finally:
        docs.close()


def _same_as_whole(index: DocumentIndex, path: Path, expected: list[Chunk]) -> None:
    """The stored chunks are exactly a whole-file index's, each with its own vector."""
    stored = index.chunks_of(str(path))
    assert [(c.text, c.line_start, c.line_end) for c in stored] == [
        (c.text, c.line_start, c.line_end) for c in expected]
    assert index.chunk_count() == index.vector_count() == len(expected)
    record = index.document(str(path))
    assert record is not None and record.status == "indexed" and record.chunks == len(expected)
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("edit", ["grown", "middle", "shorter"])
async def test_an_edited_file_keeps_its_unchanged_start_and_embeds_the_rest(
    engine: LlamaCppEngine, tmp_path: Path, edit: str
) -> None:
    path = _journal(tmp_path / "journal.txt")
    settings = _settings()
    workspace = Workspace.open("big")
    docs = Documents(workspace, engine, settings)
    try:
        first = await docs.add([path])
        index = await docs.index()
        before = index.chunks_of(str(path))
        assert first.added == [str(path)] and first.chunks == len(before) > 24
        text = path.read_text(encoding="utf-8")
        paragraphs = text.split("\n\n")
        if edit == "grown":
            text += "\nThe narwhalferry was added to the timetable on Friday.\n"
        elif edit == "middle":
            paragraphs[20] = "The narwhalferry replaced this whole paragraph."
            text = "\n\n".join(paragraphs)
        else:
            text = "\n\n".join(paragraphs[:12]) + "\n"
        path.write_text(text, encoding="utf-8")
        expected = _whole(path, settings)

        report = await docs.add([path])
        assert report.updated == [str(path)] and not report.partial
        assert 0 < report.kept <= len(before) and report.kept + report.chunks == len(expected)
        if edit == "grown":
            assert report.kept >= len(before) - 2
        if edit == "shorter":
            assert report.chunks <= 2
        after = index.chunks_of(str(path))
        assert [c.id for c in after[: report.kept]] == [c.id for c in before[: report.kept]]
        _same_as_whole(index, path, expected)
        assert _found(index, "narwhalferry") == (edit != "shorter")
        kept = index.vectors_of(str(path))
        fresh = await engine.embed(list(kept))
        assert np.allclose(np.vstack(list(kept.values())), np.asarray(fresh), atol=1e-5)
    finally:
        docs.close()


async def test_a_stop_after_the_unchanged_start_goes_on_from_there(
    engine: LlamaCppEngine, tmp_path: Path
) -> None:
    path = _journal(tmp_path / "journal.txt")
    settings = _settings()
    workspace = Workspace.open("big")
    docs = Documents(workspace, engine, settings)
    try:
        await docs.add([path])
        paragraphs = path.read_text(encoding="utf-8").split("\n\n")
        paragraphs[8] = "The narwhalferry replaced this paragraph."
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")
        expected = _whole(path, settings)
        await _stopped_run(docs, path, after=8)
        index = await docs.index()
        record = index.document(str(path))
        assert record is not None and record.status == "partial"
        assert index.chunk_count() == index.vector_count() == record.chunks < len(expected)
        report = await docs.add([path])
        assert report.added == [str(path)] and report.chunks == len(expected) - record.chunks
        _same_as_whole(index, path, expected)
    finally:
        docs.close()
