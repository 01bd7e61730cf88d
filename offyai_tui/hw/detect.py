"""What this machine has: CPU, RAM and GPUs, found without ever hanging or crashing.

External tools (``nvidia-smi``, ``sysctl``) are optional: a missing binary, a non-zero
exit, unreadable output or a hang longer than the timeout all mean "no GPU from this
source" plus a note saying why, so ``offyai doctor`` can explain a surprising result.
Commands and platform facts live in :class:`Probes` so tests can point them at fakes.

AMD and Intel GPUs are not detected; such machines get CPU estimates, which are
conservative rather than wrong.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MiB = 1024**2
GiB = 1024**3

NVIDIA_QUERY = ("--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits")
APPLE_SYSCTL_KEYS = ("machdep.cpu.brand_string", "hw.memsize", "hw.optional.arm64")


@dataclass(frozen=True)
class GPU:
    """One accelerator the runtimes can use.

    For Apple Silicon, ``vram_total_bytes`` is the share of unified memory macOS lets
    the GPU wire (its recommended working set), not the whole RAM.
    """

    name: str
    vram_total_bytes: int
    vram_free_bytes: int = 0
    """0 when the driver did not say."""
    vendor: str = "nvidia"
    unified: bool = False


@dataclass(frozen=True)
class Hardware:
    cpu_model: str
    physical_cores: int
    logical_cores: int
    ram_total_bytes: int
    ram_available_bytes: int
    gpus: tuple[GPU, ...] = ()
    system: str = ""
    """``platform.system()``: Linux, Darwin, Windows."""
    machine: str = ""
    notes: tuple[str, ...] = ()
    """Why a source gave nothing (e.g. ``nvidia-smi not found``)."""

    @property
    def unified_memory(self) -> bool:
        return any(gpu.unified for gpu in self.gpus)

    @property
    def vram_total_bytes(self) -> int:
        return sum(gpu.vram_total_bytes for gpu in self.gpus)

    def describe(self) -> str:
        """One line for status bars and ``offyai doctor``."""
        cores = f"{self.physical_cores} cores / {self.logical_cores} threads"
        total, free = self.ram_total_bytes / GiB, self.ram_available_bytes / GiB
        ram = f"{total:.1f} GiB RAM ({free:.1f} free)"
        if not self.gpus:
            gpu = "no GPU"
        elif self.unified_memory:
            gpu = f"{self.gpus[0].name}, {self.vram_total_bytes / GiB:.1f} GiB usable by the GPU"
        else:
            gpu = ", ".join(f"{g.name} {g.vram_total_bytes / GiB:.1f} GiB" for g in self.gpus)
        return f"{self.cpu_model} · {cores} · {ram} · {gpu}"


@dataclass(frozen=True)
class Probes:
    """Where detection looks; defaults describe the real machine."""

    system: str = field(default_factory=platform.system)
    machine: str = field(default_factory=platform.machine)
    nvidia_smi: str = "nvidia-smi"
    sysctl: str = "sysctl"
    cpuinfo: Path = Path("/proc/cpuinfo")
    timeout_s: float = 2.0


def run_probe(
    argv: list[str], timeout_s: float, *, accept_failure: bool = False
) -> tuple[str | None, str]:
    """Run a detection tool; return ``(stdout, "")`` or ``(None, why)``.

    The tool runs in its own session so that a hang is ended with its whole process
    group: a wrapper script that forks a sleeping child must not outlive the timeout.
    """
    name = Path(argv[0]).name
    exe = shutil.which(argv[0])
    if exe is None:
        return None, f"{name} not found"
    try:
        proc = subprocess.Popen(
            [exe, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=os.name == "posix",
        )
    except OSError as exc:
        return None, f"{name} could not start ({exc.strerror or exc})"
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return None, f"{name} gave no answer within {timeout_s:g} s"
    if proc.returncode != 0 and not accept_failure:
        return None, f"{name} exited with status {proc.returncode}"
    return out.decode("utf-8", "replace"), ""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)
    if proc.stdout is not None:
        proc.stdout.close()


def parse_nvidia_smi(text: str) -> list[GPU]:
    """GPUs from ``name, total MiB, free MiB`` lines; lines that do not parse are skipped."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0] or not parts[0].isprintable():
            continue
        name, total, free = parts
        if not total.isdigit() or int(total) == 0:
            continue
        free_bytes = int(free) * MiB if free.isdigit() else 0
        gpus.append(GPU(name=name, vram_total_bytes=int(total) * MiB, vram_free_bytes=free_bytes))
    return gpus


