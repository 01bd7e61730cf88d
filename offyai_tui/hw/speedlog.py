"""Decode speeds this machine actually measured, per model.

Bandwidth estimates are rough; a real run is not. Each finished answer, in the chat
screen and in ``offyai ask``, records its decode and prompt tokens/s, the engine, the
model and where it ran (:mod:`offyai_tui.manage.speed_record` finds the placement), and
the Models screen and ``offyai models`` show the median of recent runs beside the
estimate, with a sparkline. Runs of large models also
calibrate the estimates of models never run here (see :meth:`SpeedLog.calibrated_bandwidth`).

Stored as JSON lines in the data dir, mode 0600. When the file passes ``MAX_BYTES`` it
is rewritten atomically with the newest ``MAX_RUNS`` runs, so it never grows unbounded.
Lines that do not parse are skipped, never fatal.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from offyai_tui.engines.base import ChatStats
from offyai_tui.settings import locations
from offyai_tui.util.fileio import atomic_write_text, open_private_append

FILE_NAME = "speedlog.jsonl"
MAX_RUNS = 500
MAX_BYTES = 128 * 1024
MIN_TOKENS = 8
"""Shorter answers are dominated by start-up cost and would skew the figures."""
RECENT = 20
CALIBRATION_MIN_BYTES = 1_000_000_000
"""Tiny models are bound by per-token overhead, not bandwidth; they do not calibrate."""
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: Iterable[float],
    width: int | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> str:
    """One block character per value, scaled between ``lo`` and ``hi``.

    ``lo``/``hi`` default to the values' own range; pass ``lo=0`` so that small
    run-to-run noise does not look like a collapse. Only the last ``width`` values are
    drawn; a value that is not finite is drawn as a space; a flat series is a flat line.
    """
    series = list(values)
    if width is not None:
        series = series[-width:] if width > 0 else []
    finite = [v for v in series if math.isfinite(v)]
    if not finite:
        return " " * len(series)
    low = min(finite) if lo is None else lo
    high = max(finite) if hi is None else hi
    top = len(SPARK_BLOCKS) - 1
    out = []
    for value in series:
        if not math.isfinite(value):
            out.append(" ")
        elif high <= low:
            out.append(SPARK_BLOCKS[top // 2])
        else:
            step = round((value - low) / (high - low) * top)
            out.append(SPARK_BLOCKS[max(0, min(top, step))])
    return "".join(out)


@dataclass(frozen=True)
class SpeedRun:
    model: str
    tokens_per_s: float
    engine: str = ""
    completion_tokens: int = 0
    size_bytes: int = 0
    """Model size on disk, for calibration; 0 when unknown."""
    placement: str = ""
    """``vram``, ``partial`` or ``ram`` (a :class:`~offyai_tui.hw.fit.Fit` kind); may be empty."""
    at: float = 0.0
    """Unix time of the run."""
    prompt_tokens_per_s: float = 0.0
    """Prompt tokens over the time to the first token (so a lower bound); 0 if unknown."""

    def valid(self) -> bool:
        return (
            bool(self.model)
            and math.isfinite(self.tokens_per_s)
            and 0 < self.tokens_per_s < 1e6
            and self.size_bytes >= 0
            and math.isfinite(self.prompt_tokens_per_s)
            and 0 <= self.prompt_tokens_per_s < 1e7
        )

    @classmethod
    def from_json(cls, line: str) -> SpeedRun | None:
        try:
            raw = json.loads(line)
            run = cls(
                model=str(raw["model"]),
                tokens_per_s=float(raw["tokens_per_s"]),
                engine=str(raw.get("engine", "")),
                completion_tokens=int(raw.get("completion_tokens", 0)),
                size_bytes=int(raw.get("size_bytes", 0)),
                placement=str(raw.get("placement", "")),
                at=float(raw.get("at", 0.0)),
                prompt_tokens_per_s=float(raw.get("prompt_tokens_per_s", 0.0)),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return run if run.valid() else None


@dataclass(frozen=True)
class Measured:
    """What this machine measured for one model."""

    median_tps: float
    last_tps: float
    runs: int
    recent: tuple[float, ...]
    """Newest last, at most ``RECENT``."""
    prompt_median_tps: float = 0.0
    """Median prompt tokens/s of the recent runs that measured it; 0 when none did."""

    @property
    def sparkline(self) -> str:
        return sparkline(self.recent, lo=0)

    def label(self) -> str:
        """``measured 38.0 tok/s (3 runs; prompt 51 tok/s)`` (prompt part when known)."""
        runs = f"{self.runs} run" if self.runs == 1 else f"{self.runs} runs"
        prompt = f"; prompt {self.prompt_median_tps:.0f} tok/s" if self.prompt_median_tps else ""
        return f"measured {self.median_tps:.1f} tok/s ({runs}{prompt})"


class SpeedLog:
    """The store; cheap to create, reads the file on demand (cached by mtime and size)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], list[SpeedRun]] | None = None

    @property
    def path(self) -> Path:
        return self._path or locations.data_dir() / FILE_NAME

    def record(self, run: SpeedRun) -> bool:
        """Append one run; ``False`` if it is not a plausible measurement or cannot be saved.

        A speed log that cannot be written must never break a chat, so I/O errors are
        reported through the return value only.
        """
        if not run.valid():
            return False
        if not run.at:
            run = dataclasses.replace(run, at=time.time())
        line = json.dumps(asdict(run), ensure_ascii=False) + "\n"
        with self._lock:
            try:
                with open_private_append(self.path) as handle:
                    handle.write(line.encode("utf-8"))
                if self.path.stat().st_size > MAX_BYTES:
                    self._compact()
            except OSError:
                return False
        return True

    def record_stats(
        self, stats: ChatStats, *, engine: str = "", size_bytes: int = 0, placement: str = ""
    ) -> bool:
        """Record a finished answer; short, stopped or speedless answers are ignored.

        Prompt speed is the prompt's tokens over the time to the first token, which also
        holds the request's own latency: a slight underestimate, never an overestimate.
        """
        if stats.completion_tokens < MIN_TOKENS or stats.done_reason == "cancelled":
            return False
        prompt_tps = stats.prompt_tokens / stats.ttft_s if stats.ttft_s > 0 else 0.0
        return self.record(
            SpeedRun(
                model=stats.model,
                tokens_per_s=stats.tokens_per_s,
                engine=engine,
                completion_tokens=stats.completion_tokens,
                size_bytes=size_bytes,
                placement=placement,
                prompt_tokens_per_s=prompt_tps if math.isfinite(prompt_tps) else 0.0,
            )
        )

    def runs(self, model: str | None = None, engine: str | None = None) -> list[SpeedRun]:
        """Stored runs, oldest first, optionally for one model (and engine)."""
        return [
            r
            for r in self._load()
            if (model is None or r.model == model) and (engine is None or r.engine == engine)
        ]

    def measured(self, model: str, engine: str | None = None) -> Measured | None:
        runs = self.runs(model, engine)
        if not runs:
            return None
        recent = runs[-RECENT:]
        speeds = tuple(r.tokens_per_s for r in recent)
        prompts = [r.prompt_tokens_per_s for r in recent if r.prompt_tokens_per_s > 0]
        return Measured(
            median_tps=statistics.median(speeds),
            last_tps=speeds[-1],
            runs=len(runs),
            recent=speeds,
            prompt_median_tps=statistics.median(prompts) if prompts else 0.0,
        )

    def calibrated_bandwidth(self, placement: str, engine: str | None = None) -> float | None:
        """Effective bytes/s this machine reached for ``placement``, or ``None``.

        tokens/s × model size is the memory bandwidth a run actually achieved; the median
        over recent runs of models of at least 1 GB replaces the guessed bandwidth.
        ``engine`` keeps only that engine's runs: the embedded engine leaves a core free
        and samples in Python, so its CPU runs say little about Ollama's, and back.
        """
        samples = [
            r.tokens_per_s * r.size_bytes
            for r in self._load()
            if r.placement == placement
            and r.size_bytes >= CALIBRATION_MIN_BYTES
            and (engine is None or r.engine == engine)
        ][-50:]
        return statistics.median(samples) if samples else None

    def _load(self) -> list[SpeedRun]:
        path = self.path
        try:
            stat = path.stat()
        except OSError:
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        cache = self._cache
        if cache is not None and cache[0] == key:
            return cache[1]
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        runs = [run for line in text.splitlines() if (run := SpeedRun.from_json(line))]
        self._cache = (key, runs)
        return runs

    def _compact(self) -> None:
        keep = self._load()[-MAX_RUNS:]
        text = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in keep)
        atomic_write_text(self.path, text)
