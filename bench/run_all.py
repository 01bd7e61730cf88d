"""Run every benchmark, write bench/results.json and print one table.

    make bench        (or: .venv/bin/python bench/run_all.py [--quick])

Each benchmark runs in its own process, one at a time (the machine has few
cores and they are shared), and prints one JSON object as its last line. Every
timing in the table is a ratio or a percentile against a baseline measured in
the same run; absolute figures are kept in the JSON beside the machine's facts
(cores, load average before and after, models, versions). A benchmark that
fails is reported in the table and the others still run; the exit code is 1
if any failed. Missed targets are reported, not failures.

Budget: about 10 minutes on a 2-core machine. The document benchmark is given
what remains, with a smaller corpus than its default (``--limit``), which the
table states.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, RESULTS, git_commit, machine
from bench.report import table

BENCH = REPO / "bench"
BUDGET_S = 600.0


def rag_args(remaining: float, quick: bool = False) -> list[str]:
    """rag.py options that fit ``remaining`` seconds (its full default run takes far longer).

    Indexing embeds every chunk on the CPU (about 10-20 chunks/s here on a first
    run; later runs read cached vectors from bench/.cache/rag), so the corpus is
    cut to its first documents and the 100k-chunk latency index is dropped
    when time is short.
    """
    # Without a directory rag.py runs every corpus under ../shared/bench-data.
    named = os.environ.get("OFFYAI_BENCH_RAG_DATA", "")
    data = ["--data", named] if named else []
    if quick or remaining < 120:
        sizes = ["--limit", "200", "--sample", "20", "--scales", "10000"]
        return [*data, *sizes, "--latency-rounds", "2"]
    cached = (BENCH / ".cache" / "rag" / "embeddings.sqlite").is_file()
    if remaining < (200 if cached else 280):
        sizes = ["--limit", "500", "--sample", "50", "--scales", "10000"]
        return [*data, *sizes, "--latency-rounds", "2"]
    sizes = ["--limit", "1000", "--sample", "100", "--scales", "10000", "100000"]
    return [*data, *sizes, "--latency-rounds", "3"]


def plan(quick: bool) -> list[tuple[str, list[str], float]]:
    """(section, command line after the script, time limit in seconds)."""
    if quick:
        return [
            ("startup", ["startup.py", "--rounds", "2"], 90),
            ("engines", ["engines.py", "--rounds", "2", "--max-tokens", "32"], 150),
            (
                "screen_speed",
                ["screen_speed.py", "--rounds", "1", "--max-tokens", "32", "--threads", "1"],
                150,
            ),
            ("streaming", ["streaming.py", "--sizes", "2000"], 120),
            ("key_bursts", ["key_bursts.py", "--tokens", "2000"], 90),
            ("open_long", ["open_long.py", "--rounds", "1"], 90),
            ("scale", ["scale.py", "--conversations", "300", "--messages", "400",
                       "--rounds", "1", "--presses", "3", "--index-chunks", "10000"], 150),
            ("rag", ["rag.py"], 240),
            ("ttft", ["ttft.py", "--sizes", "256", "--rounds", "1"], 120),
            ("voice", ["voice.py", "--rounds", "1"], 120),
        ]
    return [
        ("startup", ["startup.py", "--rounds", "9"], 180),
        ("engines", ["engines.py", "--rounds", "8", "--max-tokens", "128"], 240),
        (
            "screen_speed",
            ["screen_speed.py", "--rounds", "5", "--max-tokens", "128", "--threads", "1"],
            300,
        ),
        ("streaming", ["streaming.py", "--sizes", "4000", "10000", "20000"], 300),
        ("key_bursts", ["key_bursts.py", "--tokens", "20000"], 120),
        ("open_long", ["open_long.py", "--rounds", "3"], 120),
        ("scale", ["scale.py", "--quick"], 300),  # the full sizes: bench/scale.py alone
        ("rag", ["rag.py"], 300),
        ("ttft", ["ttft.py", "--rounds", "3"], 420),
        ("voice", ["voice.py", "--rounds", "3"], 240),
    ]


def run_section(section: str, argv: list[str], limit: float, env: dict[str, str]) -> dict:
    """Run one benchmark script; its last stdout line is its JSON result."""
    command = [sys.executable, str(BENCH / argv[0]), *argv[1:], "--json"]
    print(f"== {section}: {' '.join(argv)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {limit:.0f} s"}
    elapsed = round(time.perf_counter() - started, 1)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        return {"error": f"exit code {done.returncode}", "wall_s": elapsed}
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return {"error": "no JSON result line", "wall_s": elapsed}
    result["wall_s"] = elapsed
    return result


def _rag_section(result: dict[str, Any], argv: list[str]) -> dict[str, Any]:
    """rag.py's full section: its JSON line if complete, else what it recorded in results.json.

    Its ``--json`` line holds only the scores; the rest (throughput, latency) is
    in the ``rag`` section it has just written to results.json.
    """
    if "error" in result or "quality" in result:
        section = dict(result)
    else:
        try:
            section = dict(json.loads(RESULTS.read_text()).get("rag") or {})
        except (OSError, ValueError):
            section = {}
        section = section or {"quality": {"scores": result}}
        section["wall_s"] = result.get("wall_s")
    section["options"] = argv[1:]
    return section


def facts(started: float, load_before: tuple[float, ...]) -> dict[str, Any]:
    from offyai_tui.engines import bundled

    versions = {}
    for package in ("textual", "llama_cpp_python", "rich", "httpx"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        **machine(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "chat_model": f"{bundled.SMOLLM2} ({bundled.smollm2_path().name})",
        "embedding_model": bundled.MINILM,
        "versions": versions,
        "commit": git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def kept_sections(ran: dict[str, Any]) -> dict[str, Any]:
    """The sections of bench/results.json that an ``--only`` run did not measure,
    each stamped with when it was (the machine facts of its own run), so that a
    partial run neither drops them nor passes them off as its own."""
    try:
        previous = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}
    before = previous.get("machine") or {}
    stamp = {"date": before.get("date"), "commit": before.get("commit"),
             "load_avg": before.get("load_avg_before")}
    kept = {}
    for name, section in previous.items():
        if name in ("machine", "quick", "table") or name in ran:
            continue
        if isinstance(section, dict) and "measured" not in section:
            section = {**section, "measured": stamp}
        kept[name] = section
    return kept


def _clean(value: Any) -> Any:
    """NaN is not JSON: write it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the wiring")
    parser.add_argument("--only", nargs="*", help="run only these sections")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="offyai-bench-") as home:
        env = dict(os.environ)
        env["OFFYAI_HOME"] = home  # rag.py uses it as is; the others make their own
        env.setdefault("OFFYAI_MODEL_CACHE", str(REPO / ".cache" / "models"))
        env.pop("OLLAMA_HOST", None)
        for section, command, limit in plan(args.quick):
            if args.only and section not in args.only:
                continue
            remaining = BUDGET_S - (time.perf_counter() - started)
            if section == "rag":
                limit = max(60.0, min(limit, remaining - 10))
                command = [*command, *rag_args(limit, args.quick)]
            result = run_section(section, command, limit, env)
            if section == "rag":
                result = _rag_section(result, command)
            failed = failed or "error" in result
            results[section] = result
    results = {"machine": facts(started, load_before), "quick": args.quick,
               **(kept_sections(results) if args.only else {}), **results}
    lines = table(results)
    results["table"] = lines
    partial = RESULTS.with_name(RESULTS.name + ".tmp")
    partial.write_text(json.dumps(_clean(results), indent=2, sort_keys=True) + "\n")
    partial.replace(RESULTS)
    wall = results["machine"]["wall_s"]
    print()
    print(
        f"OffyAI benchmarks: {results['machine']['cores_logical']} cores, load "
        f"{results['machine']['load_avg_before'][0]} -> {results['machine']['load_avg_after'][0]}"
        f", {wall:.0f} s; every timing is against a baseline from this run"
    )
    print("\n".join(lines))
    print(f"\nfull results: {RESULTS.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
