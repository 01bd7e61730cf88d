"""What this machine has: CPU, RAM and GPUs, found without ever hanging or crashing.

External tools (``nvidia-smi``, ``rocm-smi``, ``sysctl``) are optional: a missing binary,
a non-zero exit, unreadable output or a hang longer than the timeout all mean "no GPU
from this source" plus a note saying why, so ``offyai doctor`` can explain a surprising
result. Commands and platform facts live in :class:`Probes` so tests can point them at
fakes.

AMD GPUs come from ``rocm-smi`` (what Ollama's ROCm build also needs). Intel GPUs are
listed by the kernel (``/sys/class/drm``) but not used: Ollama reaches them only through
its experimental, opt-in Vulkan backend and llama.cpp only in a SYCL or Vulkan build, so
estimates stay on the CPU and a note says why.
"""

from __future__ import annotations

import contextlib
import csv
import json
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
ROCM_QUERY = ("--showproductname", "--showmeminfo", "vram", "--json")
MIN_GPU_BYTES = GiB
"""Smaller devices (an APU's 64 MiB carve-out) hold no useful share of a model."""
PCI_VENDORS = {"0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel"}
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
    memory_gbps: float = 0.0
    """Spec RAM bandwidth when known (Apple chips, a described machine); 0 = unknown."""
    found: tuple[str, ...] = ()
    """What each probe found, one line each, for ``offyai doctor``."""

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
    rocm_smi: str = "rocm-smi"
    sysctl: str = "sysctl"
    cpuinfo: Path = Path("/proc/cpuinfo")
    drm: Path = Path("/sys/class/drm")
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


def _rocm_cards(text: str) -> list[dict[str, str]]:
    """Per-card fields from ``rocm-smi`` JSON, CSV or plain ``GPU[i] : key: value`` lines."""
    stripped = text.strip()
    if stripped.startswith("{"):
        with contextlib.suppress(ValueError):
            data = json.loads(stripped)
            if isinstance(data, dict):
                return [
                    {str(k): str(v) for k, v in card.items()}
                    for name, card in data.items()
                    if name.startswith("card") and isinstance(card, dict)
                ]
        return []
    lines = [line for line in stripped.splitlines() if line.strip()]
    if lines and lines[0].startswith("device,"):
        rows = list(csv.reader(lines))
        return [dict(zip(rows[0], row)) for row in rows[1:] if row and row[0].startswith("card")]
    cards: dict[int, dict[str, str]] = {}
    for line in lines:
        match = re.match(r"\s*GPU\[(\d+)\]\s*:\s*([^:]+):\s*(.*)$", line)
        if match:
            cards.setdefault(int(match.group(1)), {})[match.group(2).strip()] = match.group(3)
    return [cards[i] for i in sorted(cards)]


def parse_rocm_smi(text: str) -> list[GPU]:
    """AMD GPUs from ``rocm-smi --showproductname --showmeminfo vram`` (JSON, CSV or text).

    Field names differ between ROCm releases (``Card series``/``Card Series``); devices
    with less than :data:`MIN_GPU_BYTES` of VRAM (an APU's carve-out) are skipped, as
    Ollama skips them.
    """
    gpus = []
    for card in _rocm_cards(text):
        fields = {k.strip().lower(): v.strip() for k, v in card.items()}
        name = fields.get("card series") or fields.get("card model") or "AMD GPU"
        total = fields.get("vram total memory (b)", "")
        used = fields.get("vram total used memory (b)", "")
        if not total.isdigit() or int(total) < MIN_GPU_BYTES or not name.isprintable():
            continue
        free = int(total) - int(used) if used.isdigit() else 0
        gpus.append(GPU(name=name, vram_total_bytes=int(total), vram_free_bytes=free, vendor="amd"))
    return gpus


def detect_amd(probes: Probes) -> tuple[list[GPU], str]:
    out, why = run_probe([probes.rocm_smi, *ROCM_QUERY], probes.timeout_s)
    if out is None:
        return [], why
    gpus = parse_rocm_smi(out)
    return gpus, "" if gpus else "rocm-smi listed no GPU with 1 GiB or more of VRAM"


def pci_display_vendors(drm: Path) -> list[str]:
    """Vendors of the display devices the kernel knows (``/sys/class/drm/card*``)."""
    vendors = []
    with contextlib.suppress(OSError):
        for card in sorted(drm.glob("card[0-9]*")):
            if "-" in card.name:  # connectors such as card0-HDMI-A-1
                continue
            with contextlib.suppress(OSError, UnicodeDecodeError):
                vendor = (card / "device" / "vendor").read_text().strip().lower()
                vendors.append(PCI_VENDORS.get(vendor, vendor))
    return vendors


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
    found: list[str] = []
    memory_gbps = 0.0
    if probes.system == "Darwin":
        apple, cpu, why = detect_apple(probes, ram_available)
        if apple is not None:
            gpus.append(apple)
            memory_gbps = _apple_gbps(apple.name)
            found.append(f"sysctl: {apple.name}, unified memory")
        elif why:
            notes.append(why)
    elif probes.system in ("Linux", "Windows"):
        nvidia, why = detect_nvidia(probes)
        gpus += nvidia
        if nvidia:
            found.append(f"nvidia-smi: {len(nvidia)} GPU{'s' if len(nvidia) > 1 else ''}")
        elif why:
            notes.append(why)
        amd, why = detect_amd(probes) if probes.system == "Linux" else ([], "")
        gpus += amd
        if amd:
            found.append(f"rocm-smi: {len(amd)} GPU{'s' if len(amd) > 1 else ''}")
        elif why:
            notes.append(why)
        notes += _unused_devices(pci_display_vendors(probes.drm), nvidia, amd)
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
        memory_gbps=memory_gbps,
        found=tuple(found),
    )


def _apple_gbps(chip: str) -> float:
    from offyai_tui.hw.gpus import APPLE_GBPS, lookup

    return lookup(chip, APPLE_GBPS) or 0.0


def _unused_devices(vendors: list[str], nvidia: list[GPU], amd: list[GPU]) -> list[str]:
    """Why a display device the kernel lists gets no estimate of its own."""
    notes = []
    if "Intel" in vendors:
        notes.append(
            "Intel GPU present but not used: Ollama uses it only with its experimental"
            " Vulkan backend (OLLAMA_VULKAN=1), llama.cpp only in a SYCL or Vulkan build;"
            " estimates assume the CPU"
        )
    if "AMD" in vendors and not amd:
        notes.append("AMD GPU present but rocm-smi gave no VRAM figure; estimates assume the CPU")
    if "NVIDIA" in vendors and not nvidia:
        notes.append("NVIDIA GPU present but nvidia-smi gave nothing; is the driver installed?")
    return notes


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
