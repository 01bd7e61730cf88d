"""Measured decode speeds: sparkline rendering and the bounded, private JSONL store."""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path

import pytest

from offyai_tui.engines.base import ChatStats
from offyai_tui.hw import speedlog
from offyai_tui.hw.speedlog import SpeedLog, SpeedRun, sparkline

# --- sparkline -------------------------------------------------------------------


def test_sparkline_spans_the_blocks() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([8, 1]) == "█▁"


def test_sparkline_edge_cases() -> None:
    assert sparkline([]) == ""
    assert sparkline([5.0]) == "▄"
    assert sparkline([3, 3, 3]) == "▄▄▄"
    assert sparkline([math.nan, 1, math.inf, 2]) == " ▁ █"
    assert sparkline([math.nan]) == " "
    assert sparkline([-2, 0, 2]) == "▁▅█"


def test_sparkline_width_keeps_the_newest_values() -> None:
    assert sparkline([100, 1, 2], width=2) == "▁█"
    assert sparkline([1, 2, 3], width=0) == ""
    assert sparkline([1, 2], width=10) == "▁█"


def test_sparkline_with_a_zero_baseline_shows_noise_as_noise() -> None:
    assert sparkline([10, 11, 12], lo=0) == "▇▇█"
    assert sparkline([10, 11, 12]) == "▁▅█"
    assert sparkline([5, 20], lo=0, hi=10) == "▅█"


# --- store -----------------------------------------------------------------------


def test_runs_are_stored_privately_in_the_data_dir(offyai_home: Path) -> None:
    log = SpeedLog()
    assert log.path == offyai_home / "data" / "speedlog.jsonl"
    assert log.record(SpeedRun("qwen3:8b", 12.5, engine="ollama", completion_tokens=40))
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    (run,) = SpeedLog().runs()
    assert (run.model, run.tokens_per_s, run.engine, run.completion_tokens) == (
        "qwen3:8b", 12.5, "ollama", 40
    )  # fmt: skip
    assert run.at > 0
    assert json.loads(log.path.read_text())["model"] == "qwen3:8b"


def test_record_stats_skips_short_and_speedless_answers() -> None:
    log = SpeedLog()
    base = ChatStats(model="m", completion_tokens=32, tokens_per_s=20.0)
    assert log.record_stats(base, engine="llamacpp", size_bytes=2_000_000_000, placement="ram")
    short = ChatStats(model="m", completion_tokens=speedlog.MIN_TOKENS - 1, tokens_per_s=20.0)
    assert not log.record_stats(short)
    assert not log.record_stats(ChatStats(model="m", completion_tokens=32, tokens_per_s=0.0))
    assert not log.record_stats(ChatStats(model="", completion_tokens=32, tokens_per_s=5.0))
    assert not log.record(SpeedRun("m", math.nan))
    assert not log.record(SpeedRun("m", math.inf))
    (run,) = log.runs()
    assert (run.engine, run.size_bytes, run.placement) == ("llamacpp", 2_000_000_000, "ram")


def test_measured_summarises_recent_runs_per_model_and_engine() -> None:
    log = SpeedLog()
    speeds = [float(s) for s in range(1, 26)]
    for speed in speeds:
        log.record(SpeedRun("a", speed, engine="ollama"))
    log.record(SpeedRun("a", 99.0, engine="llamacpp"))
    log.record(SpeedRun("b", 7.0, engine="ollama"))
    measured = log.measured("a", "ollama")
    assert measured.runs == 25
    assert measured.recent == tuple(speeds[-speedlog.RECENT :])
    assert measured.median_tps == 15.5
    assert measured.last_tps == 25.0
    assert len(measured.sparkline) == speedlog.RECENT
    assert measured.label() == "measured 15.5 tok/s (25 runs)"
    assert log.measured("a").last_tps == 99.0
    assert log.measured("b").label() == "measured 7.0 tok/s (1 run)"
    assert log.measured("c") is None


def test_unreadable_lines_are_skipped_not_fatal() -> None:
    log = SpeedLog()
    log.record(SpeedRun("a", 10.0))
    with log.path.open("a", encoding="utf-8") as handle:
        handle.write('not json\n{"model": "a"}\n{"model": "a", "tokens_per_s": -1}\n')
        handle.write('{"model": "a", "tokens_per_s": "fast"}\n[1, 2]\n\n')
    log.record(SpeedRun("a", 20.0))
    assert [r.tokens_per_s for r in SpeedLog().runs("a")] == [10.0, 20.0]


def test_the_file_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speedlog, "MAX_BYTES", 2000)
    monkeypatch.setattr(speedlog, "MAX_RUNS", 5)
    log = SpeedLog()
    for i in range(1, 60):
        assert log.record(SpeedRun("m", float(i), at=float(i)))
        assert log.path.stat().st_size <= 2000 + 300
    runs = log.runs()
    assert runs[-1].tokens_per_s == 59.0
    assert len(runs) < 20
    assert [r.tokens_per_s for r in runs] == sorted(r.tokens_per_s for r in runs)
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


def test_a_store_that_cannot_be_written_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    log = SpeedLog(blocker / "speedlog.jsonl")
    assert not log.record(SpeedRun("m", 10.0))
    assert log.runs() == []
    assert log.measured("m") is None


def test_calibration_uses_large_models_of_the_same_placement() -> None:
    log = SpeedLog()
    assert log.calibrated_bandwidth("ram") is None
    log.record(SpeedRun("big", 10.0, size_bytes=4_000_000_000, placement="ram"))
    log.record(SpeedRun("big", 12.0, size_bytes=4_000_000_000, placement="ram"))
    log.record(SpeedRun("big2", 8.0, size_bytes=5_000_000_000, placement="ram"))
    log.record(SpeedRun("tiny", 300.0, size_bytes=100_000_000, placement="ram"))
    log.record(SpeedRun("gpu", 100.0, size_bytes=5_000_000_000, placement="vram"))
    log.record(SpeedRun("unknown", 50.0, size_bytes=5_000_000_000))
    assert log.calibrated_bandwidth("ram") == 40e9
    assert log.calibrated_bandwidth("vram") == 500e9
    assert log.calibrated_bandwidth("partial") is None
