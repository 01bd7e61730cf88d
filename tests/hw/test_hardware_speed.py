"""Speed estimates: tokens per second from memory bandwidth, per-layer floors and compute,
GPU bandwidth tables, time to first token, and measured runs beside or calibrating them."""

from __future__ import annotations

import dataclasses

import pytest

from offyai_tui.hw import catalog
from offyai_tui.hw.gpus import NVIDIA_GBPS, lookup, spec_of, vendor_of
from offyai_tui.hw.hardware import (
    GPU,
    ModelShape,
    SpeedLog,
    assess,
    cpu_bandwidth,
    estimate_speed,
    fit_model,
    gpu_bandwidth,
)
from offyai_tui.hw.speed import LAYER_FLOOR_S
from offyai_tui.hw.speedlog import SpeedRun
from tests.hw.hw_helpers import (
    DESKTOP_16GB_8GB_VRAM,
    LAPTOP_8GB,
    LLAMA3_8B,
    WORKSTATION_64GB_24GB_VRAM,
    GiB,
    machine,
)

# --- speed -----------------------------------------------------------------------


def _expected(weights: float, layers: int, low_bps: float, high_bps: float, floor) -> tuple:
    """tokens/s range from the model's own formula: floor per layer + weights / bandwidth."""
    return 1 / (floor[1] * layers + weights / low_bps), 1 / (floor[0] * layers + weights / high_bps)


def test_cpu_speed_is_ram_or_thread_bandwidth_over_weights_plus_a_floor() -> None:
    shape = dataclasses.replace(LLAMA3_8B, weights_bytes=4 * 10**9)
    speed = estimate_speed(fit_model(shape, LAPTOP_8GB), LAPTOP_8GB)
    # Unknown RAM: 60 GB/s spec at 35–65 %; 4 threads could stream 24–48 GB/s.
    low, high = _expected(4e9, 32, 21e9, 39e9, LAYER_FLOOR_S["cpu"])
    assert (speed.low_tps, speed.high_tps) == pytest.approx((low, high))
    assert speed.label() == f"{low:.1f}–{high:.1f} tok/s"
    two_cores = dataclasses.replace(LAPTOP_8GB, physical_cores=2)
    speed = estimate_speed(fit_model(shape, two_cores), two_cores)
    # Two threads stream at most 12–24 GB/s, less than the RAM could give.
    low, high = _expected(4e9, 32, 12e9, 24e9, LAYER_FLOOR_S["cpu"])
    assert (speed.low_tps, speed.high_tps) == pytest.approx((low, high))
    assert "2 threads" in speed.basis
    known_ram = dataclasses.replace(LAPTOP_8GB, memory_gbps=25.6)
    speed = estimate_speed(fit_model(shape, known_ram), known_ram)
    low, high = _expected(4e9, 32, 25.6e9 * 0.35, 25.6e9 * 0.65, LAYER_FLOOR_S["cpu"])
    assert (speed.low_tps, speed.high_tps) == pytest.approx((low, high))


def test_gpu_speed_uses_the_card_bandwidth() -> None:
    hw = WORKSTATION_64GB_24GB_VRAM
    speed = estimate_speed(fit_model(LLAMA3_8B, hw), hw)
    low, high = _expected(4.9e9, 32, 1008e9 * 0.75, 1008e9 * 0.95, LAYER_FLOOR_S["nvidia"])
    assert (speed.low_tps, speed.high_tps) == pytest.approx((low, high))
    assert speed.basis == "NVIDIA GeForce RTX 4090 ~1008 GB/s"
    unknown = gpu_bandwidth(GPU("NVIDIA Mystery 9", 8 * GiB))
    assert unknown.low == pytest.approx(250e9 * 0.75)
    assert unknown.basis == "unlisted GPU, assumed 250 GB/s"
    hbm = gpu_bandwidth(GPU("NVIDIA H100 PCIe", 80 * GiB))
    assert (hbm.low, hbm.high) == pytest.approx((2000e9 * 0.40, 2000e9 * 0.65))


