"""Document retrieval benchmark: quality, indexing throughput, query latency.

    python bench/rag.py [--data DIR ...] [--json] [--limit N]

Without ``--data`` it runs on every BEIR directory under ../shared/bench-data
(dbpedia: short entity descriptions; business-reports: long prose), and each
corpus's block ends with one JSON line: ``{"corpus", "judgments", "bm25",
"vector", "hybrid"}``, each with nDCG@10 and recall@10. A corpus whose published
judgments bench/data corrects is scored on both sets, the published one first
and labelled ``NAME (published judgments)`` (see bench/rag_eval.py).

Quality: a BEIR-format directory (corpus.jsonl, queries.jsonl, qrels/test.tsv)
is indexed through the app's own pipeline: every corpus document is written as
a Markdown file (``# title`` then the text), and those files go through the
loader, the chunker, the bundled embedder on the llama.cpp engine and the
index, exactly as ``offyai index`` would. Each query then runs BM25 alone,
vectors alone and the hybrid fusion; a document scores as its best chunk.
nDCG@10 and recall@10 are printed for all three (plus reciprocal-rank fusion),
with paired bootstrap 95% intervals of the per-query differences. With two
corpora or more, the fusion weights are fitted on each and reported on the
others (bench/fusion_fit.py).

Throughput: chunks per second for a fresh sample of documents indexed end to
end (load, chunk, embed, commit) with no cache, in interleaved rounds: indexing
before the pool (one thread, one batch at a time: ``serial``), today's
pipeline on one thread, one worker with two threads and the default pool; each
as a ratio to the first two figures of its round. Each round also measures the CPU ceiling: the work
two busy processes do against one at that moment (2.0 on two free cores; the shared
machine often gives less), which bounds what any pool can show.

Latency: p50/p95 of a hybrid query (BM25 + vector search + fusion, query
embedding excluded) over synthetic indexes of 10k and 100k chunks, with vector
and BM25 alone measured interleaved (bench/rag_latency.py).

Embeddings are cached by text hash and model in ``bench/.cache/rag`` so that
tuning runs are quick. Vectors are deterministic, so the cache changes no
quality figure; throughput is always measured on uncached text.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fusion_fit
from bench.common import emit_json, record
from bench.rag_eval import evaluate, load_beir
from bench.rag_latency import latency
from offyai_tui.engines.base import Engine, Health, ModelInfo
from offyai_tui.engines.llamacpp import LlamaCppEngine, physical_cores
from offyai_tui.rag import batcher
from offyai_tui.rag.fusion import FusionConfig, coverage, rrf
from offyai_tui.rag.indexer import throttle_progress
from offyai_tui.rag.retriever import Retriever, fts_query, query_terms
from offyai_tui.rag.service import Documents
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace

CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "rag"
DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "bench-data"
"""Every directory here holding a corpus.jsonl is a development corpus."""
DEPTH = 100
"""Chunks retrieved per query before grouping them into documents."""


# -- data ------------------------------------------------------------------------------


def write_corpus(corpus: list[dict], folder: Path) -> dict[str, str]:
    """One Markdown file per document; returns file path -> document id."""
    paths = {}
    for i, doc in enumerate(corpus):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", doc["_id"].strip("<>").split(":", 1)[-1])[:80]
        path = folder / f"{i:05d}-{stem or 'doc'}.md"
        title = " ".join(doc.get("title", "").split())
        body = doc.get("text", "").strip()
        path.write_text(f"# {title}\n\n{body}\n" if title else f"{body}\n", encoding="utf-8")
        paths[str(path.resolve())] = doc["_id"]
    return paths


# -- engine --------------------------------------------------------------------------


def make_engine(threads: int) -> Engine:
    """The llama.cpp engine with the bundled embedder, as the app runs it."""
    settings = Settings()
    settings.llamacpp.n_threads = threads
    return LlamaCppEngine(settings)


class CachedEmbeddings(Engine):
    """Wraps an engine: embeddings already computed for (model, text) come from disk."""

    def __init__(self, inner: Engine, path: Path) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.IMPLEMENTS_EMBED = True
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vec BLOB)")
        self.hits = self.misses = 0

    async def health(self) -> Health:
        return await self.inner.health()

    async def list_models(self) -> list[ModelInfo]:
        return await self.inner.list_models()

    def stream_chat(self, messages, options):  # type: ignore[no-untyped-def]
        return self.inner.stream_chat(messages, options)

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        keys = [hashlib.sha256(f"{model}\0{t}".encode()).hexdigest() for t in texts]
        found = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = self.db.execute(
                f"SELECT key, vec FROM v WHERE key IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update(rows)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = await self.inner.embed([texts[i] for i in todo], model=model)
            for i, vector in zip(todo, fresh):
                blob = np.asarray(vector, dtype=np.float32).tobytes()
                found[keys[i]] = blob
                self.db.execute("INSERT OR REPLACE INTO v VALUES (?, ?)", (keys[i], blob))
            self.db.commit()
        return [np.frombuffer(found[k], dtype=np.float32).tolist() for k in keys]

    async def aclose(self) -> None:
        self.db.close()
        await self.inner.aclose()


def _progress(prefix: str):
    def show(p) -> None:  # type: ignore[no-untyped-def]
        eta = f", ETA {p.eta_s:.0f} s" if p.eta_s else ""
        print(
            f"  {prefix} {p.phase}: {p.files_done}/{p.files_total} files, {p.chunks_done} chunks,"
            f" {p.chunks_per_s:.1f} chunks/s{eta}",
            file=sys.stderr,
        )

    return throttle_progress(show, 2.0)


# -- quality -------------------------------------------------------------------------


def _docs_ranking(hits, chunk_paths: dict[int, str], path_ids: dict[str, str]) -> list[str]:
    ranked: list[str] = []
    for chunk_id in hits:
        doc = path_ids.get(chunk_paths.get(chunk_id, ""))
        if doc and doc not in ranked:
            ranked.append(doc)
    return ranked


def corpora(data: Sequence[str]) -> list[Path]:
    """The corpora named on the command line, else every one under DATA_ROOT."""
    if data:
        return [Path(d) for d in data]
    return sorted(p.parent for p in DATA_ROOT.glob("*/corpus.jsonl"))


async def quality(
    args: argparse.Namespace, engine: Engine, fusion: FusionConfig, data: Path
) -> tuple[list[tuple[str, dict]], list[dict]]:
    """The corpus indexed once and queried once; scored on each judgment set.

    Returns (label, figures) per set, the set the corpus stands on last (its
    plain name, or ``NAME (published judgments)`` for a published set that
    bench/data corrects, see bench/rag_eval.py), and each judged query's
    evidence for fitting the fusion."""
    corpus, queries, judgments = load_beir(data, args.limit)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="offyai-bench-rag-") as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        path_ids = write_corpus(corpus, folder)
        workspace = Workspace("bench", Path(tmp) / "workspace")
        docs = Documents(workspace, engine, settings, fusion)
        started = time.perf_counter()
        report = await docs.add([folder], _progress("quality"))
        wall = time.perf_counter() - started
        print(f"  indexed: {report.summary()}", file=sys.stderr)
        index = await docs.index()
        embedder = await docs.embedder()
        chunk_paths = {c.id: c.path for batch in index.iter_chunks(2048) for c in batch}
        retriever = Retriever(index, embedder, fusion)
        runs: dict[str, dict[str, list[str]]] = {"bm25": {}, "vector": {}, "hybrid": {},
                                                 "rrf": {}}
        dumps: list[dict] = []
        gold = judgments.get("corrected") or judgments["published"]
        for qid, text in queries.items():
            vector = await embedder.embed_query(text)
            lexical = [h.chunk_id for h in retriever.rank(text, vector, DEPTH, "lexical")]
            dense = [h.chunk_id for h in retriever.rank(text, vector, DEPTH, "vector")]
            hybrid = [h.chunk_id for h in retriever.rank(text, vector, DEPTH, "hybrid")]
            fused = [i for i, _ in rrf(lexical, dense)]
            if qid in gold:  # the evidence bench/fusion_fit.py fits on
                dumps.append(_evidence(retriever, text, vector, chunk_paths, path_ids, gold[qid]))
            for name, hits in (("bm25", lexical), ("vector", dense), ("hybrid", hybrid),
                               ("rrf", fused)):
                runs[name][qid] = _docs_ranking(hits, chunk_paths, path_ids)
        docs.close()
    dumps = json.loads(json.dumps(dumps))  # as fusion_fit reads it back from a file
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        (Path(args.dump) / f"{data.name}.json").write_text(json.dumps(dumps))
    common = {
        "documents": len(corpus),
        "queries_total": sum(1 for _ in (data / "queries.jsonl").open(encoding="utf-8")),
        "chunks": report.chunks,
        "index_wall_s": round(wall, 1),
        "index_chunks_per_s": round(report.chunks / wall, 2) if wall else 0.0,
    }
    out = []
    for name, qrels in judgments.items():
        label = data.name if name == list(judgments)[-1] else f"{data.name} ({name} judgments)"
        out.append((label, {**common, "judgments": name, **evaluate(runs, qrels)}))
    return out, dumps


def _evidence(retriever: Retriever, text: str, vector, chunk_paths, path_ids, gains) -> dict:
    """Both sides' top lists with scores and query coverage, for fitting a fusion offline."""
    index = retriever.index
    lexical = index.search_lexical(fts_query(text), DEPTH, (retriever.config.header_weight, 1.0))
    dense = index.search_vectors(vector, DEPTH)
    ids = {i for i, _ in lexical} | {i for i, _ in dense}
    terms = query_terms(text)
    texts = {i: c.indexed_text() for i, c in index.chunks(ids).items()}
    found = coverage(terms, texts, index.document_frequencies(terms), index.vector_count())
    return {
        "query": text,
        "terms": len(terms),
        "gains": gains,
        "doc": {i: path_ids.get(chunk_paths.get(i, ""), "") for i in ids},
        "lexical": lexical,
        "dense": dense,
        "dense_all": index.vector_scores(vector, sorted(ids)),
        "coverage": found,
    }


