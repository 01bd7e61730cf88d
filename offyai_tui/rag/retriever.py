"""Hybrid retrieval: BM25 (SQLite FTS5) and vectors (FAISS), fused, within a token budget.

Results are :class:`Source` objects numbered from 1, in the order a prompt
cites them; each says where it came from (file, heading path, line or page
range) so an answer's ``[2]`` can be checked against the document.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from offyai_tui.rag.documents import location
from offyai_tui.rag.embedder import Embedder
from offyai_tui.rag.errors import IndexCorrupt
from offyai_tui.rag.fts_text import phrase, split_word
from offyai_tui.rag.fusion import FusionConfig, coverage, fuse
from offyai_tui.rag.index import DocumentIndex

Mode = Literal["hybrid", "lexical", "vector"]

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS_TEXT = """
a an and are as at be by did do does for from had has have how i in is it its of on or
that the their there this to was what when where which who whom why will with you your
were been being me my we our they them he she his her than then so not no can could
would should about into over also any all some such only own same too very s t just
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_terms(text: str, limit: int = 24) -> list[str]:
    """The content words of a query, lowercased, in order, without repeats; a run of
    Chinese or Japanese characters gives its character pairs (``fts_text``)."""
    words = [term for w in _WORD.findall(text) for term in split_word(w.lower())]
    content = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(content))[:limit]


def fts_query(text: str, operator: str = "OR") -> str:
    """An FTS5 expression matching any (``OR``) or every (``AND``) content word of
    ``text``; each word is a quoted phrase folded as the index is, so no query syntax
    gets through."""
    words = query_terms(text, 64)
    return f" {operator} ".join(phrase(w) for w in words)


@dataclass(frozen=True)
class Hit:
    """A ranked chunk id with its score and the evidence behind it."""

    chunk_id: int
    score: float
    lexical: float = 0.0
    """BM25 score (lexical mode) or query coverage in [0, 1] (hybrid mode)."""
    dense: float = 0.0
    """Cosine similarity with the query."""


@dataclass(frozen=True)
class Source:
    """One retrieved chunk, numbered for citation as ``[number]``."""

    number: int
    chunk_id: int
    path: str
    title: str
    heading_path: tuple[str, ...]
    line_start: int
    line_end: int
    page_start: int | None
    page_end: int | None
    text: str
    score: float
    tokens: int = 0

    @property
    def location(self) -> str:
        return location(self.line_start, self.line_end, self.page_start, self.page_end)

    @property
    def label(self) -> str:
        """``notes.md > Install > Linux, lines 10-24``: what a sources panel lists."""
        parts = [Path(self.path).name, *self.heading_path]
        return " > ".join(parts) + f", {self.location}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for transcripts."""
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        values = dict(data)
        values["heading_path"] = tuple(values.get("heading_path", ()))
        return cls(**values)


@dataclass
class Retrieval:
    """What one question retrieved (stored in the transcript with the answer)."""

    query: str
    sources: list[Source] = field(default_factory=list)
    mode: Mode = "hybrid"
    elapsed_ms: float = 0.0
    model: str = ""
    note: str = ""
    """Why retrieval ran degraded (e.g. lexical only because no embedder answered)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "model": self.model,
            "note": self.note,
            "sources": [s.to_dict() for s in self.sources],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retrieval:
        return cls(
            query=data.get("query", ""),
            sources=[Source.from_dict(s) for s in data.get("sources", [])],
            mode=data.get("mode", "hybrid"),
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            model=data.get("model", ""),
            note=data.get("note", ""),
        )


class Retriever:
    """Searches one index; the embedder is needed for the vector side only."""

    def __init__(
        self,
        index: DocumentIndex,
        embedder: Embedder | None = None,
        config: FusionConfig | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or FusionConfig()

    def rank(
        self, query: str, vector: np.ndarray | None, k: int, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """The ``k`` best chunks for a query whose vector is already computed."""
        config = self.config
        weights = (config.header_weight, 1.0)
        if mode == "lexical" or vector is None:
            found = self.index.search_lexical(fts_query(query), k, weights)
            return [Hit(i, s, lexical=s) for i, s in found]
        if mode == "vector":
            return [Hit(i, s, dense=s) for i, s in self.index.search_vectors(vector, k)]
        ranked = self.index.search_vectors(vector, max(k, config.candidates))
        counts: dict[str, int] = {}  # each word's rows, counted once for both uses below
        lexical = self.index.search_lexical(
            fts_query(query), config.candidates, weights, counts=counts
        )
        cosine = dict(ranked[: config.candidates])
        cosine.update(self.index.vector_scores(vector, [i for i, _ in lexical if i not in cosine]))
        terms = query_terms(query)
        texts = {i: c.indexed_text() for i, c in self.index.chunks(cosine).items()}
        frequencies = self.index.document_frequencies(terms, counts)
        found = coverage(terms, texts, frequencies, self.index.vector_count())
        fused = fuse(lexical, cosine, [i for i, _ in ranked], found, config)
        hits = [Hit(i, s, found.get(i, 0.0), cosine.get(i, 0.0)) for i, s in fused]
        seen = {i for i, _ in fused}
        hits += [Hit(i, s - 1.0, 0.0, s) for i, s in ranked if i not in seen]
        return hits[:k]

    async def search(self, query: str, k: int, mode: Mode = "hybrid") -> list[Hit]:
        vector = None
        if mode != "lexical":
            if self.embedder is None:
                raise ValueError("vector search needs an embedder")
            self.index.refresh()
            identity = await self.embedder.probe()
            self.index.check_identity(identity)
            if self.index.problem:
                raise IndexCorrupt(self.index.problem)
            vector = await self.embedder.embed_query(query)
        return self.rank(query, vector, k, mode)

    async def retrieve(
        self,
        query: str,
        top_k: int = 6,
        budget_tokens: int | None = None,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        """Numbered sources for ``query``: at most ``top_k``, within ``budget_tokens``.

        Chunks are taken in rank order while they fit the budget; one that does
        not fit is passed over for a smaller one below it, so the budget is used
        without ever cutting a chunk (a cut chunk would cite text it lacks).
        """
        started = time.perf_counter()
        hits = await self.search(query, max(top_k * 3, top_k), mode)
        stored = self.index.chunks(h.chunk_id for h in hits)
        sources: list[Source] = []
        used = 0
        for hit in hits:
            chunk = stored.get(hit.chunk_id)
            if chunk is None:
                continue
            if budget_tokens is not None and used + chunk.tokens > budget_tokens:
                continue
            used += chunk.tokens
            sources.append(
                Source(
                    number=len(sources) + 1, chunk_id=chunk.id, path=chunk.path,
                    title=chunk.title, heading_path=chunk.heading_path,
                    line_start=chunk.line_start, line_end=chunk.line_end,
                    page_start=chunk.page_start, page_end=chunk.page_end,
                    text=chunk.text, score=round(hit.score, 4), tokens=chunk.tokens,
                )
            )
            if len(sources) >= top_k:
                break
        model = self.embedder.model if self.embedder and mode != "lexical" else ""
        elapsed = (time.perf_counter() - started) * 1000
        return Retrieval(query, sources, mode, elapsed, model)