def test_a_tiny_model_is_bound_by_the_per_token_floor_not_bandwidth() -> None:
    """The issue's H200: SmolLM2 135M must not be estimated at tens of thousands tok/s."""
    h200 = machine(256 * GiB, gpu="NVIDIA H200", vram_mib=143771)
    smol = ModelShape(
        n_layers=30, n_kv_heads=3, key_length=64, value_length=64,
        weights_bytes=98_000_000, n_heads=9, params=135e6, quant="Q4_1",
    )  # fmt: skip
    speed = estimate_speed(fit_model(smol, h200), h200)
    bandwidth_only = 4800e9 * 0.65 / smol.weights_bytes
    assert speed.high_tps < bandwidth_only / 10
    assert speed.high_tps <= 1 / (30 * LAYER_FLOOR_S["nvidia"][0])


@pytest.mark.parametrize(
    ("name", "gbps"),
    [
        ("NVIDIA GeForce RTX 4060 Ti", 288),
        ("NVIDIA GeForce RTX 4060", 272),
        ("NVIDIA GeForce RTX 4090 Laptop GPU", 576),
        ("NVIDIA A10", 600),
        ("NVIDIA A100-SXM4-40GB", 1555),
        ("Tesla T4", 320),
        ("NVIDIA RTX 6000 Ada Generation", 960),
        ("NVIDIA H200", 4800),
        ("NVIDIA GeForce GT 710", None),
    ],
)
def test_gpu_bandwidth_table_matches_whole_names(name: str, gbps: int | None) -> None:
    assert lookup(name, NVIDIA_GBPS) == gbps


@pytest.mark.parametrize(
    ("name", "vendor", "gbps"),
    [
        ("Radeon RX 7900 XT", "amd", 800),
        ("Navi 31 [Radeon RX 7900 XT/7900 XTX]", "amd", 800),
        ("AMD Instinct MI300X", "amd", 5300),
        ("Intel Arc A770 Graphics", "intel", 560),
        ("Apple M3 Max", "apple", 400),
    ],
)
def test_other_vendors_are_recognised(name: str, vendor: str, gbps: int) -> None:
    assert vendor_of(name) == vendor
    assert spec_of(name).gbps == gbps


def test_partial_offload_speed_lies_between_cpu_and_gpu() -> None:
    hw = DESKTOP_16GB_8GB_VRAM
    shape = catalog.lookup("qwen3:14b").shape()
    fit = fit_model(shape, hw)
    assert fit.kind == "partial"
    partial = estimate_speed(fit, hw)
    cpu_only = estimate_speed(dataclasses.replace(fit, kind="ram", gpu_layers=0), hw)
    gpu_only = estimate_speed(dataclasses.replace(fit, kind="vram", gpu_layers=shape.n_layers), hw)
    assert cpu_only.low_tps < partial.low_tps < gpu_only.low_tps
    assert cpu_only.high_tps < partial.high_tps < gpu_only.high_tps


def test_several_gpus_add_their_times_like_one_gpu_of_the_same_kind() -> None:
    one = machine(128 * GiB, gpu="NVIDIA GeForce RTX 4090", vram_mib=24564)
    two = dataclasses.replace(one, gpus=one.gpus * 2)
    seventy = catalog.lookup("llama3.1:70b").shape()
    assert fit_model(seventy, one).kind == "partial"
    fit = fit_model(seventy, two)
    assert fit.kind == "vram"
    speed = estimate_speed(fit, two)
    low, high = _expected(
        seventy.weights_bytes, 80, 1008e9 * 0.75, 1008e9 * 0.95, LAYER_FLOOR_S["nvidia"]
    )
    assert (speed.low_tps, speed.high_tps) == pytest.approx((low, high))
    assert "2 GPUs, layers split" in speed.basis


