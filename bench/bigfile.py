"""Chunking a large text file: streamed (what indexing does now) against read whole.

    python bench/bigfile.py [--mb 50] [--kind log|prose] [--json]

Generates a file in a temp dir (a log without blank lines is the worst case of
the whole-file path: one paragraph of the whole file), then chunks it both
ways in fresh processes and prints, for each, the peak RSS, the CPU time
until the first embedding batch (32 chunks) could start, and the CPU time for
all chunks, plus the ratios. No embedding: that is ``rag.py``'s throughput.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit_json

WORDS = ["ferry", "island", "harbour", "morning", "timetable", "weather", "captain", "deck",
         "passenger", "ticket", "crossing", "lighthouse", "tide", "rope", "gull", "cargo"]


def generate(path: Path, megabytes: float, kind: str) -> None:
    rng = random.Random(7)
    target = int(megabytes * 2**20)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < target:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 60)))
            if kind == "log":
                line = f"2026-12-04T04:{rng.randint(0, 59):02d}Z INFO {words}\n"
            else:
                line = words.capitalize() + ".\n\n"
            out.write(line)
            written += len(line)


def measure(mode: str, path: str) -> dict[str, float]:
    """Runs in a child process: one way of chunking, its CPU times and peak RSS."""
    from offyai_tui.rag import tokens
    from offyai_tui.rag.chunker import chunk_document, iter_chunks
    from offyai_tui.rag.loaders import load_file
    from offyai_tui.rag.textstream import TextStream, sniff

    tokens.count("load the vocabulary first")
    limit = 64 * 2**20
    start = time.process_time()
    first = 0.0
    count = 0
    if mode == "streamed":
        stream = TextStream(Path(path), "text", sniff(Path(path), limit), limit)
        stream.start()
        for _ in iter_chunks(stream.blocks(), path, stream.title):
            count += 1
            if count == 32:
                first = time.process_time() - start
    else:
        chunks = chunk_document(load_file(Path(path), limit))
        first, count = time.process_time() - start, len(chunks)
    total = time.process_time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"chunks": count, "first_batch_cpu_s": first, "all_cpu_s": total, "peak_rss_mb": peak_mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--kind", choices=("log", "prose"), default="log")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return 0
    with tempfile.TemporaryDirectory(prefix="offyai-bigfile-") as folder:
        path = Path(folder) / f"big.{args.kind}.txt"
        generate(path, args.mb, args.kind)
        results = {}
        for mode in ("streamed", "whole"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, str(path)],
                capture_output=True, text=True, check=True,
            )
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    s, w = results["streamed"], results["whole"]
    data = {
        "file_mb": args.mb, "kind": args.kind, **{f"{k}_{m}": v for m, r in results.items()
                                                 for k, v in r.items()},
        "peak_rss_ratio_whole_over_streamed": w["peak_rss_mb"] / s["peak_rss_mb"],
        "first_batch_ratio_whole_over_streamed": w["first_batch_cpu_s"] / s["first_batch_cpu_s"],
        "all_cpu_ratio_whole_over_streamed": w["all_cpu_s"] / s["all_cpu_s"],
    }
    for mode, r in results.items():
        print(f"{mode:<9} {r['chunks']:>7} chunks  peak RSS {r['peak_rss_mb']:7.1f} MB  "
              f"first batch after {r['first_batch_cpu_s']:6.2f} s CPU  all {r['all_cpu_s']:6.1f} s")
    print(f"whole / streamed: peak RSS x{data['peak_rss_ratio_whole_over_streamed']:.1f}, "
          f"time to first batch x{data['first_batch_ratio_whole_over_streamed']:.0f}, "
          f"all chunking x{data['all_cpu_ratio_whole_over_streamed']:.2f}")
    if args.json:
        emit_json(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
