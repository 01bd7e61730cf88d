"""Scoring in bench/rag_eval.py, and the corrected business-reports judgments.

The published business-reports judgments were shifted onto the wrong reports;
these tests keep the corrected set reproducible from its reviewed table, keep
both sets labelled in the bench, and check the arithmetic the fusion is judged by.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import rag_eval
from bench.data import business_reports_qrels as brq


def _beir(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "T", "text": "x"} for i in range(3)]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": "x"}) + "\n" for i in range(3))
    )
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td1\t1\n")
    return folder


def test_a_corrected_set_is_loaded_beside_the_published_one(tmp_path, monkeypatch) -> None:
    data = _beir(tmp_path / "reports")
    fixes = tmp_path / "fixes"
    fixes.mkdir()
    (fixes / "reports-qrels.corrected.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq0\td0\t1\nq2\td2\t1\n"
    )
    monkeypatch.setattr(rag_eval, "CORRECTIONS", fixes)
    _, queries, sets = rag_eval.load_beir(data, None)
    assert list(sets) == ["published", "corrected"]
    assert sets["published"] == {"q0": {"d1": 1}}
    assert sets["corrected"] == {"q0": {"d0": 1}, "q2": {"d2": 1}}
    assert set(queries) == {"q0", "q2"}


def test_without_a_correction_only_the_published_set_is_used(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(rag_eval, "CORRECTIONS", tmp_path / "none")
    _, queries, sets = rag_eval.load_beir(_beir(tmp_path / "c"), None)
    assert list(sets) == ["published"] and list(queries) == ["q0"]


def test_ndcg_and_recall_on_a_known_ranking() -> None:
    gains = {"a": 2, "b": 1}
    assert rag_eval.ndcg_at(["a", "b"], gains) == pytest.approx(1.0)
    assert rag_eval.ndcg_at(["x", "a"], gains) < rag_eval.ndcg_at(["a", "x"], gains)
    assert rag_eval.recall_at(["a", "x"], gains) == 0.5


def test_paired_bootstrap_interval_excludes_zero_only_for_a_consistent_lead() -> None:
    steady = [0.05] * 20 + [0.04] * 20
    low, high = rag_eval.bootstrap_ci(steady)
    assert 0.0 < low <= 0.045 <= high < 0.051
    noisy = [0.3, -0.3] * 20
    low, high = rag_eval.bootstrap_ci(noisy)
    assert low < 0.0 < high


def test_evaluate_compares_the_hybrid_with_the_better_part() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    runs = {
        "bm25": {"q1": ["x", "a"], "q2": ["x", "b"]},
        "vector": {"q1": ["a"], "q2": ["x", "b"]},
        "hybrid": {"q1": ["a"], "q2": ["b"]},
    }
    found = rag_eval.evaluate(runs, qrels)
    assert found["best_single"] == "vector"
    assert found["hybrid_vs_best"]["better"] == 1 and found["hybrid_vs_best"]["worse"] == 0


needs_data = pytest.mark.skipif(
    not (brq.DATA / "corpus.jsonl").is_file(), reason="shared bench data not present"
)


@needs_data
def test_the_published_judgments_are_the_first_reports_in_corpus_order() -> None:
    published = rag_eval.read_qrels(brq.DATA / "qrels" / "test.tsv")
    order = list(brq.corpus_reports(brq.DATA))
    judged = [{brq.report_of(p) for p in published[q]} for q in published]
    assert judged == [{order[i]} for i in range(len(published))]
    topics = brq.read_topics()
    same = [q for q in published if {topics[q]} == {brq.report_of(p) for p in published[q]}]
    assert same == ["q_15"]  # the one the shift lands on its own report by coincidence


@needs_data
def test_the_stored_corrected_set_is_what_the_topic_table_generates() -> None:
    stored = rag_eval.read_qrels(brq.OUT)
    generated: dict[str, dict[str, int]] = {}
    for qid, passage, grade in brq.corrected():
        generated.setdefault(qid, {})[passage] = grade
    assert stored == generated
    assert len(stored) == 50