# -- throughput ----------------------------------------------------------------------


THROUGHPUT_SETUPS = {
    "serial": (1, 1, 1),
    "1 thread": (1, 1, batcher.IN_FLIGHT),
    "1 worker, 2 threads": (1, 2, batcher.IN_FLIGHT),
    "default": (0, 0, batcher.IN_FLIGHT),
}
"""Label -> llamacpp (n_threads, n_threads_batch) and batches out at once.
``serial`` is the single worker on one thread with each batch awaited before the
next files were read (indexing before the pool: 19-28 chunks/s on a loaded
machine); the goal is the default at twice its figure. ``1 thread`` is today's
pipeline on one thread; ``1 worker, 2 threads`` is the single worker given a thread
per core (the default just before the pool); ``default`` is what the app does now
(one single-threaded worker per core, each taking pieces of a batch as it is free)."""
BASELINES = {"vs_serial": "serial", "vs_1_thread": "1 thread"}


async def _index_sample(sample: list[dict], setup: tuple[int, int, int]) -> dict:
    """Chunks/s indexing ``sample`` end to end with a fresh engine, model load excluded."""
    settings = Settings()
    settings.llamacpp.n_threads, settings.llamacpp.n_threads_batch, in_flight = setup
    engine = LlamaCppEngine(settings)
    shipped, batcher.IN_FLIGHT = batcher.IN_FLIGHT, in_flight
    try:
        with tempfile.TemporaryDirectory(prefix="offyai-bench-rag-") as tmp:
            folder = Path(tmp) / "corpus"
            folder.mkdir()
            write_corpus(sample, folder)
            docs = Documents(Workspace("throughput", Path(tmp) / "ws"), engine, settings)
            embedder = await docs.embedder()
            await embedder.probe()  # model load is not indexing time...
            await embedder.embed(["warm"] * 8)  # ...nor starting the pool's workers
            started = time.perf_counter()
            report = await docs.add([folder])
            wall = time.perf_counter() - started
            docs.close()
    finally:
        batcher.IN_FLIGHT = shipped
        await engine.aclose()
    return {"chunks": report.chunks, "wall_s": wall}


