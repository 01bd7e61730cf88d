"""bench/common.record: a section measured on its own keeps the whole run's facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import common


def test_a_section_run_alone_keeps_the_runs_facts_and_says_when_it_was_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.json"
    run = {"commit": "e70b2e9", "date": "2026-12-03T08:41:56+00:00", "load_avg_before": [0.8],
           "cores_logical": 99, "embedding_model": "all-minilm-l6-v2"}
    results.write_text(json.dumps({"machine": run, "ttft": {"x": 1}, "rag": {"old": True}}))
    monkeypatch.setattr(common, "RESULTS", results)
    common.record("rag", {"new": True})
    saved = json.loads(results.read_text())
    machine = saved["machine"]
    assert {k: machine[k] for k in ("commit", "date", "load_avg_before", "embedding_model")} == {
        k: run[k] for k in ("commit", "date", "load_avg_before", "embedding_model")}
    assert machine["cores_logical"] == common.machine()["cores_logical"]  # refreshed
    assert saved["ttft"] == {"x": 1}
    assert saved["rag"]["new"] is True and "old" not in saved["rag"]
    measured = saved["rag"]["measured"]
    assert measured["commit"] == common.git_commit()
    assert measured["date"] > run["date"] and len(measured["load_avg"]) == 3


def test_a_missing_or_broken_file_starts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results.json"
    results.write_text("{not json")
    monkeypatch.setattr(common, "RESULTS", results)
    common.record("ttft", {"ratio": 0.6})
    saved = json.loads(results.read_text())
    assert saved["ttft"]["ratio"] == 0.6 and saved["machine"] == common.machine()


def test_a_partial_run_keeps_the_other_sections_stamped_with_their_own_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import run_all

    results = tmp_path / "results.json"
    run = {"commit": "e70b2e9", "date": "2026-12-03T08:41:56+00:00", "load_avg_before": [0.8]}
    results.write_text(json.dumps({
        "machine": run, "quick": False, "table": ["old"], "rag": {"old": True},
        "ttft": {"x": 1}, "startup": {"y": 2, "measured": {"commit": "abc"}},
    }))
    monkeypatch.setattr(run_all, "RESULTS", results)
    kept = run_all.kept_sections({"rag": {"new": True}})
    assert set(kept) == {"ttft", "startup"}
    assert kept["ttft"] == {"x": 1, "measured": {
        "date": run["date"], "commit": "e70b2e9", "load_avg": [0.8]}}
    assert kept["startup"]["measured"] == {"commit": "abc"}  # stamped once, when measured
    results.unlink()
    assert run_all.kept_sections({}) == {}
