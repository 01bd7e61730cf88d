"""What an indexing run reports: progress snapshots while it runs, a report at the end.

Kept apart from the indexer so that the screens and the CLI, which only show
these, do not depend on how indexing works.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from offyai_tui.rag.documents import Skipped

Phase = Literal["scanning", "reembedding", "indexing", "committing", "done", "cancelled"]


@dataclass(frozen=True)
class IndexProgress:
    """A snapshot for a progress bar (files, chunks, bytes, speed, time left)."""

    phase: Phase
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0
    chunks_per_s: float = 0.0
    eta_s: float | None = None
    """Seconds left, estimated from bytes still to read at the speed so far."""
    current: str = ""
    skipped: int = 0
    chunks_total: int = 0
    """Chunks to re-embed (``reembedding``), or while indexing the run's estimated
    total (from the chunks per byte so far); 0 while unknown."""
    bytes_done: int = 0
    """Bytes of the run's files whose chunks are embedded (a large file counts as
    it goes, so one 50 MB file still moves the bar)."""
    bytes_total: int = 0

    @property
    def fraction(self) -> float:
        if self.phase == "reembedding" and self.chunks_total:
            return self.chunks_done / self.chunks_total
        if self.bytes_total and self.phase != "done":
            return min(self.bytes_done / self.bytes_total, 1.0)
        return self.files_done / self.files_total if self.files_total else 0.0

    @property
    def finished(self) -> bool:
        """The last snapshot of a run (``done`` or ``cancelled``)."""
        return self.phase in ("done", "cancelled")


@dataclass
class IndexReport:
    """What a run did; ``summary()`` is the one line a CLI prints."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    """Large files stopped part-way: what was embedded is kept and searchable, and
    the next run goes on from there (see ``bigfile``)."""
    chunks: int = 0
    """Chunks embedded in this run (re-embedded ones included)."""
    kept: int = 0
    """Chunks of edited files whose text was unchanged: their vectors were kept."""
    reembedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cancelled: bool = False

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.embed_seconds if self.embed_seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added", f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged", f"{len(self.removed)} removed",
            f"{len(self.skipped)} skipped", _count(self.chunks, "chunk") + " embedded",
        ]
        if self.kept:
            parts.append(_count(self.kept, "unchanged chunk") + " kept")
        if self.reembedded:
            parts.append(f"{self.reembedded} re-embedded for a new model")
        if self.partial:
            parts.append(f"{len(self.partial)} partly indexed (index again to go on)")
        line = ", ".join(parts) + f" in {self.seconds:.1f} s"
        return ("cancelled: " if self.cancelled else "") + line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


ProgressCallback = Callable[[IndexProgress], None]


def throttle_progress(
    callback: ProgressCallback, interval_s: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
) -> ProgressCallback:
    """Wrap ``callback`` so it is called at most every ``interval_s`` seconds,
    except that a snapshot whose phase differs from the last one passed (the
    first ``indexing`` one included) and the final ``done``/``cancelled`` one
    always go through: a short run still shows its counts and its end.
    """
    last_phase = [""]
    last_time = [float("-inf")]

    def throttled(progress: IndexProgress) -> None:
        now = clock()
        if (progress.phase != last_phase[0] or progress.finished
                or now - last_time[0] >= interval_s):
            last_phase[0], last_time[0] = progress.phase, now
            callback(progress)

    return throttled


def progress_line(progress: IndexProgress) -> str:
    """The one line ``offyai index`` keeps redrawing on a terminal."""
    p = progress
    if p.phase == "reembedding":
        of = f"/{p.chunks_total}" if p.chunks_total else ""
        parts = [f"reembedding: {p.chunks_done}{of} chunks"]
    else:
        estimate = f"/~{p.chunks_total}" if p.chunks_total and p.phase == "indexing" else ""
        parts = [f"{p.phase}: {p.files_done}/{p.files_total} files",
                 f"{p.chunks_done}{estimate} chunks"]
        if p.bytes_total >= 1 << 20:
            parts.append(f"{p.bytes_done / 2**20:.1f}/{p.bytes_total / 2**20:.1f} MB")
    if p.eta_s:
        parts.append(f"{_time_left(p.eta_s)} left")
    return ", ".join(parts)


def _time_left(seconds: float) -> str:
    """``40 s``, ``12 min``, ``2 h 05 min``: a terminal line has no room for more."""
    whole = max(0, int(seconds + 0.999))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{(whole + 59) // 60} min"
    hours, minutes = divmod((whole + 59) // 60, 60)
    return f"{hours} h {minutes:02d} min"
