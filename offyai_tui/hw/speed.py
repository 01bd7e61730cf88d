"""Decode speed estimates: memory bandwidth ÷ bytes read per token.

Generating one token reads every weight once, so decode speed is bound by memory
bandwidth: tokens/s ≈ usable bandwidth ÷ model size. Assumptions, all stated as ranges:

* NVIDIA: the card's spec bandwidth from :data:`NVIDIA_GBPS` (250 GB/s when the card is
  not listed), of which llama.cpp reaches 45–70 %.
* Apple Silicon GPU: the chip's bandwidth from :data:`APPLE_GBPS` (100 GB/s if unknown),
  45–70 % reached; its CPU cores reach 30–50 %.
* CPU: dual-channel DDR4/DDR5 gives 20–45 GB/s usable, and each physical core can
  consume only 6–12 GB/s, so few-core machines are capped lower.
* Partial offload: time per token is the GPU part at GPU speed plus the rest at CPU speed.

Runs measured on this machine beat all of this: a model's own runs are shown beside the
estimate, and runs of other large models replace the guessed bandwidth (calibration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from offyai_tui.hw.detect import GPU, Hardware
from offyai_tui.hw.fit import Fit
from offyai_tui.speedlog import Measured

GB = 1e9

NVIDIA_GBPS = {
    "RTX 5090": 1792, "RTX 5080": 960, "RTX 5070 TI": 896, "RTX 5070": 672, "RTX 5060 TI": 448,
    "RTX 5060": 448, "RTX 4090": 1008, "RTX 4080 SUPER": 736, "RTX 4080": 717,
    "RTX 4070 TI SUPER": 672, "RTX 4070 TI": 504, "RTX 4070 SUPER": 504, "RTX 4070": 504,
    "RTX 4060 TI": 288, "RTX 4060": 272, "RTX 3090 TI": 1008, "RTX 3090": 936,
    "RTX 3080 TI": 912, "RTX 3080": 760, "RTX 3070 TI": 608, "RTX 3070": 448,
    "RTX 3060 TI": 448, "RTX 3060": 360, "RTX 3050": 224, "RTX 2080 TI": 616,
    "RTX 2080 SUPER": 496, "RTX 2080": 448, "RTX 2070 SUPER": 448, "RTX 2070": 448,
    "RTX 2060 SUPER": 448, "RTX 2060": 336, "GTX 1660 TI": 288, "GTX 1660 SUPER": 336,
    "GTX 1660": 192, "GTX 1650": 128, "GTX 1080 TI": 484, "GTX 1080": 320, "GTX 1070": 256,
    "GTX 1060": 192, "RTX 4090 LAPTOP": 576, "RTX 4080 LAPTOP": 432, "RTX 4070 LAPTOP": 256,
    "RTX 4060 LAPTOP": 256, "RTX 4050 LAPTOP": 192, "RTX 3080 LAPTOP": 448,
    "RTX 3070 LAPTOP": 448, "RTX 3060 LAPTOP": 336, "TITAN RTX": 672, "RTX A6000": 768,
    "RTX A5000": 768, "RTX A4000": 448, "RTX 6000 ADA": 960, "A100": 1555, "A100 80GB": 2039,
    "H100": 2000, "H200": 4800, "L40S": 864, "L40": 864, "L4": 300, "A40": 696, "A10": 600,
    "A10G": 600, "T4": 320, "V100": 900, "P100": 732,
}  # fmt: skip
NVIDIA_DEFAULT_GBPS = 250

APPLE_GBPS = {
    "M1": 68, "M1 PRO": 200, "M1 MAX": 400, "M1 ULTRA": 800, "M2": 100, "M2 PRO": 200,
    "M2 MAX": 400, "M2 ULTRA": 800, "M3": 100, "M3 PRO": 150, "M3 MAX": 400, "M3 ULTRA": 819,
    "M4": 120, "M4 PRO": 273, "M4 MAX": 546, "M5": 153,
}  # fmt: skip
APPLE_DEFAULT_GBPS = 100

GPU_EFFICIENCY = (0.45, 0.70)
APPLE_CPU_EFFICIENCY = (0.30, 0.50)
CPU_GBPS = (20.0, 45.0)
CPU_GBPS_PER_CORE = (6.0, 12.0)


def lookup_gbps(name: str, table: dict[str, int]) -> int | None:
    """Spec bandwidth of the longest table key found in ``name`` as whole words."""
    upper = name.upper().replace("-", " ")
    best = None
    for key in table:
        if re.search(rf"(?<![A-Z0-9]){re.escape(key)}(?![A-Z0-9])", upper) and (
            best is None or len(key) > len(best)
        ):
            best = key
    return table[best] if best else None


@dataclass(frozen=True)
class Bandwidth:
    low: float
    """Bytes per second."""
    high: float
    basis: str


def gpu_bandwidth(gpu: GPU) -> Bandwidth:
    table, default = (
        (APPLE_GBPS, APPLE_DEFAULT_GBPS) if gpu.unified else (NVIDIA_GBPS, NVIDIA_DEFAULT_GBPS)
    )
    spec = lookup_gbps(gpu.name, table)
    basis = f"{gpu.name} ~{spec} GB/s" if spec else f"unlisted GPU, assumed {default} GB/s"
    spec = spec or default
    low, high = GPU_EFFICIENCY
    return Bandwidth(spec * low * GB, spec * high * GB, basis)


def cpu_bandwidth(hw: Hardware) -> Bandwidth:
    if hw.unified_memory:
        spec = lookup_gbps(hw.gpus[0].name, APPLE_GBPS) or APPLE_DEFAULT_GBPS
        low, high = APPLE_CPU_EFFICIENCY
        return Bandwidth(spec * low * GB, spec * high * GB, f"CPU of {hw.gpus[0].name}")
    cores = max(1, hw.physical_cores)
    low = min(CPU_GBPS[0], cores * CPU_GBPS_PER_CORE[0])
    high = min(CPU_GBPS[1], cores * CPU_GBPS_PER_CORE[1])
    return Bandwidth(low * GB, high * GB, f"CPU, {cores} cores, assumed {low:g}–{high:g} GB/s")


def _fmt(tps: float) -> str:
    return f"{tps:.1f}" if tps < 10 else f"{tps:.0f}"


@dataclass(frozen=True)
class SpeedEstimate:
    """Estimated decode speed, with what this machine measured when it has run the model."""

    low_tps: float
    high_tps: float
    basis: str
    """Where the bandwidth figure came from."""
    measured: Measured | None = None

    @property
    def mid_tps(self) -> float:
        return (self.low_tps + self.high_tps) / 2

    @property
    def sparkline(self) -> str:
        return self.measured.sparkline if self.measured else ""

    def label(self) -> str:
        """``9.5–15 tok/s · measured 12.1`` (either part may be absent)."""
        parts = []
        if self.high_tps > 0:
            parts.append(f"{_fmt(self.low_tps)}–{_fmt(self.high_tps)} tok/s")
        if self.measured:
            parts.append(f"measured {_fmt(self.measured.median_tps)}")
        return " · ".join(parts)


def estimate_speed(
    fit: Fit,
    hw: Hardware,
    *,
    measured: Measured | None = None,
    calibrated_bps: float | None = None,
) -> SpeedEstimate | None:
    """Decode tokens/s range for a model placed as ``fit`` says; ``None`` if it cannot run.

    ``calibrated_bps`` is the effective bandwidth measured here for the same placement
    (:meth:`offyai_tui.speedlog.SpeedLog.calibrated_bandwidth`); it narrows the range to
    ±15 % around what comparable runs achieved.
    """
    if not fit.fits or fit.need is None or fit.need.weights_bytes <= 0:
        return SpeedEstimate(0.0, 0.0, "measured only", measured) if measured else None
    weights = fit.need.weights_bytes
    if calibrated_bps and fit.kind in ("vram", "ram"):
        return SpeedEstimate(
            calibrated_bps * 0.85 / weights,
            calibrated_bps * 1.15 / weights,
            "calibrated by runs on this machine",
            measured,
        )
    cpu = cpu_bandwidth(hw)
    if fit.kind == "ram":
        return SpeedEstimate(cpu.low / weights, cpu.high / weights, cpu.basis, measured)
    gpu = min((gpu_bandwidth(g) for g in hw.gpus), key=lambda b: b.low)
    if fit.kind == "vram":
        return SpeedEstimate(gpu.low / weights, gpu.high / weights, gpu.basis, measured)
    on_gpu = weights * fit.gpu_layers / fit.n_layers
    on_cpu = weights - on_gpu
    low = 1 / (on_gpu / gpu.low + on_cpu / cpu.low)
    high = 1 / (on_gpu / gpu.high + on_cpu / cpu.high)
    return SpeedEstimate(low, high, f"{gpu.basis} + {cpu.basis}", measured)
