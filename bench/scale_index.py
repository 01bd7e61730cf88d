"""Big documents index: a million chunks, added to, loaded and searched.

    python bench/scale_index.py [--chunks 1000000] [--rounds 3]
    python bench/scale.py --sections index [--index-chunks 1000000]

The index is built through the real writer (SQLite rows, FTS5, vectors on disk)
with synthetic 384-d unit vectors (no embedder: vectors are what the index
stores, whatever made them) and texts of words drawn from a Zipf law over a
100,000-word vocabulary, so keyword queries meet the long posting lists of
real text. Each figure comes from a fresh child process, whose peak RSS
(``VmHWM``) less the same process with the app's modules imported (about
60 MB, which would swamp the ratios of reduced sizes) is the memory figure,
given over "the index": its vector bytes (chunks x dim x 4), what every layout
must hold somewhere. The whole-process ratios are reported beside them.

- ``add``: open the index, then time the writer adding one 10-chunk file and
  committing it (target 1 s, peak <= 1.2x the index).
- ``load``: open the index and answer one hybrid query (peak <= 1.5x).
- ``search``: hybrid (``Retriever.rank`` with a random query vector) and
  keyword-only p50/p95 over queries of 1-4 words, the first round a warm-up
  (targets 150 and 100 ms).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.common import percentile

DIM = 384
VOCAB = 100_000
WORDS_PER_CHUNK = 40
PER_DOC = 100
QUERIES = 60


def _words(rng: np.random.Generator) -> list[str]:
    """Pronounceable made-up words, distinct, so the porter stemmer leaves them apart."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    out, seen = [], set()
    while len(out) < VOCAB:
        word = "".join(rng.choice(syllables, size=int(rng.integers(2, 5))))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def _vocabulary() -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(7)
    words = _words(rng)
    weights = 1.0 / np.arange(1, VOCAB + 1)
    return words, weights / weights.sum()


def queries(count: int = QUERIES) -> list[str]:
    """1-4 words, ranks log-uniform from the 30th to the whole vocabulary."""
    words, _ = _vocabulary()
    rng = np.random.default_rng(11)
    out = []
    for _ in range(count):
        ranks = np.exp(rng.uniform(np.log(30), np.log(VOCAB), int(rng.integers(1, 5))))
        out.append(" ".join(words[int(r) - 1] for r in ranks))
    return out


