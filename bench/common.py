"""Shared helpers for benchmarks: machine facts and result recording.

Benchmarks print ratios against a baseline measured in the same run, because
the machines they run on are shared and noisy; absolute times alone mean little.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> dict[str, object]:
    import psutil

    return {
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def git_commit() -> str:
    """The checkout's short commit ("" outside git)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent.parent,
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def record(section: str, data: dict[str, object]) -> None:
    """Merge ``data`` under ``section`` in bench/results.json.

    The file's machine facts from the last whole run (commit, date, load, models)
    stay; the section says when, at which commit and under what load it was
    measured, since it no longer shares the run's.
    """
    try:
        results = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        results = {}
    results["machine"] = {**(results.get("machine") or {}), **machine()}
    results[section] = {
        **data,
        "measured": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
        },
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def emit_json(data: dict[str, object]) -> None:
    """Print one JSON object as the last line (for ``--json``)."""
    sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")


REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def isolated_home() -> Iterator[Path]:
    """Run with ``OFFYAI_HOME`` in a fresh temp dir (the user's data is never touched).

    Derived bundled models stay shared in the checkout's ``.cache/models`` (as
    ``make test`` does), so a benchmark never waits on a model conversion
    that an earlier run already did.
    """
    saved = {name: os.environ.get(name) for name in ("OFFYAI_HOME", "OFFYAI_MODEL_CACHE")}
    with tempfile.TemporaryDirectory(prefix="offyai-bench-home-") as tmp:
        os.environ["OFFYAI_HOME"] = tmp
        os.environ.setdefault("OFFYAI_MODEL_CACHE", str(REPO / ".cache" / "models"))
        try:
            yield Path(tmp)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