def test_apple_speed_uses_the_chip_bandwidth_and_dequantization_compute() -> None:
    mac = dataclasses.replace(
        machine(32 * GiB),
        gpus=(GPU("Apple M1 Max", 32 * GiB * 2 // 3, 0, vendor="apple", unified=True),),
        memory_gbps=400,
    )
    shape = dataclasses.replace(LLAMA3_8B, params=8.0e9, quant="Q4_K_M")
    speed = estimate_speed(fit_model(shape, mac), mac)
    floor = LAYER_FLOOR_S["apple"]
    bandwidth_high = 1 / (floor[0] * 32 + 4.9e9 / (400e9 * 0.95))
    compute_high = 1 / (floor[0] * 32 + 8.0e9 * 24 / 10.4e12)
    assert speed.high_tps == pytest.approx(min(bandwidth_high, compute_high))
    assert compute_high < bandwidth_high  # the M1 Max GPU is compute-bound on Q4_K_M
    f16 = dataclasses.replace(shape, weights_bytes=16_000_000_000, quant="F16")
    speed = estimate_speed(fit_model(f16, mac), mac)
    assert speed.high_tps == pytest.approx(1 / (floor[0] * 32 + 16e9 / (400e9 * 0.95)))
    assert cpu_bandwidth(mac).high == pytest.approx(min(400e9 * 0.65, 8 * 12e9))


def test_prompt_processing_gives_a_time_to_first_token() -> None:
    hw = WORKSTATION_64GB_24GB_VRAM
    speed = estimate_speed(fit_model(LLAMA3_8B, hw), hw)
    fast, slow = speed.ttft_s(1000)
    assert 0 < fast < slow
    laptop = estimate_speed(fit_model(LLAMA3_8B, machine(16 * GiB, cores=4)), machine(16 * GiB))
    assert laptop.ttft_s(1000)[0] > slow  # a CPU reads a prompt far slower than a 4090


def test_no_speed_for_a_model_that_does_not_fit() -> None:
    big = fit_model(catalog.lookup("llama3.1:70b").shape(), LAPTOP_8GB)
    assert estimate_speed(big, LAPTOP_8GB) is None


def test_measured_runs_appear_beside_the_estimate() -> None:
    log = SpeedLog()
    for tps in (10.0, 12.0, 11.0):
        assert log.record(SpeedRun("llama3.1:8b", tps, engine="ollama", completion_tokens=32))
    hw = machine(16 * GiB)
    result = assess(LLAMA3_8B, hw, model="llama3.1:8b", log=log)
    assert result.speed.low_tps > 0
    assert result.speed.measured.median_tps == 11.0
    assert result.speed.label().endswith(" · measured 11")
    assert result.speed.sparkline == "▇█▇"
    assert result.expected_tps == 11.0
    assert assess(LLAMA3_8B, hw, model="other", log=log).speed.measured is None
    too_big = assess(LLAMA3_8B, LAPTOP_8GB, model="llama3.1:8b", log=log)
    assert too_big.fit.kind == "none"
    assert too_big.speed.label() == "measured 11"


def test_runs_of_large_models_calibrate_other_estimates() -> None:
    log = SpeedLog()
    log.record(SpeedRun("qwen2.5:7b", 8.0, size_bytes=5 * 10**9, placement="ram"))
    result = assess(LLAMA3_8B, machine(16 * GiB), model="llama3.1:8b", log=log)
    assert result.speed.basis == "calibrated by runs on this machine"
    assert result.speed.low_tps == pytest.approx(40e9 * 0.85 / 4.9e9)
    assert result.speed.high_tps == pytest.approx(40e9 * 1.15 / 4.9e9)
    on_gpu = assess(LLAMA3_8B, WORKSTATION_64GB_24GB_VRAM, log=log)
    assert on_gpu.speed.basis.startswith("NVIDIA GeForce RTX 4090")
