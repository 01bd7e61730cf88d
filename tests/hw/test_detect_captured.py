"""Detection fed with real tool outputs (``data/captured``, sources in its README).

The outputs are played back by fake ``nvidia-smi``/``rocm-smi``/``sysctl`` executables,
so the subprocess, exit-status and parsing paths are the ones a real machine takes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offyai_tui.hw.detect import GiB, MiB, parse_rocm_smi
from offyai_tui.hw.fit import ModelShape
from offyai_tui.hw.hardware import GPU, Probes, assess, describe, detect_hardware

CAPTURED = Path(__file__).parent / "data" / "captured"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")


def replay(tmp_path: Path, name: str, capture: str, status: int = 0) -> str:
    """An executable ``name`` that prints the captured file and exits with ``status``."""
    tool = tmp_path / name
    tool.write_text(f"#!/bin/sh\ncat '{CAPTURED / capture}'\nexit {status}\n", encoding="utf-8")
    tool.chmod(0o755)
    return str(tool)


def linux(tmp_path: Path, **tools: str) -> Probes:
    (tmp_path / "absent").mkdir(exist_ok=True)
    tools.setdefault("nvidia_smi", str(tmp_path / "absent" / "nvidia-smi"))
    tools.setdefault("rocm_smi", str(tmp_path / "absent" / "rocm-smi"))
    return Probes(system="Linux", machine="x86_64", drm=tmp_path / "no-drm", **tools)


SMOLLM2 = ModelShape(
    n_layers=30, n_kv_heads=3, key_length=64, value_length=64, weights_bytes=98_000_000,
    context_length=8192, n_heads=9, params=134.5e6, quant="Q4_1",
)  # fmt: skip


def test_the_h200_from_the_issue_is_detected(tmp_path: Path) -> None:
    hw = detect_hardware(
        linux(tmp_path, nvidia_smi=replay(tmp_path, "nvidia-smi", "nvidia-smi-h200.txt"))
    )
    assert hw.gpus == (GPU("NVIDIA H200", 143771 * MiB, 143156 * MiB),)
    assert hw.found == ("nvidia-smi: 1 GPU",)
    assert hw.notes == ("rocm-smi not found",)
    lines = describe(hw)
    assert "GPU NVIDIA H200, 140.4 GiB VRAM (139.8 GiB free)" in lines
    assert "detected by nvidia-smi: 1 GPU" in lines
    assert "not detected: rocm-smi not found" in lines


def test_the_embedded_cpu_engine_on_an_h200_is_estimated_on_the_cpu(tmp_path: Path) -> None:
    """The issue: SmolLM2 on llama.cpp was shown as "GPU · 21960–34159 tok/s"."""
    hw = detect_hardware(
        linux(tmp_path, nvidia_smi=replay(tmp_path, "nvidia-smi", "nvidia-smi-h200.txt"))
    )
    embedded = assess(SMOLLM2, hw, engine_kind="llamacpp", threads=1)
    assert embedded.fit.kind == "ram" and embedded.fit.label == "CPU"
    assert embedded.speed.high_tps < 1000
    assert "CPU, 1 thread" in embedded.speed.basis
    # Through Ollama the GPU is used, but a 135M model is bound by the per-token floor.
    ollama = assess(SMOLLM2, hw, engine_kind="ollama")
    assert ollama.fit.kind == "vram"
    assert 300 < ollama.speed.low_tps < ollama.speed.high_tps < 2000


def test_rocm_smi_json_from_an_rx_7900_xt(tmp_path: Path) -> None:
    tool = replay(tmp_path, "rocm-smi", "rocm-smi-rx7900xt.json")
    hw = detect_hardware(linux(tmp_path, rocm_smi=tool))
    assert hw.gpus == (GPU("Radeon RX 7900 XT", 21458059264, 21458059264 - 27856896, vendor="amd"),)
    assert hw.found == ("rocm-smi: 1 GPU",)
    assert hw.notes == ("nvidia-smi not found",)
    speed = assess(SMOLLM2, hw, engine_kind="ollama").speed
    assert "Radeon RX 7900 XT ~800 GB/s" in speed.basis


def test_rocm_smi_csv_skips_the_apus_64_mib_carve_out() -> None:
    gpus = parse_rocm_smi((CAPTURED / "rocm-smi-rx6800-raphael.csv").read_text())
    assert [(g.name, g.vram_total_bytes, g.vendor) for g in gpus] == [
        ("Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", 17163091968, "amd")
    ]


def test_rocm_smi_text_with_vram_only_still_gives_the_gpu() -> None:
    gpus = parse_rocm_smi((CAPTURED / "rocm-smi-8060s-vram.txt").read_text())
    assert len(gpus) == 1
    assert gpus[0].vram_total_bytes == 96 * GiB
    assert gpus[0].vram_free_bytes == 103079215104 - 24910876672


def test_rocm_smi_without_vram_figures_gives_no_gpu_and_says_why(tmp_path: Path) -> None:
    tool = replay(tmp_path, "rocm-smi", "rocm-smi-mi210-product.txt")
    hw = detect_hardware(linux(tmp_path, rocm_smi=tool))
    assert hw.gpus == ()
    assert "rocm-smi listed no GPU with 1 GiB or more of VRAM" in hw.notes


def test_failing_rocm_smi_is_not_trusted(tmp_path: Path) -> None:
    tool = replay(tmp_path, "rocm-smi", "rocm-smi-rx7900xt.json", status=2)
    hw = detect_hardware(linux(tmp_path, rocm_smi=tool))
    assert hw.gpus == ()
    assert "rocm-smi exited with status 2" in hw.notes


def test_sysctl_from_an_m1_without_memsize_is_explained(tmp_path: Path) -> None:
    sysctl = replay(tmp_path, "sysctl", "sysctl-apple-m1.txt")
    hw = detect_hardware(Probes(system="Darwin", machine="arm64", sysctl=sysctl))
    assert hw.cpu_model == "Apple M1"
    assert hw.gpus == ()
    assert hw.notes == ("sysctl did not report hw.memsize",)


def test_intel_and_silent_amd_gpus_listed_by_the_kernel_are_explained(tmp_path: Path) -> None:
    drm = tmp_path / "drm"
    for card, vendor in (("card0", "0x8086"), ("card1", "0x1002")):
        (drm / card / "device").mkdir(parents=True)
        (drm / card / "device" / "vendor").write_text(vendor + "\n")
    (drm / "card0-HDMI-A-1").mkdir()
    probes = linux(tmp_path)
    hw = detect_hardware(Probes(**{**probes.__dict__, "drm": drm}))
    assert hw.gpus == ()
    intel = "Intel GPU present but not used: Ollama uses it only with its experimental Vulkan"
    assert any(n.startswith(intel) for n in hw.notes)
    assert any(n.startswith("AMD GPU present but rocm-smi gave no VRAM figure") for n in hw.notes)
