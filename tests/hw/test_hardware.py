"""Hardware detection: CPU, RAM and GPU probes, and the doctor's description of them.

Detection runs real subprocesses: fake ``nvidia-smi`` and ``sysctl`` executables are
written into tmp, so the timeout, exit-status and parsing paths are the real ones.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offyai_tui.hw import detect as detect_module
from offyai_tui.hw.hardware import (
    GPU,
    Hardware,
    Probes,
    describe,
    detect,
    detect_hardware,
    parse_nvidia_smi,
    usable_vram,
)
from tests.hw.hw_helpers import LAPTOP_8GB, WORKSTATION_64GB_24GB_VRAM, GiB, MiB, machine

posix_only = pytest.mark.skipif(os.name != "posix", reason="fake tools are shell scripts")


def fake_tool(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def linux_probes(tmp_path: Path, **kwargs) -> Probes:
    """A Linux machine whose tools are only those the test writes (no rocm-smi, no DRM)."""
    kwargs.setdefault("rocm_smi", str(tmp_path / "rocm-smi"))
    return Probes(system="Linux", drm=tmp_path / "drm", **kwargs)


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
