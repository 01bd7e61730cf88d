"""Fusion arithmetic: coverage weighting, word folding, ordering, and the prompt helpers."""

from __future__ import annotations

import pytest

from offyai_tui.rag.fusion import (
    FusionConfig,
    agreement,
    coverage,
    fuse,
    lexical_share,
    normalize_word,
    rrf,
    scale,
    score_fall,
)
from offyai_tui.rag.retriever import Source, fts_query, query_terms


def test_words_fold_accents_and_plurals() -> None:
    assert normalize_word("Cafés") == normalize_word("cafe") == "cafe"
    assert normalize_word("Monarchies") == "monarchy"
    assert normalize_word("glasses") == "glasse" == normalize_word("glasse")
    assert normalize_word("bus") == "bus" and normalize_word("Texas") == "texa"


def test_rare_terms_weigh_more_in_coverage() -> None:
    texts = {1: "the rare zebra", 2: "a common common word", 3: "zebra and common"}
    found = coverage(["zebra", "common"], texts, {"zebra": 2, "common": 900}, total=1000)
    assert found[3] == pytest.approx(1.0)
    assert found[1] > 0.9 > 0.1 > found[2] > 0.0


def test_fusion_prefers_a_chunk_with_every_query_word_among_close_dense_ranks() -> None:
    cosine = {1: 0.60, 2: 0.58, 3: 0.20}
    config = FusionConfig(lexical_weight=0.0, agreement_weight=0.0, gap_weight=0.0,
                          coverage_weight=0.6)
    fused = fuse([], cosine, [1, 2, 3], {2: 1.0}, config)
    assert [k for k, _ in fused] == [2, 1, 3]
    assert [k for k, _ in fuse([], cosine, [1, 2, 3], {}, config)] == [1, 2, 3]


def test_a_chunk_only_bm25_found_joins_the_pool_by_its_lexical_rank() -> None:
    cosine = {1: 0.60, 2: 0.58, 9: 0.10}
    lexical = [(9, 12.0), (2, 3.0)]
    config = FusionConfig(lexical_weight=0.8, agreement_weight=0.0, gap_weight=0.0,
                          coverage_weight=0.0)
    assert next(k for k, _ in fuse(lexical, cosine, [1, 2], {}, config)) == 9
    dense_led = FusionConfig(lexical_weight=0.1, agreement_weight=0.0, gap_weight=0.0,
                             coverage_weight=0.0)
    assert next(k for k, _ in fuse(lexical, cosine, [1, 2], {}, dense_led)) == 1


def test_the_lexical_share_follows_agreement_and_score_fall() -> None:
    assert agreement([1, 2, 3], [3, 2, 9]) == 0.2
    assert score_fall([10.0, 8.0, 5.0]) == 0.5 and score_fall([]) == 0.0
    config = FusionConfig(lexical_weight=0.1, agreement_weight=0.5, gap_weight=-0.2)
    agreeing = lexical_share([(i, 10.0) for i in range(10)], list(range(10)), config)
    apart = lexical_share([(i, 10.0) for i in range(10)], list(range(10, 20)), config)
    assert agreeing == 0.6 and apart == 0.1
    steep = lexical_share([(0, 10.0), (1, 1.0)], list(range(10, 20)), config)
    assert steep == pytest.approx(0.1 - 0.2 * 0.9) or steep == 0.0
    assert 0.0 <= steep < apart


def test_scale_and_rrf() -> None:
    assert scale({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}
    assert scale({1: 5.0}) == {1: 1.0}
    assert [k for k, _ in rrf([1, 2, 3], [3, 1, 2])] == [1, 3, 2]


def test_query_terms_are_safe_fts_phrases() -> None:
    assert query_terms("What is NEAR(x) -match* x?") == ["near", "x", "match"]
    assert fts_query('say "hi" OR bye', "AND") == '"say" AND "hi" AND "bye"'
    assert fts_query("the of") == '"the" OR "of"'  # only stopwords: keep them


def test_source_label_and_location() -> None:
    source = Source(1, 7, "/d/manual.pdf", "Manual", (), 1, 3, 4, 4, "text", 0.5)
    assert source.label == "manual.pdf, p. 4"
    lines = Source(2, 8, "/d/a.md", "A", ("A", "Setup"), 10, 24, None, None, "t", 0.4)
    assert lines.label == "a.md > A > Setup, lines 10-24"