def build(directory: Path, size: int) -> float:
    """An index of ``size`` chunks in documents of 100; returns the seconds it took."""
    from offyai_tui.rag.documents import Chunk
    from offyai_tui.rag.embedder import EmbeddingIdentity
    from offyai_tui.rag.index import DocumentIndex, DocumentRecord

    words, weights = _vocabulary()
    vocab = np.array(words, dtype=object)
    rng = np.random.default_rng(size)
    identity = EmbeddingIdentity("synthetic", "random", DIM)
    started = time.perf_counter()
    index = DocumentIndex.open(directory)
    with index.writer() as writer:
        for start in range(0, size, PER_DOC):
            count = min(PER_DOC, size - start)
            path = f"/synthetic/{start // PER_DOC}.md"
            drawn = vocab[rng.choice(VOCAB, size=(count, WORDS_PER_CHUNK), p=weights)]
            chunks = [Chunk(path, " ".join(row), ("Doc",), j + 1, j + 1, tokens=64, title="Doc")
                      for j, row in enumerate(drawn)]
            vectors = rng.standard_normal((count, DIM)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            writer.put_document(DocumentRecord(path, "markdown", 1, str(start)), chunks,
                                vectors, identity)
            if start % 200_000 == 0 and start:
                writer.commit()
        writer.commit()
    index.close()
    return time.perf_counter() - started


def _peak_mb() -> float:
    """This process's peak RSS (``VmHWM``: unlike ``ru_maxrss``, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def child(step: str, directory: Path, rounds: int) -> dict[str, Any]:
    """One measurement in this (fresh) process."""
    from offyai_tui.rag.documents import Chunk
    from offyai_tui.rag.embedder import EmbeddingIdentity
    from offyai_tui.rag.index import DocumentIndex, DocumentRecord
    from offyai_tui.rag.index_schema import load_faiss
    from offyai_tui.rag.retriever import Retriever

    load_faiss()
    rng = np.random.default_rng(3)
    # The process with the app's modules imported: what any size costs.
    out: dict[str, Any] = {"start_mb": round(_peak_mb(), 1)}
    if step == "load":
        started = time.perf_counter()
        index = DocumentIndex.open(directory)
        out["open_s"] = round(time.perf_counter() - started, 3)
        out["opened_mb"] = round(_peak_mb(), 1)
        Retriever(index).rank(queries(1)[0], _unit(rng), 10, "hybrid")
        out["first_search_s"] = round(time.perf_counter() - started, 3)
    elif step == "add":
        index = DocumentIndex.open(directory)
        out["opened_mb"] = round(_peak_mb(), 1)
        path = "/synthetic/added.md"
        chunks = [Chunk(path, f"added chunk {j} zebrafish", ("Added",), j + 1, j + 1, tokens=8)
                  for j in range(10)]
        vectors = np.stack([_unit(rng) for _ in range(10)])
        started = time.perf_counter()
        with index.writer() as writer:
            writer.put_document(DocumentRecord(path, "markdown", 1, "added"), chunks, vectors,
                                EmbeddingIdentity("synthetic", "random", DIM))
            writer.commit()
        out["add_s"] = round(time.perf_counter() - started, 3)
    else:
        index = DocumentIndex.open(directory)
        retriever = Retriever(index)
        texts = queries()
        timings: dict[str, list[float]] = {"hybrid": [], "lexical": []}
        for round_ in range(rounds):
            for mode in timings:
                for text in texts:
                    vector = _unit(rng)
                    t0 = time.perf_counter()
                    retriever.rank(text, vector, 10, mode)  # type: ignore[arg-type]
                    if round_:  # the first round warms the page cache
                        timings[mode].append((time.perf_counter() - t0) * 1000)
        for mode, values in timings.items():
            out[f"{mode}_p50_ms"] = round(percentile(values, 50), 1)
            out[f"{mode}_p95_ms"] = round(percentile(values, 95), 1)
    out["chunks"] = index.chunk_count()
    index.close()
    out["peak_mb"] = round(_peak_mb(), 1)
    return out


def _run_child(step: str, directory: Path, rounds: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, "--dir", str(directory),
         "--rounds", str(rounds)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(size: int, rounds: int = 3, keep: Path | None = None) -> dict[str, Any]:
    """Build an index of ``size`` chunks in a temp folder (or ``keep``, reused if it
    holds one already) and measure it."""
    with tempfile.TemporaryDirectory(prefix="offyai-bench-index-") as tmp:
        directory = keep or Path(tmp) / "index"
        built = keep is not None and (directory / "index.sqlite").exists()
        build_s = 0.0 if built else build(directory, size)
        disk = sum(p.stat().st_size for p in directory.iterdir())
        load = _run_child("load", directory, rounds)
        add = _run_child("add", directory, rounds)
        search = _run_child("search", directory, rounds)
    index_mb = size * DIM * 4 / 2**20

    def ratio(child: dict[str, Any]) -> float:
        return round((child["peak_mb"] - child["start_mb"]) / index_mb, 2)

    result = {
        "chunks": size, "index_mb": round(index_mb, 1), "disk_mb": round(disk / 2**20, 1),
        "build_s": round(build_s, 1), "process_mb": add["start_mb"],
        "add_s": add["add_s"], "add_peak_ratio": ratio(add),
        "add_peak_ratio_whole": round(add["peak_mb"] / index_mb, 2),
        "load_peak_ratio": ratio(load),
        "load_peak_ratio_whole": round(load["peak_mb"] / index_mb, 2),
        "load_open_s": load["open_s"], "load_first_search_s": load["first_search_s"],
        "hybrid_p50_ms": search["hybrid_p50_ms"], "hybrid_p95_ms": search["hybrid_p95_ms"],
        "keyword_p50_ms": search["lexical_p50_ms"], "keyword_p95_ms": search["lexical_p95_ms"],
        "children": {"add": add, "load": load, "search": search},
    }
    result["ok"] = (result["add_s"] <= 1 and result["add_peak_ratio"] <= 1.2
                    and result["load_peak_ratio"] <= 1.5 and result["hybrid_p95_ms"] <= 150
                    and result["keyword_p95_ms"] <= 100)
    return result


def report_rows(section: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows for ``make bench``'s table: figure, value, target, ok/MISSED."""
    if "add_s" not in section:
        return []
    n = f"{section['chunks']:,} chunks"

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    return [
        (f"{n}: add a 10-chunk file", f"{section['add_s']:.2f} s", "<= 1 s",
         mark(section["add_s"] <= 1)),
        (f"{n}: add peak / index", f"x{section['add_peak_ratio']}", "<= x1.2",
         mark(section["add_peak_ratio"] <= 1.2)),
        (f"{n}: load peak / index", f"x{section['load_peak_ratio']}", "<= x1.5",
         mark(section["load_peak_ratio"] <= 1.5)),
        (f"{n}: hybrid p95", f"{section['hybrid_p95_ms']:.0f} ms", "<= 150 ms",
         mark(section["hybrid_p95_ms"] <= 150)),
        (f"{n}: keyword p95", f"{section['keyword_p95_ms']:.0f} ms", "<= 100 ms",
         mark(section["keyword_p95_ms"] <= 100)),
    ]


def describe(section: dict[str, Any]) -> str:
    return (f"{section['chunks']:,}-chunk index ({section['index_mb']} MB of vectors, "
            f"{section['disk_mb']} MB on disk): add a 10-chunk file {section['add_s']} s (1), "
            f"peak x{section['add_peak_ratio']} of the index (1.2; whole process "
            f"x{section['add_peak_ratio_whole']}); load peak x{section['load_peak_ratio']} "
            f"(1.5; x{section['load_peak_ratio_whole']}), open {section['load_open_s']} s; hybrid "
            f"p50/p95 {section['hybrid_p50_ms']}/{section['hybrid_p95_ms']} ms (150); keyword "
            f"{section['keyword_p50_ms']}/{section['keyword_p95_ms']} ms (100)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the index here, or reuse it")
    parser.add_argument("--child", choices=["add", "load", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.rounds)))
        return 0
    result = measure(args.chunks, args.rounds, args.keep)
    print(describe(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
