"""bench/fusion_fit.py ranks dumped evidence as the retriever does, and reports every fit
on the corpus it was not fitted on."""

from __future__ import annotations

from bench import fusion_fit
from offyai_tui.rag.fusion import FusionConfig


def _query(lexical: list[int], dense: list[int], relevant: str) -> dict:
    ids = set(lexical) | set(dense)
    return {
        "gains": {relevant: 1},
        "doc": {str(i): f"d{i}" for i in ids},
        "lexical": [[i, 10.0 - n] for n, i in enumerate(lexical)],
        "dense": [[i, 0.9 - n / 100] for n, i in enumerate(dense)],
        "dense_all": {str(i): 0.9 - dense.index(i) / 100 if i in dense else 0.1 for i in ids},
        "coverage": {str(i): 0.0 for i in ids},
    }


def test_ranking_pools_both_sides_then_follows_dense_order() -> None:
    query = _query(lexical=[9], dense=list(range(1, 40)), relevant="d9")
    config = FusionConfig(candidates=2, lexical_weight=1.0, agreement_weight=0.0,
                          gap_weight=0.0, coverage_weight=0.0)
    order = fusion_fit.ranking(query, config)
    assert order[0] == 9  # BM25's own find, ranked by its BM25 rank alone
    assert order[1:] == [i for i in range(1, 40) if i != 9]  # each chunk once
    assert fusion_fit.documents(query, [9, 9, 1]) == ["d9", "d1"]


def test_each_fit_is_reported_on_the_other_corpus() -> None:
    lexical_wins = [_query([5, 1], [1, 2, 3, 4, 5], "d5") for _ in range(3)]
    dense_wins = [_query([5, 1], [1, 2, 3, 4, 5], "d1") for _ in range(3)]
    found = fusion_fit.fit({"lex": lexical_wins, "dense": dense_wins})
    assert set(found) == {"fitted on lex", "fitted on dense"}
    lex = found["fitted on lex"]
    assert lex["fit"]["corpus"] == "lex" and lex["held_out"]["corpus"] == "dense"
    assert lex["fit"]["hybrid"] == 1.0  # BM25's first is the relevant one there
    assert found["fitted on dense"]["fit"]["hybrid"] == 1.0
    assert lex["held_out"]["ci95"][0] <= lex["held_out"]["diff"] <= lex["held_out"]["ci95"][1]


def test_the_fit_prefers_weights_safe_at_every_size_then_the_fewest_per_query_terms() -> None:
    import numpy as np

    configs = [
        FusionConfig(agreement_weight=0.4, gap_weight=0.2),  # best at one size, loses at other
        FusionConfig(agreement_weight=0.2),
        FusionConfig(lexical_weight=0.1),
        FusionConfig(lexical_weight=0.2),
    ]
    small = np.array([0.05, 0.02, 0.01, 0.02])
    whole = np.array([-0.01, 0.03, 0.004, 0.001])
    assert fusion_fit.choose(configs, [small, whole]) == 2  # fixed blend, larger floor
    assert fusion_fit.choose(configs, [small]) == 3
    assert fusion_fit.choose(configs, [-small, whole - 1]) == 1  # none safe: best floor
