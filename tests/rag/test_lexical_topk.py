"""Keyword search scores only the rows that can make the top k, and returns exactly
what the full FTS5 query returns (same chunks, same BM25 scores, same order).

Work is counted as SQLite VM instructions (a progress handler called on each):
every row an FTS5 query scores passes through a few of them on its way to the
sorter, so they count rows scored.
"""

from __future__ import annotations

import numpy as np
import pytest

from offyai_tui.rag import lexical
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.rag.retriever import fts_query
from offyai_tui.settings.workspace import Workspace

WORDS = [f"w{n}x" for n in range(600)]
WEIGHTS = (2.0, 1.0)


@pytest.fixture
def index() -> DocumentIndex:
    ws = Workspace.open("t").ensure()
    rng = np.random.default_rng(5)
    p = 1.0 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    index = DocumentIndex.open(ws.index_dir)
    identity = EmbeddingIdentity("llamacpp", "m", 4)
    with index.writer() as writer:
        for doc in range(40):
            path = f"/d/{doc}.txt"
            drawn = rng.choice(len(WORDS), size=(100, 30), p=p)
            chunks = [Chunk(path, " ".join(WORDS[w] for w in row), (f"h{doc}",), j + 1, j + 1)
                      for j, row in enumerate(drawn)]
            vectors = np.ones((100, 4), dtype=np.float32) / 2
            writer.put_document(DocumentRecord(path, "text", 1, str(doc)), chunks, vectors,
                                identity)
        writer.commit()
    yield index
    index.close()


def _full(index: DocumentIndex, match: str, k: int) -> list[tuple[int, float]]:
    rows = index._db.execute(
        f"SELECT rowid, bm25(chunks_fts, {WEIGHTS[0]:f}, {WEIGHTS[1]:f}) AS s FROM chunks_fts "
        "WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?", (match, k)
    ).fetchall()
    return [(int(r), -float(s)) for r, s in rows]


def _counted(index: DocumentIndex, call):  # type: ignore[no-untyped-def]
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    index._db.set_progress_handler(tick, 1)
    try:
        result = call()
    finally:
        index._db.set_progress_handler(None, 1)
    return result, steps[0]


def _queries() -> list[str]:
    rng = np.random.default_rng(9)
    out = []
    for n in range(60):
        frequent = [WORDS[int(i)] for i in rng.integers(0, 4, size=1 + n % 3)]
        rare = [WORDS[int(i)] for i in rng.integers(40, 600, size=n % 4)]
        out.append(" ".join(frequent + rare))
    return out


def test_keyword_top_k_is_the_full_querys(
    index: DocumentIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "MIN_COMMON", 100)  # a small index has the same shape
    shortcut_taken = 0
    for text in _queries():
        match = fts_query(text)
        got = index.search_lexical(match, 10, WEIGHTS)
        want = _full(index, match, 10)
        assert [i for i, _ in got] == [i for i, _ in want], text
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9), text
        rows = lexical.fts_rows(index._db)
        shortcut_taken += lexical.top_k(index._db, match, 10, WEIGHTS, rows) is not None
    assert lexical.fts_rows(index._db) == index.chunk_count() == 4000
    assert 15 <= shortcut_taken < 60  # both paths were checked


def test_a_frequent_word_is_not_scored_in_every_row(
    index: DocumentIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "MIN_COMMON", 100)
    match = fts_query(f"{WORDS[0]} {WORDS[300]} {WORDS[450]}")
    hits = index._db.execute(
        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)
    ).fetchone()[0]
    assert hits > 2000  # the frequent word is in most chunks
    got, quick = _counted(index, lambda: index.search_lexical(match, 10, WEIGHTS))
    want, full = _counted(index, lambda: _full(index, match, 10))
    assert got == pytest.approx(want)
    assert quick * 5 < full, (quick, full)


def test_the_second_step_scores_only_rows_the_first_did_not(
    index: DocumentIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the first step's k-th score is under the frequent words' bound, the
    demoted words' rows that hold a rare word were scored already: the second step
    excludes them and the merged result is still the full query's."""
    monkeypatch.setattr(lexical, "MIN_COMMON", 100)
    real = lexical._candidates
    seconds: list[tuple[list[str], list[str]]] = []

    def spy(db, sql, rare, common, k, without=None):  # type: ignore[no-untyped-def]
        if without:
            seconds.append((rare, without))
        return real(db, sql, rare, common, k, without)

    monkeypatch.setattr(lexical, "_candidates", spy)
    for text in _queries():
        match = fts_query(text)
        before = len(seconds)
        got = index.search_lexical(match, 10, WEIGHTS)
        want = _full(index, match, 10)
        assert [i for i, _ in got] == [i for i, _ in want], text
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9), text
        for demoted, rare in seconds[before:]:
            assert not set(demoted) & set(rare)
            excluded = index._db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                (f"({' OR '.join(demoted)}) NOT ({' OR '.join(rare)})",),
            ).fetchone()[0]
            overlap = index._db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                (f"({' OR '.join(demoted)}) AND ({' OR '.join(rare)})",),
            ).fetchone()[0]
            assert excluded and overlap  # rows were left out, and some are still new
    assert seconds  # the second step ran
