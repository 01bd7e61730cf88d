"""The speed model against published llama.cpp measurements (``data/published_tg.csv``).

Each row describes a machine with the same flags ``offyai fit`` takes, a model by its
shape and file size, and the decode speed someone measured. The model's range must hold
the measurement for at least 70 % of rows, its midpoint must be within 2^0.3 (±23 %) of
the measurement for the median row, the median range must be no wider than ×2, and no
model that does not fit in GPU memory may be called a GPU fit.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.hw.detect import GiB, Hardware
from offyai_tui.hw.fit import ModelShape, fit_model, usable_vram
from offyai_tui.hw.speed import estimate_speed
from offyai_tui.hw.whatif import described_machine

TABLE = Path(__file__).parent / "data" / "published_tg.csv"
BASE = Hardware("test CPU", 8, 16, 64 * GiB, 64 * GiB, system="Linux", machine="x86_64")


@dataclass(frozen=True)
class Row:
    hardware: str
    model: str
    quant: str
    measured: float
    low: float
    high: float
    verdict: str
    need: int
    vram: int
    source: str

    @property
    def inside(self) -> bool:
        return self.low <= self.measured <= self.high

    @property
    def log_error(self) -> float:
        if not self.high:
            return math.inf
        return abs(math.log2((self.low + self.high) / 2 / self.measured))

    @property
    def width(self) -> float:
        return self.high / self.low if self.low else math.inf


def _gpus(cell: str) -> list[str]:
    if not cell:
        return []
    spec, _, count = cell.partition("*")
    return [spec] * int(count or 1)


def evaluate() -> list[Row]:
    lines = [line for line in TABLE.read_text("utf-8").splitlines() if not line.startswith("#")]
    rows = []
    for raw in csv.DictReader(lines):
        hw = described_machine(
            BASE,
            gpus=_gpus(raw["gpus"]) or ["none"],
            apple=raw["apple"],
            ram_gib=float(raw["ram_gib"]),
            cores=int(raw["cores"]),
            memory_gbps=float(raw["ram_gbps"]),
        )
        shape = ModelShape(
            n_layers=int(raw["layers"]),
            n_kv_heads=int(raw["kv_heads"]),
            key_length=int(raw["head_dim"]),
            value_length=int(raw["head_dim"]),
            weights_bytes=int(float(raw["size_gib"]) * GiB),
            n_heads=int(raw["heads"]),
            params=float(raw["params_b"]) * 1e9,
            quant=raw["quant"],
        )
        fit = fit_model(shape, hw, int(raw["n_ctx"]))
        speed = estimate_speed(fit, hw)
        # "too big" predicts nothing: the row counts as a miss.
        low, high = (speed.low_tps, speed.high_tps) if speed else (0.0, 0.0)
        rows.append(
            Row(
                raw["hardware"], raw["model"], raw["quant"], float(raw["tg_tps"]),
                low, high, fit.kind,
                fit.need.total if fit.need else 0, usable_vram(hw), raw["source"],
            )
        )  # fmt: skip
    return rows


def summary(rows: list[Row]) -> str:
    inside = sum(r.inside for r in rows) / len(rows)
    log_err = statistics.median(r.log_error for r in rows)
    width = statistics.median(r.width for r in rows)
    misses = "\n".join(
        f"  {r.hardware} {r.model} {r.quant}: measured {r.measured:g},"
        f" predicted {r.low:.1f}–{r.high:.1f} ({r.verdict})"
        for r in rows
        if not r.inside
    )
    return (
        f"{len(rows)} rows: {inside:.0%} inside the range, median |log2(mid/measured)|"
        f" {log_err:.2f}, median width x{width:.2f}\nmisses:\n{misses}"
    )


def test_the_table_is_large_and_cites_every_row() -> None:
    rows = evaluate()
    assert len(rows) >= 30
    kinds = {r.verdict for r in rows}
    assert {"vram", "ram"} <= kinds
    assert all(r.source for r in rows)
    text = TABLE.read_text("utf-8")
    assert "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference" in text


def test_measured_speeds_fall_inside_the_predicted_ranges() -> None:
    rows = evaluate()
    report = summary(rows)
    print(report)
    assert sum(r.inside for r in rows) / len(rows) >= 0.70, report
    assert statistics.median(r.log_error for r in rows) <= 0.3, report
    assert statistics.median(r.width for r in rows) <= 2.0, report


def test_no_gpu_verdict_for_a_model_that_does_not_fit_in_gpu_memory() -> None:
    for row in evaluate():
        if row.verdict == "vram":
            assert row.need <= row.vram, f"{row.hardware} {row.model} {row.quant}"
