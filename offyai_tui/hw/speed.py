"""Decode and prompt speed estimates, from the physics of one token.

Generating one token reads every weight once, so the time per token is

    t = per-token floor + max(weights ÷ reachable bandwidth, dequantization compute)

and tokens/s = 1 / t. Every factor is a range, and the estimate is the range it spans:

* **Reachable bandwidth**: the spec bandwidth (:mod:`offyai_tui.hw.gpus`) times what
  llama.cpp's batch-1 kernels reach: 75–95 % on GDDR cards, 40–65 % on HBM datacenter
  parts (A100/H100 reach about 1 TB/s on a 70B model, half their spec), 65–95 % on Apple
  GPUs. On the CPU, 35–65 % of the RAM's spec bandwidth, and at most 6–12 GB/s per
  thread: few threads cannot stream memory as fast as the channels could.
* **Per-token floor**: launching each layer's kernels, synchronising threads and
  sampling cost time whatever the model size: 0.02–0.1 ms per layer on NVIDIA GPUs
  (0.05–0.12 AMD, 0.03–0.1 Apple, 0.02–0.08 CPU). This is why a 135M model does not run
  at thousands of tokens/s on a fast GPU: its 30 layers cost 0.6–3 ms each token.
* **Dequantization compute** (Apple GPUs only): unpacking quantized weights costs
  24–36 FP32 operations per parameter for 4-bit types and 12–18 for 8-bit; CUDA and ROCm
  use integer dot products and stay bandwidth-bound.
* **Several GPUs** split the layers (llama.cpp's default layer split, as Ollama does):
  the token visits them one after another, so times add, each GPU at its own speed.
* **Partial offload**: GPU layers at GPU speed plus the rest at CPU speed.

Prompt processing is compute-bound: 2 FLOPs per parameter per prompt token, at 30–90 %
of the GPU's dense FP16 throughput (45–80 % of FP32 on Apple GPUs, 40–100 GFLOPS per CPU
thread). The time to first token is the prompt at that rate plus one decoded token.

These constants are physical, not fitted per row: ``tests/hw/test_accuracy.py`` checks
them against published llama.cpp measurements. Runs measured on this machine beat all of
it: a model's own runs are shown beside the estimate, and runs of other models of a
gigabyte or more replace the guessed bandwidth (calibration).
"""

from __future__ import annotations

from dataclasses import dataclass

from offyai_tui.hw.detect import GPU, Hardware
from offyai_tui.hw.fit import Fit, ModelShape
from offyai_tui.hw.gpus import spec_of
from offyai_tui.hw.speedlog import Measured

GB = 1e9
MS = 1e-3

GDDR_EFFICIENCY = (0.75, 0.95)
HBM_EFFICIENCY = (0.40, 0.65)
APPLE_EFFICIENCY = (0.65, 0.95)
OTHER_GPU_EFFICIENCY = (0.65, 0.90)
HBM_PARTS = ("A100", "H100", "H200", "GH200", "B200", "MI2", "MI3", "MI1", "MI50", "MI60", "V100")

LAYER_FLOOR_S = {
    "nvidia": (0.02 * MS, 0.10 * MS),
    "amd": (0.05 * MS, 0.12 * MS),
    "intel": (0.05 * MS, 0.15 * MS),
    "apple": (0.03 * MS, 0.10 * MS),
    "cpu": (0.02 * MS, 0.08 * MS),
    "calibrated": (0.0, 0.0),
}
"""Seconds per layer per token. A calibrated bandwidth already includes the floor."""
DEQUANT_FLOPS_PER_PARAM = {4: (24.0, 36.0), 5: (24.0, 36.0), 6: (20.0, 30.0), 8: (12.0, 18.0)}

CPU_MEMORY_EFFICIENCY = (0.35, 0.65)
CPU_GBPS_PER_THREAD = (6.0, 12.0)
DEFAULT_RAM_GBPS = 60.0
"""Dual-channel DDR4-3200 to DDR5-4800, when the machine's RAM speed is not known."""

PROMPT_GPU_EFFICIENCY = (0.30, 0.90)
PROMPT_APPLE_EFFICIENCY = (0.45, 0.80)
PROMPT_CPU_GFLOPS_PER_THREAD = (40.0, 100.0)
BITS_PER_WEIGHT = {"F32": 32, "F16": 16, "BF16": 16, "Q8_0": 8.5, "Q6_K": 6.56, "Q5_K_M": 5.7,
                   "Q5_0": 5.5, "Q4_K_M": 4.85, "Q4_K_S": 4.6, "Q4_0": 4.55, "Q4_1": 5.0,
                   "Q3_K_M": 3.9, "Q2_K": 3.0}  # fmt: skip


@dataclass(frozen=True)
class Bandwidth:
    low: float
    """Bytes per second."""
    high: float
    basis: str


