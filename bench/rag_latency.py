"""Query latency of the retriever over synthetic indexes (bench/rag.py runs it).

Each index reuses a corpus's texts for its chunks with random unit vectors, so
BM25 has real word statistics and the vector scan its real size. Hybrid, vector
alone and BM25 alone run interleaved on the same queries, so a busy moment of
the shared machine weighs on all three alike.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import percentile
from bench.rag_eval import load_beir
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.fusion import FusionConfig
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.rag.retriever import Retriever


def build_synthetic(directory: Path, size: int, texts: list[str], dim: int) -> DocumentIndex:
    """An index of ``size`` chunks: corpus texts reused, random unit vectors."""
    rng = np.random.default_rng(size)
    index = DocumentIndex.open(directory)
    identity = EmbeddingIdentity("synthetic", "random", dim)
    per_doc = 100
    with index.writer() as writer:
        for start in range(0, size, per_doc):
            count = min(per_doc, size - start)
            path = f"/synthetic/{start // per_doc}.md"
            chunks = [
                Chunk(path, texts[(start + j) % len(texts)], (f"Doc {start + j}",), j + 1, j + 1,
                      tokens=64, title=f"Doc {start + j}")
                for j in range(count)
            ]
            vectors = rng.standard_normal((count, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            writer.put_document(DocumentRecord(path, "markdown", 1, "0"), chunks, vectors,
                                identity)
        writer.commit()
    return index


def latency(args: argparse.Namespace, fusion: FusionConfig, data: Path) -> dict:
    """p50/p95 per synthetic index size in ``args.scales``, texts from ``data``."""
    corpus, queries, _ = load_beir(data, None)
    texts = [f"{d.get('title', '')}\n\n{d.get('text', '')}" for d in corpus]
    query_texts = list(queries.values())
    out = {}
    rng = np.random.default_rng(0)
    for size in args.scales:
        with tempfile.TemporaryDirectory(prefix="offyai-bench-rag-") as tmp:
            started = time.perf_counter()
            index = build_synthetic(Path(tmp) / "index", size, texts, 384)
            build = time.perf_counter() - started
            retriever = Retriever(index, None, fusion)
            timings: dict[str, list[float]] = {"hybrid": [], "vector": [], "lexical": []}
            for round_ in range(args.latency_rounds):
                for text in query_texts:
                    vector = rng.standard_normal(384).astype(np.float32)
                    vector /= np.linalg.norm(vector)
                    for mode, spent in timings.items():  # interleaved: same load for each
                        t0 = time.perf_counter()
                        retriever.rank(text, vector, 10, mode)  # type: ignore[arg-type]
                        if round_:  # the first round warms caches
                            spent.append((time.perf_counter() - t0) * 1000)
            index.close()
        found = {
            "chunks": size,
            "p50_ms": round(percentile(timings["hybrid"], 50), 2),
            "p95_ms": round(percentile(timings["hybrid"], 95), 2),
            "build_s": round(build, 1),
        }
        for mode in ("vector", "lexical"):
            found[f"{mode}_p50_ms"] = round(percentile(timings[mode], 50), 2)
            found[f"{mode}_p95_ms"] = round(percentile(timings[mode], 95), 2)
        out[f"{size // 1000}k"] = found
        print(f"  latency at {size} chunks: hybrid p50 {found['p50_ms']} / p95 {found['p95_ms']}"
              f" ms; vector alone {found['vector_p50_ms']} / {found['vector_p95_ms']} ms; "
              f"BM25 alone {found['lexical_p50_ms']} / {found['lexical_p95_ms']} ms",
              file=sys.stderr)
    return out
