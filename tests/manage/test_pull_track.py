"""Pull progress: per-layer bytes, a speed over recent samples, time left."""

from __future__ import annotations

from offyai_tui.engines.base import PullProgress
from offyai_tui.manage.pull_track import PullTracker, format_eta

DIGEST = "sha256:" + "ab" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_and_eta_from_recent_samples() -> None:
    clock = Clock()
    tracker = PullTracker("llama3.2:3b", clock)
    assert tracker.update(PullProgress("pulling manifest")) is None
    layer = tracker.update(PullProgress("pulling abab", DIGEST, 10_000_000, 0))
    assert layer is not None and layer.short == "abababababab"
    assert layer.eta() is None
    clock.now += 1
    tracker.update(PullProgress("pulling abab", DIGEST, 10_000_000, 2_000_000))
    assert layer.rate() == 2_000_000
    assert layer.eta() == 4.0
    assert layer.describe() == "2.0 MB / 10.0 MB · 2.0 MB/s · 4s left"
    assert tracker.summary() == "llama3.2:3b: pulling abab · 2.0 MB of 10.0 MB"


def test_a_stall_lowers_the_speed_instead_of_being_averaged_away() -> None:
    clock = Clock()
    tracker = PullTracker("m", clock)
    for second in range(5):
        clock.now = 100.0 + second
        layer = tracker.update(PullProgress("p", DIGEST, 100_000_000, second * 5_000_000))
    assert layer is not None and layer.rate() == 5_000_000
    for second in range(5, 10):
        clock.now = 100.0 + second
        tracker.update(PullProgress("p", DIGEST, 100_000_000, 20_000_000))
    assert layer.rate() == 0
    assert layer.eta() is None
    assert "– left" in layer.describe()


def test_success_and_done_layers() -> None:
    tracker = PullTracker("m", Clock())
    tracker.update(PullProgress("p", DIGEST, 487, 487))
    tracker.update(PullProgress("success"))
    assert tracker.succeeded
    assert tracker.layers[DIGEST].describe() == "487 B · done"
    assert tracker.summary() == "pulled m (487 B)"


def test_format_eta() -> None:
    assert [format_eta(s) for s in (None, 0, 42.4, 185, 3720)] == [
        "–",
        "0s",
        "42s",
        "3m 05s",
        "1h 02m",
    ]
