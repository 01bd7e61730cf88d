"""Scoring retrieval runs: BEIR data and judgments, nDCG/recall, paired bootstrap.

Split from bench/rag.py, which indexes and queries; this module only reads
files and does arithmetic, so it is tested without an engine.

Judgments: a corpus's own ``qrels/test.tsv`` is ``published``. When
``bench/data/<corpus>-qrels.corrected.tsv`` exists (see bench/data/README.md:
business-reports' published file is shifted), it is ``corrected`` and is the
set the corpus's figures stand on; both are printed, each labelled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CORRECTIONS = Path(__file__).resolve().parent / "data"

Qrels = dict[str, dict[str, int]]


def ndcg_at(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains, as BEIR computes it (linear gain, log2 discount)."""
    dcg = sum(gains.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: Sequence[str], gains: dict[str, int], k: int = 10) -> float:
    relevant = {doc for doc, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def read_qrels(path: Path) -> Qrels:
    """``query-id<TAB>corpus-id<TAB>score`` after a header line."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            if line.strip():
                qid, did, score = line.rstrip("\n").split("\t")
                qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def judgment_files(data: Path) -> dict[str, Path]:
    """``published`` (the corpus's own), then ``corrected`` when bench/data has one."""
    files = {"published": data / "qrels" / "test.tsv"}
    corrected = CORRECTIONS / f"{data.name}-qrels.corrected.tsv"
    if corrected.is_file():
        files["corrected"] = corrected
    return files


def load_beir(data: Path, limit: int | None) -> tuple[list[dict], dict[str, str], dict[str, Qrels]]:
    """Corpus (the first ``limit`` documents), the queries judged in any set, and each
    judgment set cut to those documents (queries with no relevant one left dropped)."""
    corpus = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8")]
    queries = {
        q["_id"]: q["text"]
        for q in (json.loads(line) for line in (data / "queries.jsonl").open(encoding="utf-8"))
    }
    if limit:
        corpus = corpus[:limit]
    ids = {d["_id"] for d in corpus}
    sets: dict[str, Qrels] = {}
    for name, path in judgment_files(data).items():
        sets[name] = {
            q: {d: g for d, g in rels.items() if d in ids}
            for q, rels in read_qrels(path).items()
            if q in queries and any(g > 0 and d in ids for d, g in rels.items())
        }
    judged = {q for qrels in sets.values() for q in qrels}
    return corpus, {q: t for q, t in queries.items() if q in judged}, sets


def bootstrap_ci(
    diff: Sequence[float], rounds: int = 2000, seed: int = 0, level: float = 95.0
) -> tuple[float, float]:
    """Paired bootstrap interval of the mean per-query difference.

    Queries are resampled with replacement, each keeping both systems' scores
    (paired): with 40-50 queries a lead whose interval includes 0 is noise,
    whatever the averages say."""
    values = np.asarray(diff, dtype=float)
    if not len(values):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (rounds, len(values)))].mean(axis=1)
    tail = (100.0 - level) / 2
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def duel(a: Sequence[float], b: Sequence[float], rounds: int = 2000) -> dict:
    """Per-query wins, losses and ties of ``a`` over ``b``, and the paired bootstrap
    95% interval of the mean difference."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    low, high = bootstrap_ci(diff, rounds)
    return {
        "better": int((diff > 1e-9).sum()),
        "worse": int((diff < -1e-9).sum()),
        "same": int((abs(diff) <= 1e-9).sum()),
        "mean_diff": round(float(diff.mean()) if len(diff) else 0.0, 4),
        "ci95": [round(low, 4), round(high, 4)],
    }


def evaluate(runs: dict[str, dict[str, list[str]]], qrels: Qrels) -> dict:
    """Scores of every method's document rankings (query id -> ranking) on ``qrels``.

    ``hybrid_vs_best`` compares the hybrid with the better single retriever
    (by mean nDCG@10 on these judgments), per query, with its bootstrap interval.
    """
    qids = [q for q in qrels if all(q in ranked for ranked in runs.values())]
    per_query = {
        name: [ndcg_at(ranked[q], qrels[q]) for q in qids] for name, ranked in runs.items()
    }
    recall = {
        name: [recall_at(ranked[q], qrels[q]) for q in qids] for name, ranked in runs.items()
    }
    scores = {
        name: {
            "ndcg@10": round(float(np.mean(per_query[name])) if qids else 0.0, 4),
            "recall@10": round(float(np.mean(recall[name])) if qids else 0.0, 4),
        }
        for name in runs
    }
    best = max(("bm25", "vector"), key=lambda n: scores[n]["ndcg@10"])
    return {
        "scores": scores,
        "queries": len(qids),
        "best_single": best,
        "hybrid_vs_best": duel(per_query["hybrid"], per_query[best]),
        "hybrid_vs_vector": duel(per_query["hybrid"], per_query["vector"]),
        "per_query_vs_vector": {
            name: duel(per_query[name], per_query["vector"])
            for name in runs if name != "vector"
        },
        "hybrid_vs_bm25": duel(per_query["hybrid"], per_query["bm25"]),
        "per_query_ndcg@10": {
            name: [round(x, 4) for x in values] for name, values in per_query.items()
        },
    }
