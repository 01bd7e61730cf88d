"""Recorded speeds end to end: ``offyai ask`` with the bundled model, then ``offyai models``.

Real processes, the real embedded engine and the real speed log file: what the answer
measured must come back beside the estimate, in the table and in ``--json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from offyai_tui.hw.speedlog import SpeedLog
from tests.e2e.conftest import run_offyai

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"


def test_ask_records_its_speed_and_models_shows_it_beside_the_estimate(
    app_home, user_home
) -> None:
    asked = run_offyai(
        ["ask", "--max-tokens", "24", "--stats", "Tell a long story about a lighthouse."],
        app_home,
        user_home,
    )
    assert asked.returncode == 0, asked.stderr
    runs = SpeedLog().runs(MODEL)  # OFFYAI_HOME is the child's: the same file
    assert len(runs) == 1, SpeedLog().path
    run = runs[0]
    assert run.engine == "llamacpp"
    assert run.placement == "ram"  # the embedded engine is a CPU build here
    assert run.completion_tokens == 24
    assert run.tokens_per_s > 0 and run.prompt_tokens_per_s > 0
    assert run.size_bytes > 50_000_000  # the GGUF's size, for calibration
    printed = float(asked.stderr.split(" tok/s")[0].rsplit("· ", 1)[1])
    assert run.tokens_per_s == pytest.approx(printed, abs=0.06)

    listed = run_offyai(["models", "--engine", "llamacpp"], app_home, user_home)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(MODEL + " "))
    measured = f"{run.tokens_per_s:.1f}" if run.tokens_per_s < 10 else f"{run.tokens_per_s:.0f}"
    assert f"tok/s · measured {measured}" in row, row

    as_json = run_offyai(["models", "--engine", "llamacpp", "--json"], app_home, user_home)
    doc = json.loads(as_json.stdout)
    smol = next(m for m in doc["models"] if m["name"] == MODEL)
    assert smol["measured"]["runs"] == 1
    assert smol["measured"]["median_tokens_per_s"] == pytest.approx(run.tokens_per_s, abs=0.01)
    assert smol["fit"] == "cpu" and smol["tokens_per_s"][0] > 0


def test_on_an_h200_the_embedded_cpu_engine_is_not_estimated_on_the_gpu(
    app_home, user_home, tmp_path
) -> None:
    """The issue's report: "GPU · 21960–34159 tok/s" for SmolLM2 on the embedded engine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    capture = Path(__file__).parents[1] / "hw" / "data" / "captured" / "nvidia-smi-h200.txt"
    fake = bin_dir / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\ncat '{capture}'\n", encoding="utf-8")
    fake.chmod(0o755)
    path = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    doctor = run_offyai(["doctor"], app_home, user_home, PATH=path)
    assert "hardware   GPU NVIDIA H200, 140.4 GiB VRAM (139.8 GiB free)" in doctor.stdout
    assert "hardware   detected by nvidia-smi: 1 GPU" in doctor.stdout
    assert "hardware   embedded engine CPU only: " in doctor.stdout
    args = ["models", "--engine", "llamacpp", "--json"]
    listed = run_offyai(args, app_home, user_home, PATH=path)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    assert "NVIDIA H200" in doc["machine"]
    smol = next(m for m in doc["models"] if m["name"] == MODEL)
    assert smol["fit"] == "cpu" and smol["fit_label"] == "CPU"
    low, high = smol["tokens_per_s"]
    assert 0 < low < high < 500
    assert smol["speed_basis"].startswith("CPU, ")