def _spin(seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Count loop turns for ``seconds``: one busy core's worth of work."""
    end, turns = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        turns += 1
    out.put(turns)


def cpu_ceiling(seconds: float = 1.0) -> float:
    """Work two busy processes get done against one, right now: the most two
    single-threaded workers can gain on this machine at this moment (2.0 on two idle
    cores; less while other work holds a core). Indexing ratios are read against it."""
    def work(processes: int) -> int:
        out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        procs = [multiprocessing.Process(target=_spin, args=(seconds, out))
                 for _ in range(processes)]
        for proc in procs:
            proc.start()
        total = sum(out.get() for _ in procs)
        for proc in procs:
            proc.join()
        return total

    one = work(1)
    return work(2) / one if one else 0.0


async def throughput(args: argparse.Namespace) -> dict:
    """Chunks/s indexing a fresh sample end to end, nothing cached, for each setup in
    :data:`THROUGHPUT_SETUPS`, rounds interleaved so a busy moment of the shared
    machine hits every setup alike; the ratios to :data:`BASELINES` are per round, and
    each round measures the :func:`cpu_ceiling` those ratios are bounded by."""
    corpus, _, _ = load_beir(corpora(args.data)[0], None)
    sample = random.Random(7).sample(corpus, min(args.sample, len(corpus)))
    rates: dict[str, list[float]] = {name: [] for name in THROUGHPUT_SETUPS}
    ceilings: list[float] = []
    chunks = 0
    for round_ in range(args.throughput_rounds):
        ceilings.append(cpu_ceiling())
        print(f"  throughput round {round_ + 1}, cpu ceiling x{ceilings[-1]:.2f}",
              file=sys.stderr)
        for name, setup in THROUGHPUT_SETUPS.items():
            found = await _index_sample(sample, setup)
            chunks = found["chunks"]
            rates[name].append(chunks / found["wall_s"] if found["wall_s"] else 0.0)
            print(f"  throughput round {round_ + 1}, {name}: {rates[name][-1]:.1f} chunks/s",
                  file=sys.stderr)
    setups: dict[str, dict] = {}
    for name, values in rates.items():
        setups[name] = {"chunks_per_s": round(float(np.median(values)), 2),
                        "range": [round(min(values), 2), round(max(values), 2)]}
        for key, base_name in BASELINES.items():
            ratios = [v / b for v, b in zip(values, rates[base_name]) if b]
            setups[name][key] = round(float(np.median(ratios)), 2)
            setups[name][f"{key}_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
    return {
        "documents": len(sample),
        "chunks": chunks,
        "rounds": args.throughput_rounds,
        "physical_cores": physical_cores(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_ceiling": round(float(np.median(ceilings)), 2),
        "cpu_ceiling_range": [round(min(ceilings), 2), round(max(ceilings), 2)],
        "setups": setups,
        "chunks_per_s": setups["default"]["chunks_per_s"],
    }


# -- main ------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict:
    fusion = FusionConfig()
    raw = make_engine(args.threads)
    engine = raw if args.no_cache else CachedEmbeddings(raw, CACHE_DIR / "embeddings.sqlite")
    results: dict = {}
    try:
        results["corpora"] = {}
        evidence = {}
        for data in corpora(args.data):
            hits, misses = getattr(engine, "hits", 0), getattr(engine, "misses", 0)
            scored, evidence[data.name] = await quality(args, engine, fusion, data)
            for label, found in scored:
                if isinstance(engine, CachedEmbeddings):
                    found["embedding_cache"] = {
                        "hits": engine.hits - hits, "misses": engine.misses - misses
                    }
                results["corpora"][label] = found
                show_quality(label, found)
        # The first corpus's figures stay where earlier readers of results.json look.
        results["quality"] = next(iter(results["corpora"].values()))
        if len(evidence) > 1:
            results["fusion_fit"] = fusion_fit.fit(evidence)
            fusion_fit.show(results["fusion_fit"])
        if args.sample:
            results["throughput"] = await throughput(args)
    finally:
        await engine.aclose()
    if args.scales:
        results["latency"] = latency(args, fusion, corpora(args.data)[0])
    return results


def show_quality(name: str, q: dict) -> None:
    """One corpus's figures on one judgment set; its last line is their JSON summary."""
    scores = q["scores"]
    print(f"rag quality on {name}: {q['documents']} documents, "
          f"{q['chunks']} chunks embedded, {q['queries']} of {q.get('queries_total')} queries"
          f" judged ({q.get('judgments', 'published')} judgments)")
    for method in ("bm25", "vector", "rrf", "hybrid"):
        s = scores[method]
        print(f"  {method:7s} nDCG@10 {s['ndcg@10']:.3f}  recall@10 {s['recall@10']:.3f}")
    best = q.get("best_single") or max(("bm25", "vector"), key=lambda m: scores[m]["ndcg@10"])
    best_single = scores[best]["ndcg@10"]
    verdict = "is not below" if scores["hybrid"]["ndcg@10"] >= best_single else "is BELOW"
    print(f"  hybrid {verdict} the better single retriever, {best} "
          f"({scores['hybrid']['ndcg@10'] / best_single if best_single else 0:.3f}x)")
    duels = [*q["per_query_vs_vector"].items(), ("hybrid/bm25", q["hybrid_vs_bm25"])]
    for method, d in duels:
        against = "bm25" if "/" in method else "vector"
        print(f"  {method.split('/')[0]:7s} vs {against:6s} per query: {d['better']} better, "
              f"{d['worse']} worse, {d['same']} same; mean {d['mean_diff']:+.3f}, "
              f"paired bootstrap 95% CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]")
    cache = q.get("embedding_cache", {})
    if cache and not cache.get("hits"):
        print(f"  cold run: {q['index_chunks_per_s']} chunks/s indexing the whole corpus")
    summary = {"corpus": name, **{m: scores[m] for m in ("bm25", "vector", "hybrid")}}
    if "judgments" in q:
        summary["judgments"] = q["judgments"]
    print(json.dumps(summary, sort_keys=True), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="*", default=[],
                        help="BEIR-format directories (default: all under ../shared/bench-data)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N corpus documents (queries judged on them)")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--sample", type=int, default=200,
                        help="documents indexed uncached for throughput (0 = skip)")
    parser.add_argument("--scales", type=int, nargs="*", default=[10_000, 100_000],
                        help="synthetic index sizes for latency (none = skip)")
    parser.add_argument("--latency-rounds", type=int, default=4)
    parser.add_argument("--throughput-rounds", type=int, default=3)
    parser.add_argument("--dump", default="",
                        help="write each query's candidate evidence here (fitting fusions)")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    if "throughput" in results:
        t = results["throughput"]
        print(f"indexing throughput, end to end, {t['chunks']} chunks from {t['documents']} "
              f"uncached documents, median of {t['rounds']} interleaved rounds "
              f"({t['physical_cores']} physical cores, {t['usable_cpus']} CPUs usable; two busy "
              f"processes did x{t['cpu_ceiling']} the work of one, range "
              "x{:.2f}-x{:.2f}: the most any setup could gain):".format(*t["cpu_ceiling_range"]))
        for name, found in t["setups"].items():
            print(f"  {name:20s} {found['chunks_per_s']:6.1f} chunks/s "
                  f"(range {found['range'][0]:.1f}-{found['range'][1]:.1f}), "
                  f"x{found['vs_serial']:.2f} the serial figure of the same round "
                  "(x{:.2f}-x{:.2f}), ".format(*found["vs_serial_range"])
                  + f"x{found['vs_1_thread']:.2f} the 1-thread one "
                  "(x{:.2f}-x{:.2f})".format(*found["vs_1_thread_range"]))
    for size, lat in results.get("latency", {}).items():
        print(f"latency at {size} chunks: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms "
              f"(hybrid, query embedding excluded; same run: vector alone p95 "
              f"{lat.get('vector_p95_ms')} ms, BM25 alone p95 {lat.get('lexical_p95_ms')} ms)")
    results["args"] = {"data": [str(d) for d in corpora(args.data)], "limit": args.limit,
                       "threads": args.threads}
    record("rag", results)
    if args.json:
        emit_json({
            "corpora": {
                name: {m: q["scores"][m] for m in ("bm25", "vector", "hybrid")}
                for name, q in results["corpora"].items()
            }
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