def _efficiency(gpu: GPU) -> tuple[float, float]:
    if gpu.unified or gpu.vendor == "apple":
        return APPLE_EFFICIENCY
    upper = gpu.name.upper()
    if any(part in upper for part in HBM_PARTS):
        return HBM_EFFICIENCY
    return GDDR_EFFICIENCY if gpu.vendor in ("nvidia", "amd") else OTHER_GPU_EFFICIENCY


def gpu_bandwidth(gpu: GPU) -> Bandwidth:
    """What llama.cpp's decode kernels reach on ``gpu`` (bytes/s)."""
    spec = spec_of(gpu.name, gpu.vendor)
    basis = (
        f"{gpu.name} ~{spec.gbps:g} GB/s"
        if spec.listed
        else f"unlisted GPU, assumed {spec.gbps:g} GB/s"
    )
    low, high = _efficiency(gpu)
    return Bandwidth(spec.gbps * low * GB, spec.gbps * high * GB, basis)


def cpu_threads(hw: Hardware, threads: int | None = None) -> int:
    return max(1, threads or hw.physical_cores)


def cpu_bandwidth(hw: Hardware, threads: int | None = None) -> Bandwidth:
    """What ``threads`` CPU threads stream from RAM (bytes/s)."""
    n = cpu_threads(hw, threads)
    spec = hw.memory_gbps or DEFAULT_RAM_GBPS
    low = min(spec * CPU_MEMORY_EFFICIENCY[0], n * CPU_GBPS_PER_THREAD[0])
    high = min(spec * CPU_MEMORY_EFFICIENCY[1], n * CPU_GBPS_PER_THREAD[1])
    known = f"{spec:g} GB/s RAM" if hw.memory_gbps else f"RAM assumed {spec:g} GB/s"
    threads = f"{n} thread" if n == 1 else f"{n} threads"
    return Bandwidth(low * GB, high * GB, f"CPU, {threads}, {known}")


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
    prompt_low_tps: float = 0.0
    """Prompt processing speed range (tokens/s); 0 when unknown."""
    prompt_high_tps: float = 0.0

    @property
    def mid_tps(self) -> float:
        return (self.low_tps + self.high_tps) / 2

    @property
    def sparkline(self) -> str:
        return self.measured.sparkline if self.measured else ""

    def ttft_s(self, prompt_tokens: int) -> tuple[float, float]:
        """(fastest, slowest) seconds to the first token after ``prompt_tokens`` of prompt."""
        if not self.prompt_high_tps or not self.high_tps:
            return (0.0, 0.0)
        fast = prompt_tokens / self.prompt_high_tps + 1 / self.high_tps
        slow = prompt_tokens / self.prompt_low_tps + 1 / self.low_tps
        return (fast, slow)

    def label(self) -> str:
        """``9.5–15 tok/s · measured 12.1`` (either part may be absent)."""
        parts = []
        if self.high_tps > 0:
            parts.append(f"{_fmt(self.low_tps)}–{_fmt(self.high_tps)} tok/s")
        if self.measured:
            parts.append(f"measured {_fmt(self.measured.median_tps)}")
        return " · ".join(parts)


def model_params(shape: ModelShape) -> float:
    """Parameters: from metadata, else from the file size and its quantization."""
    if shape.params:
        return shape.params
    bits = BITS_PER_WEIGHT.get(shape.quant.upper(), 4.85)
    return shape.weights_bytes * 8 / bits


def _quant_bits(shape: ModelShape) -> int:
    bits = BITS_PER_WEIGHT.get(shape.quant.upper())
    if bits is None:
        bits = shape.weights_bytes * 8 / shape.params if shape.params else 4.85
    return int(bits)


@dataclass(frozen=True)
class _Device:
    """One place layers run: a GPU or the CPU, with its share of the model."""

    kind: str
    bandwidth: Bandwidth
    tflops: float = 0.0
    """FP32 TFLOPS where dequantization is compute-bound (Apple GPUs), else 0."""


def _token_time(
    device: _Device, weights: float, params: float, layers: float, bits: int
) -> tuple[float, float]:
    """(fastest, slowest) seconds to pass one token through this share of the model."""
    floor = LAYER_FLOOR_S.get(device.kind, LAYER_FLOOR_S["cpu"])
    fast = weights / device.bandwidth.high
    slow = weights / device.bandwidth.low
    if device.tflops and bits < 16:
        lo_ops, hi_ops = DEQUANT_FLOPS_PER_PARAM.get(bits, DEQUANT_FLOPS_PER_PARAM[4])
        fast = max(fast, params * lo_ops / (device.tflops * 1e12))
        slow = max(slow, params * hi_ops / (device.tflops * 1e12))
    return floor[0] * layers + fast, floor[1] * layers + slow


