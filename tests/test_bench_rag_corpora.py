"""bench/rag.py measures every development corpus, and the report shows each one.

A single corpus hid that the fusion tuned on dbpedia lost to vector search on
another kind of document; these tests keep a second corpus from silently
dropping out of ``make bench``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import rag, report


def _beir(folder: Path, queries: int) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        json.dumps({"_id": "d1", "title": "T", "text": "x"}) + "\n", encoding="utf-8"
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": "x"}) + "\n" for i in range(queries)),
        encoding="utf-8",
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq0\td1\t1\n", encoding="utf-8"
    )
    return folder


def test_without_data_every_corpus_under_the_root_is_measured(tmp_path, monkeypatch) -> None:
    _beir(tmp_path / "zeta", 2)
    _beir(tmp_path / "alpha", 3)
    (tmp_path / "notes").mkdir()  # no corpus.jsonl: not a corpus
    monkeypatch.setattr(rag, "DATA_ROOT", tmp_path)
    assert [p.name for p in rag.corpora([])] == ["alpha", "zeta"]
    assert rag.corpora([str(tmp_path / "zeta")]) == [tmp_path / "zeta"]


def test_each_corpus_block_ends_with_its_json_line(capsys) -> None:
    scores = {m: {"ndcg@10": 0.5, "recall@10": 0.6} for m in ("bm25", "vector", "rrf", "hybrid")}
    duel = {"better": 0, "worse": 0, "same": 1, "mean_diff": 0.0, "ci95": [0.0, 0.0]}
    found = {
        "scores": scores, "documents": 1, "chunks": 1, "queries": 1, "queries_total": 5,
        "per_query_vs_vector": {"bm25": duel, "rrf": duel, "hybrid": duel},
        "hybrid_vs_bm25": duel, "index_chunks_per_s": 1.0,
    }
    rag.show_quality("business-reports", found)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "1 of 5 queries judged" in lines[0]
    last = json.loads(lines[-1])
    assert last["corpus"] == "business-reports"
    assert set(last) == {"corpus", "bm25", "vector", "hybrid"}
    assert last["hybrid"] == {"ndcg@10": 0.5, "recall@10": 0.6}


def test_report_shows_every_corpus_and_marks_a_hybrid_below_the_better_part() -> None:
    def quality(bm25: float, vector: float, hybrid: float) -> dict:
        scores = {"bm25": bm25, "vector": vector, "hybrid": hybrid}
        return {
            "documents": 10, "queries": 5,
            "scores": {m: {"ndcg@10": v, "recall@10": v} for m, v in scores.items()},
        }

    rows = report._rag_rows(
        {"corpora": {"dbpedia": quality(0.5, 0.7, 0.7), "reports": quality(0.8, 0.6, 0.75)}}
    )
    ratios = [row for row in rows if row[0].startswith("RAG nDCG@10")]
    assert [r[0].split("(")[1].split(",")[0] for r in ratios] == ["dbpedia", "reports"]
    assert ratios[0][3] == report._mark(True)
    assert ratios[1][3] == report._mark(False)


def test_report_shows_but_never_judges_on_a_corrected_published_set_and_shows_throughput() -> None:
    def quality(hybrid: float) -> dict:
        scores = {"bm25": 0.5, "vector": 0.6, "hybrid": hybrid}
        return {
            "documents": 10, "queries": 5, "best_single": "vector",
            "scores": {m: {"ndcg@10": v, "recall@10": v} for m, v in scores.items()},
            "hybrid_vs_best": {"mean_diff": 0.01, "ci95": [-0.01, 0.03]},
        }

    def setup(rate: float, serial: float, one: float) -> dict:
        return {"chunks_per_s": rate, "vs_serial": serial, "vs_serial_range": [serial, serial],
                "vs_1_thread": one, "vs_1_thread_range": [one - 0.1, one + 0.1]}

    setups = {"serial": setup(14.0, 1.0, 0.7), "1 thread": setup(20.0, 1.43, 1.0),
              "default": setup(30.0, 1.9, 1.5)}
    rows = report._rag_rows({
        "corpora": {"reports (published judgments)": quality(0.1), "reports": quality(0.7)},
        "throughput": {"chunks_per_s": 30.0, "setups": setups, "cpu_ceiling": 1.8},
    })
    ratios = [row for row in rows if row[0].startswith("RAG nDCG@10")]
    assert "published judgments" in ratios[0][0] and ratios[0][3] == ""  # shown, not judged
    assert ratios[1][3] == report._mark(True)
    assert any("+0.010 [-0.010, +0.030]" in row[1] for row in rows)
    default = next(row for row in rows if row[0].strip().startswith("default"))
    assert "x1.90" in default[1] and "x1.50" in default[1] and default[3] == report._mark(False)
    assert "cpu ceiling x1.8" in default[2]
    setups["default"] = setup(42.0, 2.1, 1.5)  # judged against serial indexing
    rows = report._rag_rows({"throughput": {"chunks_per_s": 42.0, "setups": setups}})
    default = next(row for row in rows if row[0].strip().startswith("default"))
    assert default[3] == report._mark(True)