def detect_nvidia(probes: Probes) -> tuple[list[GPU], str]:
    out, why = run_probe([probes.nvidia_smi, *NVIDIA_QUERY], probes.timeout_s)
    if out is None:
        return [], why
    gpus = parse_nvidia_smi(out)
    return gpus, "" if gpus else "nvidia-smi output not understood"


def parse_sysctl(text: str) -> dict[str, str]:
    """``name: value`` lines as printed by ``sysctl NAME...``."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values


def apple_gpu_share(memsize: int) -> int:
    """Unified memory macOS lets the GPU use by default.

    Metal's recommended working set is about two thirds of RAM on machines up to
    36 GiB and about three quarters above; llama.cpp and Ollama respect it.
    """
    return memsize * 2 // 3 if memsize <= 36 * GiB else memsize * 3 // 4


def detect_apple(probes: Probes, ram_available: int) -> tuple[GPU | None, str, str]:
    """Apple Silicon GPU and chip name, or ``(None, "", why)``."""
    out, why = run_probe([probes.sysctl, *APPLE_SYSCTL_KEYS], probes.timeout_s, accept_failure=True)
    if out is None:
        return None, "", why
    values = parse_sysctl(out)
    chip = values.get("machdep.cpu.brand_string", "")
    memsize = values.get("hw.memsize", "")
    arm = probes.machine == "arm64" or values.get("hw.optional.arm64") == "1"
    if not arm or not chip.startswith("Apple"):
        return None, chip, "not Apple Silicon"
    if not memsize.isdigit() or int(memsize) == 0:
        return None, chip, "sysctl did not report hw.memsize"
    share = apple_gpu_share(int(memsize))
    gpu = GPU(chip, share, min(share, ram_available), vendor="apple", unified=True)
    return gpu, chip, ""


def cpu_model_name(probes: Probes) -> str:
    """The CPU's marketing name, from /proc/cpuinfo where it exists."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = probes.cpuinfo.read_text(encoding="utf-8", errors="replace")
        for key in ("model name", "Hardware", "Model", "cpu model"):
            match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
            if match and match.group(1).strip():
                return match.group(1).strip()
    return platform.processor() or probes.machine or "unknown CPU"


def detect_hardware(probes: Probes | None = None) -> Hardware:
    """Probe the machine now (uncached; see :func:`detect`)."""
    probes = probes or Probes()
    notes: list[str] = []
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    try:
        memory = psutil.virtual_memory()
        ram_total, ram_available = int(memory.total), int(memory.available)
    except (OSError, RuntimeError) as exc:
        ram_total = ram_available = 0
        notes.append(f"RAM size unknown ({exc})")
    cpu = ""
    gpus: list[GPU] = []
    if probes.system == "Darwin":
        apple, cpu, why = detect_apple(probes, ram_available)
        if apple is not None:
            gpus.append(apple)
        elif why:
            notes.append(why)
    elif probes.system in ("Linux", "Windows"):
        gpus, why = detect_nvidia(probes)
        if why:
            notes.append(why)
    return Hardware(
        cpu_model=cpu or cpu_model_name(probes),
        physical_cores=physical,
        logical_cores=logical,
        ram_total_bytes=ram_total,
        ram_available_bytes=ram_available,
        gpus=tuple(gpus),
        system=probes.system,
        machine=probes.machine,
        notes=tuple(notes),
    )


_lock = threading.Lock()
_cached: Hardware | None = None


def detect(*, refresh: bool = False) -> Hardware:
    """The machine's hardware, probed once per process.

    Detection runs external tools (up to two seconds each when they hang), so the UI
    should call this from a worker the first time.
    """
    global _cached
    with _lock:
        if _cached is None or refresh:
            _cached = detect_hardware()
        return _cached