def _gpu_device(gpu: GPU) -> _Device:
    spec = spec_of(gpu.name, gpu.vendor)
    kind = "apple" if gpu.unified else gpu.vendor
    return _Device(kind, gpu_bandwidth(gpu), spec.tflops if kind == "apple" else 0.0)


def _prompt_rate(hw: Hardware, fit: Fit, params: float, threads: int) -> tuple[float, float]:
    """Prompt tokens/s (low, high): compute-bound, 2 FLOPs per parameter per token."""
    flops = 2 * params
    cpu = (
        cpu_threads(hw, threads) * PROMPT_CPU_GFLOPS_PER_THREAD[0] * 1e9 / flops,
        cpu_threads(hw, threads) * PROMPT_CPU_GFLOPS_PER_THREAD[1] * 1e9 / flops,
    )
    if fit.kind == "ram" or not hw.gpus:
        return cpu
    gpu = min(hw.gpus, key=lambda g: spec_of(g.name, g.vendor).tflops)
    spec = spec_of(gpu.name, gpu.vendor)
    eff = PROMPT_APPLE_EFFICIENCY if gpu.unified else PROMPT_GPU_EFFICIENCY
    rate = (spec.tflops * 1e12 * eff[0] / flops, spec.tflops * 1e12 * eff[1] / flops)
    if fit.kind == "partial" and fit.n_layers:
        share = fit.gpu_layers / fit.n_layers
        # Time per prompt token adds up across the two parts, like decode.
        return tuple(  # type: ignore[return-value]
            1 / (share / g + (1 - share) / c) for g, c in zip(rate, cpu)
        )
    return rate


def estimate_speed(
    fit: Fit,
    hw: Hardware,
    *,
    measured: Measured | None = None,
    calibrated_bps: float | None = None,
    threads: int | None = None,
    token_overhead_s: tuple[float, float] = (0.0, 0.0),
) -> SpeedEstimate | None:
    """Decode tokens/s range for a model placed as ``fit`` says; ``None`` if it cannot run.

    ``token_overhead_s`` is what the engine itself adds per token (the embedded engine
    samples in Python: :data:`offyai_tui.hw.runtime.EMBEDDED_TOKEN_OVERHEAD_S`).

    ``threads`` is how many CPU threads the engine uses (the embedded engine leaves one
    core free); ``calibrated_bps`` is the effective bandwidth measured here for the same
    placement (:meth:`offyai_tui.hw.speedlog.SpeedLog.calibrated_bandwidth`), which narrows
    the bandwidth term to ±15 % around what comparable runs achieved.
    """
    if not fit.fits or fit.need is None or fit.need.weights_bytes <= 0:
        return SpeedEstimate(0.0, 0.0, "measured only", measured) if measured else None
    shape = fit.shape or ModelShape(
        n_layers=fit.n_layers or 32, n_kv_heads=8, key_length=128, value_length=128,
        weights_bytes=fit.need.weights_bytes,
    )  # fmt: skip
    weights, layers = float(fit.need.weights_bytes), float(fit.n_layers or shape.n_layers)
    params, bits = model_params(shape), _quant_bits(shape)
    cpu = _Device("cpu", cpu_bandwidth(hw, threads))
    if calibrated_bps and fit.kind in ("vram", "ram"):
        band = Bandwidth(calibrated_bps * 0.85, calibrated_bps * 1.15, "")
        parts = [(_Device("calibrated", band), weights, params, layers)]
        basis = "calibrated by runs on this machine"
    elif fit.kind == "ram":
        parts = [(cpu, weights, params, layers)]
        basis = cpu.bandwidth.basis
    else:
        on_gpu = fit.gpu_layers / fit.n_layers if fit.n_layers else 1.0
        parts = []
        gpus = [g for g in hw.gpus if g.vram_total_bytes] or list(hw.gpus)
        vram = sum(g.vram_total_bytes for g in gpus) or 1
        for gpu in gpus:  # layers split in proportion to each GPU's memory
            share = on_gpu * gpu.vram_total_bytes / vram
            parts.append((_gpu_device(gpu), weights * share, params * share, layers * share))
        if on_gpu < 1:
            rest = 1 - on_gpu
            parts.append((cpu, weights * rest, params * rest, layers * rest))
        names = sorted({d.bandwidth.basis for d, *_ in parts})
        basis = " + ".join(names) + (f" ({len(gpus)} GPUs, layers split)" if len(gpus) > 1 else "")
    fast, slow = token_overhead_s
    for device, w, p, n in parts:
        f, s = _token_time(device, w, p, n, bits)
        fast, slow = fast + f, slow + s
    prompt = _prompt_rate(hw, fit, params, threads or 0)
    return SpeedEstimate(1 / slow, 1 / fast, basis, measured, prompt[0], prompt[1])
