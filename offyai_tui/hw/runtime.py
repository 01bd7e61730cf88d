"""Where an engine will really put a model: what the engine can use, and what it did.

A GPU the machine has is no use to an engine that cannot offload to it. The embedded
engine runs llama-cpp-python: a wheel built without CUDA, ROCm or Metal runs every
layer on the CPU (``llama_cpp.llama_supports_gpu_offload()`` says which), and even a GPU
build offloads nothing unless asked (its ``n_gpu_layers`` defaults to 0, which the
embedded engine keeps, so its speed is predictable on any machine). Ollama offloads what
fits to CUDA, ROCm or Metal, and says where a loaded model lives: ``/api/ps`` reports
``size_vram`` of ``size``, which beats any guess. An OpenAI-compatible server is another
process, perhaps another machine: its placement is unknown and the estimate is the
plain hardware one.
"""

from __future__ import annotations

import dataclasses
import functools
import math

from offyai_tui.hw.detect import Hardware
from offyai_tui.hw.fit import DEFAULT_N_CTX, Fit, ModelShape, fit_model, format_bytes

EMBEDDED_TOKEN_OVERHEAD_S = (0.002, 0.006)
"""What llama-cpp-python adds to every token: its sampler runs in Python over the whole
vocabulary's logits. SmolLM2-135M on one thread measures 45–69 tok/s where bandwidth and
the layer floor alone would allow 53–114."""


def token_overhead(engine_kind: str) -> tuple[float, float]:
    return EMBEDDED_TOKEN_OVERHEAD_S if engine_kind == "llamacpp" else (0.0, 0.0)


@dataclasses.dataclass(frozen=True)
class EngineReach:
    """Whether an engine can use this machine's GPUs, and why (one readable line)."""

    gpu: bool
    why: str


@functools.cache
def embedded_gpu_offload() -> EngineReach:
    """What the installed llama-cpp-python can do (imports it once; call from a worker)."""
    try:
        import llama_cpp
    except ImportError:
        return EngineReach(False, "llama-cpp-python is not installed")
    try:
        supported = bool(llama_cpp.llama_supports_gpu_offload())
    except (AttributeError, OSError):
        supported = False
    if not supported:
        return EngineReach(False, "llama-cpp-python here is a CPU build (no GPU offload)")
    return EngineReach(
        False, "llama-cpp-python can offload, but the embedded engine keeps layers on the CPU"
    )


def engine_reach(engine_kind: str) -> EngineReach:
    """GPU use of an engine kind (``llamacpp``, ``ollama``, ``openai``; empty = any)."""
    if engine_kind == "llamacpp":
        return embedded_gpu_offload()
    if engine_kind == "ollama":
        return EngineReach(True, "Ollama offloads to CUDA, ROCm or Metal GPUs")
    return EngineReach(True, "")


def for_engine(hw: Hardware, engine_kind: str) -> tuple[Hardware, str]:
    """The machine as ``engine_kind`` can use it: without GPUs when it cannot offload.

    Ollama (and an unnamed engine, which ``offyai fit`` takes to be Ollama) leaves Intel
    GPUs alone unless its experimental Vulkan backend is switched on.
    """
    reach = engine_reach(engine_kind)
    if not reach.gpu and hw.gpus:
        return dataclasses.replace(hw, gpus=()), reach.why
    if engine_kind in ("", "ollama") and any(g.vendor == "intel" for g in hw.gpus):
        kept = tuple(g for g in hw.gpus if g.vendor != "intel")
        why = "Ollama uses Intel GPUs only with OLLAMA_VULKAN=1 (experimental)"
        return dataclasses.replace(hw, gpus=kept), why
    return hw, reach.why


def embedded_threads(hw: Hardware, configured: int = 0) -> int:
    """Threads the embedded engine decodes with: the setting, else every core but one."""
    return configured or max(1, hw.physical_cores - 1)


def observed_fit(
    shape: ModelShape,
    hw: Hardware,
    size_bytes: int,
    vram_bytes: int,
    n_ctx: int = DEFAULT_N_CTX,
) -> Fit:
    """The placement Ollama reports for a loaded model (``/api/ps`` ``size_vram``/``size``).

    The memory need still comes from the shape (for the table's numbers); the verdict is
    what the engine actually did.
    """
    judged = fit_model(shape, hw, n_ctx)
    if size_bytes <= 0:
        return judged
    share = min(1.0, max(0.0, vram_bytes / size_bytes))
    where = f"loaded by Ollama: {format_bytes(vram_bytes)} of {format_bytes(size_bytes)} on GPU"
    if share >= 0.99:
        kind, layers = "vram", shape.n_layers
    elif share <= 0.01:
        kind, layers, where = "ram", 0, f"loaded by Ollama on the CPU ({format_bytes(size_bytes)})"
    else:
        layers = max(1, min(shape.n_layers - 1, math.floor(share * shape.n_layers)))
        kind = "partial"
        where += f" ({share:.0%}, about {layers}/{shape.n_layers} layers)"
    return dataclasses.replace(
        judged, kind=kind, gpu_layers=layers, explanation=where, tight=False  # type: ignore[arg-type]
    )
