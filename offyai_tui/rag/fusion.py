"""Fusing lexical and vector evidence into one ranking.

Measured on the dbpedia bench set (bench/rag.py), the obvious fusions lose to
the dense retriever alone: reciprocal-rank fusion and weighted sums of
normalized BM25 and cosine scores all let BM25's mistakes on long,
natural-language questions (a document repeating "married" outranks the one
about the married monarch) outvote the better dense ranking.

What helps is asking the lexical side a calibrated question instead of
comparing raw BM25 scores: *how much of the query does this chunk contain?*
Coverage is the IDF-weighted share of the query's content words present in
the chunk, so it is 1.0 only when every term, rare ones included, is there,
and it means the same thing for every query. The fusion re-ranks the dense
top candidates (plus BM25's very best few, for exact names and codes the
embedder misses) by a weighted sum of scaled cosine and coverage.

How much that is worth, honestly: on the bench set (40 queries) the hybrid
leads dense alone by +0.010 nDCG@10 (16 better, 11 worse, 13 same; paired
bootstrap 95% interval -0.003 to +0.025), and the defaults below are the best
point of their own grid, so 5-fold cross-validation of that grid scores it
like dense alone (0.517). Measured and left out because none beat dense alone
under cross-validation: Rocchio pseudo-relevance feedback on the query vector
(from dense or fused top results, fixed or similarity-gated depth: best grid
point 0.540, cross-validated 0.518-0.527), RM3 expansion of BM25 (from BM25 or
fused feedback), feedback from BM25's top chunks, 64-token chunks (dense 0.500,
BM25 0.411), a second vector per title, embedding the text without its title
header (0.505: the header stays), stemmed, header-weighted and bigram
coverage, hubness correction, z-score/min-max/weighted-RRF fusions, and a
linear ranker over cosine, feedback cosine, BM25, coverage and title matches
(0.530 fitted on all queries, 0.50 cross-validated). The lexical signals carry
little that MiniLM lacks here; the gap to hosted embedders (0.73-0.81) is the
embedding model (``rag.embedding_model`` picks another one).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class FusionConfig:
    """Fusion parameters (chosen on the dbpedia bench set; see bench/rag.py)."""

    dense_weight: float = 0.7
    """Share of the scaled cosine in the fused score; the rest is coverage."""
    dense_candidates: int = 30
    """Dense results re-ranked by the fusion; results beyond keep dense order."""
    lexical_candidates: int = 3
    """BM25's best results added to the candidates even if dense missed them."""
    header_weight: float = 2.0
    """BM25 weight of the title and heading path against 1.0 for the text."""


def fold(text: str) -> str:
    """Lowercase without accents: "Café" -> "cafe"."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def _strip_plural(word: str) -> str:
    if len(word) > 4 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def normalize_word(word: str) -> str:
    """Folded, plural "s" stripped: "Cafés" and "cafe" agree."""
    return _strip_plural(fold(word))


def words_of(text: str) -> set[str]:
    return {_strip_plural(w) for w in set(_WORD.findall(fold(text)))}


def coverage(
    terms: Iterable[str], texts: Mapping[int, str], frequencies: Mapping[str, int], total: int
) -> dict[int, float]:
    """IDF-weighted share of ``terms`` found in each text (1.0: all of them).

    Args:
        terms: Query content words.
        texts: Candidate id -> the text that was indexed (header and body).
        frequencies: Chunks containing each term, from the index.
        total: Chunks in the index.
    """
    weights: dict[str, float] = {}
    for term in terms:
        df = frequencies.get(term, 0)
        key = normalize_word(term)
        weights[key] = max(weights.get(key, 0.0), math.log((total - df + 0.5) / (df + 0.5) + 1))
    norm = sum(weights.values())
    if norm <= 0:
        return dict.fromkeys(texts, 0.0)
    out = {}
    for key, text in texts.items():
        present = words_of(text)
        out[key] = sum(w for term, w in weights.items() if term in present) / norm
    return out


def scale(scores: dict[int, float]) -> dict[int, float]:
    """Min-max scaling to [0, 1] over the candidates (all equal: all 1.0)."""
    if not scores:
        return {}
    top, low = max(scores.values()), min(scores.values())
    span = top - low
    if span <= 1e-12:
        return dict.fromkeys(scores, 1.0)
    return {key: (value - low) / span for key, value in scores.items()}


def fuse(
    coverage: dict[int, float], dense: dict[int, float], config: FusionConfig
) -> list[tuple[int, float]]:
    """Candidates ordered by fused score, best first.

    Args:
        coverage: Query coverage in [0, 1] of every candidate (missing = 0).
        dense: Cosine similarity of every candidate.
        config: Weights.
    """
    scaled = scale(dense)
    weight = min(1.0, max(0.0, config.dense_weight))
    fused = {
        key: weight * scaled[key] + (1 - weight) * coverage.get(key, 0.0) for key in dense
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def rrf(*rankings: list[int], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion, kept as the baseline the bench compares against."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
