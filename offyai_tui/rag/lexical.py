"""Exact BM25 top-k for "any of these words" without scoring every chunk that has a
common word.

FTS5 computes ``bm25()`` for every row an expression matches before it can sort:
at a million chunks a query with one frequent word scores 100,000 rows (about
0.65 us each here), which made keyword search p95 over 100 ms. Frequent words
weigh little (BM25's idf), so the best chunks almost always hold a rarer word.
This is MaxScore, done with FTS5's own scoring:

1. Count each word's chunks (a doclist walk, about 40x cheaper than scoring).
2. Split the words into the rare ones and up to three frequent ones.
3. Ask FTS5 for the top k of "a rare word and some frequent word" and of "a rare
   word and no frequent word" (``(r1 OR r2) AND (c1 OR c2)``, ``(r1 OR r2) NOT (c1
   OR c2)``): each expression holds each word exactly once, so ``bm25()`` gives the
   same score as the full OR query, but only rows with a rare word are scored.
   Two statements, not one per present/absent pattern of the frequent words (2**n,
   as before): each statement walks the rare words' doclists again and makes
   ``bm25()`` count every word's rows again for its idf, which was half the time
   of a query on bench/rag.py's 100,000-chunk index (both forms interleaved in one
   run: keyword p50 37 -> 20 ms, p95 84 -> 55 ms; same rows, same scores).
4. A chunk with no rare word scores at most ``idf(c) * (k1 + 1)`` summed over the
   frequent words (BM25 saturates there). If the k-th score found reaches that
   bound, the result is the full query's. If not, the least frequent of the
   frequent words join the rare ones until the bound is under that k-th score
   (which only grows as more rows are scored), and step 3 runs again for the rows
   holding one of those words and no rare word (``... NOT (r1 OR r2)``): the rows
   with a rare word are scored already, exactly, and keep their place (scoring them
   again, as before, cost bench/rag.py's 100,000-chunk index, interleaved per query,
   90 queries x 8 rounds: keyword mean 8.7 -> 7.9 ms, p95 21.4 -> 20.2 ms; same rows,
   same scores). With no frequent word left, the caller runs the full query.
"""

from __future__ import annotations

import math
import re
import sqlite3

K1 = 1.2
"""FTS5's bm25 k1 (fixed in SQLite)."""
COMMON_SHARE = 0.01
"""A word in more than this share of the chunks is a frequent one..."""
MIN_COMMON = 2000
"""...and in more chunks than this (below it, scoring everything is cheap)."""
MAX_COMMON = 3
"""Frequent words handled; more frequent ones count as rare (more did not pay:
the bound then fails more often and a second pass runs)."""

_PHRASE = re.compile(r'"(?:[^"]|"")*"')


def or_phrases(match: str) -> list[str] | None:
    """The quoted words of an ``"a" OR "b"`` expression (``retriever.fts_query``), else None."""
    parts = [p.strip() for p in match.split(" OR ")]
    if not all(_PHRASE.fullmatch(p) for p in parts):
        return None
    return list(dict.fromkeys(parts))


def idf(hits: int, rows: int) -> float:
    """FTS5's idf, floor included."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0 else 1e-6


def phrase_hits(
    db: sqlite3.Connection, phrases: list[str], counts: dict[str, int] | None = None
) -> dict[str, int]:
    """Rows holding each FTS5 phrase. ``counts`` (phrase -> rows) is read and filled, so
    the callers of one query (this shortcut, coverage's idf) count each word once."""
    counts = {} if counts is None else counts
    for p in phrases:
        if p not in counts:
            counts[p] = db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (p,)
            ).fetchone()[0]
    return {p: counts[p] for p in phrases}


def top_k(
    db: sqlite3.Connection, match: str, k: int, weights: tuple[float, float], rows: int,
    counts: dict[str, int] | None = None,
) -> list[tuple[int, float]] | None:
    """The full OR query's top ``k`` (rowid, bm25 as FTS5 gives it: smaller is better),
    or None when the shortcut does not apply or cannot prove its result; ``counts``
    as in :func:`phrase_hits`."""
    phrases = or_phrases(match)
    if not phrases or len(phrases) < 2 or k <= 0:
        return None
    hits = phrase_hits(db, phrases, counts)
    threshold = max(MIN_COMMON, COMMON_SHARE * rows)
    common = sorted((p for p in phrases if hits[p] > threshold), key=hits.get, reverse=True)
    common = common[:MAX_COMMON]
    rare = [p for p in phrases if p not in common]
    if not common or not rare:
        return None
    bound = {p: idf(hits[p], rows) * (K1 + 1) for p in common}
    sql = (f"SELECT rowid, bm25(chunks_fts, {weights[0]:f}, {weights[1]:f}) AS s "
           "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?")
    found = _candidates(db, sql, rare, common, k)
    if len(found) < k:
        return None
    if sum(bound.values()) > -found[k - 1][0]:
        # Keep as frequent only the most frequent words whose bounds stay under the
        # k-th score found (a lower bound of the true one); the others become rare.
        kept: list[str] = []
        for phrase in common:
            if sum(bound[p] for p in kept) + bound[phrase] > -found[k - 1][0]:
                break
            kept.append(phrase)
        if not kept:
            return None
        demoted = [p for p in common if p not in kept]
        # The rows holding a rare word are scored already (exactly, and they stay in
        # ``found``); only those holding a demoted word and no rare one are new.
        found += _candidates(db, sql, demoted, kept, k, without=rare)
        found.sort()
    return [(r, s) for s, r in found[:k]]


def _candidates(
    db: sqlite3.Connection, sql: str, rare: list[str], common: list[str], k: int,
    without: list[str] | None = None,
) -> list[tuple[float, int]]:
    """The best ``k`` rows holding a rare word (and none of ``without``), exactly
    scored, best (smallest) first.

    The rows with some frequent word and those with none are disjoint and together
    every row with a rare word; in both expressions a frequent word a row lacks adds
    nothing to its score, as in the full query. ``without`` words are in the
    expression too (behind NOT), so each of the query's words is in it exactly once
    and ``bm25()`` still gives the full query's score."""
    any_rare = "(" + " OR ".join(rare) + ")"
    if without:
        any_rare = f"({any_rare} NOT (" + " OR ".join(without) + "))"
    any_common = "(" + " OR ".join(common) + ")"
    found: list[tuple[float, int]] = []
    for expression in (f"{any_rare} AND {any_common}", f"{any_rare} NOT {any_common}"):
        found += [(float(s), int(r)) for r, s in db.execute(sql, (expression, k))]
    found.sort()
    return found


def fts_rows(db: sqlite3.Connection) -> int:
    """Rows of the FTS5 table as its bm25 counts them (its averages record, no scan)."""
    row = db.execute("SELECT block FROM chunks_fts_data WHERE id = 1").fetchone()
    value = 0
    for n, byte in enumerate(bytes(row[0]) if row else b""):  # an SQLite varint
        if n == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return value
