"""Following a pull: per-layer bytes, speed and time left from Ollama's progress lines.

Ollama reports each layer (``digest``) with ``total`` and ``completed`` bytes, plus status
lines without a digest ("pulling manifest", "verifying sha256 digest"). Speed is
measured over the last few seconds rather than since the start, so a stall shows up
as a falling rate instead of being averaged away.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from offyai_tui.engines.base import PullProgress
from offyai_tui.hw.hardware import format_bytes

WINDOW_S = 3.0
"""Seconds of samples the speed is computed over."""


def format_rate(bytes_per_s: float) -> str:
    return f"{format_bytes(bytes_per_s)}/s" if bytes_per_s > 0 else "–"


def format_eta(seconds: float | None) -> str:
    """``"42s"``, ``"3m 05s"``, ``"1h 02m"``; ``"–"`` when unknown."""
    if seconds is None or seconds < 0:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@dataclass
class Layer:
    """One blob being downloaded."""

    digest: str
    total: int = 0
    completed: int = 0
    samples: deque[tuple[float, int]] = field(default_factory=deque, repr=False)

    @property
    def short(self) -> str:
        """The 12 hex digits Ollama prints (``sha256:`` dropped)."""
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def done(self) -> bool:
        return bool(self.total) and self.completed >= self.total

    @property
    def fraction(self) -> float:
        return min(1.0, self.completed / self.total) if self.total else 0.0

    def rate(self) -> float:
        """Bytes per second over the sample window; 0 before two samples."""
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self) -> float | None:
        if self.done:
            return 0.0
        rate = self.rate()
        return (self.total - self.completed) / rate if rate > 0 and self.total else None

    def describe(self) -> str:
        """``"1.2 MB / 4.1 MB · 3.4 MB/s · 1s left"``, or ``"4.1 MB · done"``."""
        if self.done:
            return f"{format_bytes(self.total)} · done"
        sizes = f"{format_bytes(self.completed)} / {format_bytes(self.total)}"
        return f"{sizes} · {format_rate(self.rate())} · {format_eta(self.eta())} left"


class PullTracker:
    """Accumulates one pull's progress lines."""

    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.status = "starting"
        self.layers: dict[str, Layer] = {}
        self.succeeded = False
        self._clock = clock

    def update(self, step: PullProgress) -> Layer | None:
        """Take one progress line; return the layer it moved, if any."""
        self.status = step.status or self.status
        if step.status == "success":
            self.succeeded = True
        if not step.digest:
            return None
        layer = self.layers.setdefault(step.digest, Layer(step.digest))
        layer.total = step.total or layer.total
        layer.completed = max(layer.completed, step.completed)
        now = self._clock()
        layer.samples.append((now, layer.completed))
        while len(layer.samples) > 2 and now - layer.samples[0][0] > WINDOW_S:
            layer.samples.popleft()
        return layer

    @property
    def total(self) -> int:
        return sum(layer.total for layer in self.layers.values())

    @property
    def completed(self) -> int:
        return sum(min(layer.completed, layer.total) for layer in self.layers.values())

    def summary(self) -> str:
        """One status line for the whole pull."""
        if self.succeeded:
            return f"pulled {self.name} ({format_bytes(self.total)})"
        if not self.layers:
            return f"{self.name}: {self.status}"
        return (
            f"{self.name}: {self.status} · {format_bytes(self.completed)}"
            f" of {format_bytes(self.total)}"
        )
