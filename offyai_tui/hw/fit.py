"""Memory a model needs at a context size, and where on this machine it fits.

needed = weights + KV cache + runtime overhead:

* weights: the model file size; every weight is loaded.
* KV cache: ``n_layers × n_kv_heads × (key_length + value_length) × n_ctx × bytes per
  element`` (f16 = 2). Llama-3-8B: 128 KiB per token, 1 GiB at 8,192 tokens. Sliding-window
  layers (Gemma 2/3) keep less in practice; counting every layer at the full context makes
  the figure an upper bound.
* overhead: a fixed 256 MiB (runtime, GPU context, scratch buffers) plus the attention
  scores of one micro-batch without flash attention, ``512 × n_ctx × n_heads × 4`` bytes
  (f32). For Llama-3-8B at 4,096 tokens that is 256 MiB more; it is the buffer that grows
  with the context.

Budgets keep room for everything else: usable VRAM is each GPU's total minus
max(384 MiB, 5 %) for the driver and display; usable RAM is the total minus (2 GiB + 10 %)
for the OS and open applications. Apple Silicon's GPU budget is already the working set
macOS grants (see :func:`offyai_tui.hw.detect.apple_gpu_share`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from offyai_tui.hw.detect import GiB, Hardware, MiB

FIXED_OVERHEAD_BYTES = 256 * MiB
N_UBATCH = 512
DEFAULT_N_CTX = 4096
DEFAULT_N_HEADS = 32
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "bf16": 2.0, "f32": 4.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

FitKind = Literal["vram", "partial", "ram", "none", "unknown"]


class ShapeError(ValueError):
    """Model metadata lacks what the fit needs; the message is one readable line."""


def format_bytes(n: float) -> str:
    """Decimal units, as Ollama prints sizes: ``4.9 GB``, ``274 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class ModelShape:
    """The numbers the fit needs, from GGUF metadata, /api/show or the catalog."""

    n_layers: int
    n_kv_heads: int
    key_length: int
    value_length: int
    weights_bytes: int
    context_length: int = 0
    """Trained context window; 0 when unknown."""
    n_heads: int = 0
    """Query heads, for the compute buffer; 0 means assume 32."""
    params: float = 0.0
    """Parameter count, for compute-bound estimates; 0 means derive it from the size."""
    quant: str = ""
    """Weight type (``Q4_K_M``, ``Q8_0``, ``F16``); empty when unknown."""

    def kv_bytes_per_token(self, kv_type: str = "f16") -> int:
        per_element = KV_BYTES_PER_ELEMENT[kv_type]
        return math.ceil(
            self.n_layers * self.n_kv_heads * (self.key_length + self.value_length) * per_element
        )

    def kv_cache_bytes(self, n_ctx: int, kv_type: str = "f16") -> int:
        return self.kv_bytes_per_token(kv_type) * n_ctx

    @classmethod
    def from_ollama_show(cls, model_info: Mapping[str, Any], size_bytes: int) -> ModelShape:
        """Shape from Ollama's ``/api/show`` ``model_info`` and the model's size on disk."""
        arch = model_info.get("general.architecture")
        if not isinstance(arch, str) or not arch:
            arch = next(
                (k.removesuffix(".block_count") for k in model_info if k.endswith(".block_count")),
                "",
            )

        def get(key: str) -> Any:
            return model_info.get(f"{arch}.{key}")

        return _build(
            arch or "model",
            n_layers=get("block_count"),
            n_heads=get("attention.head_count"),
            n_kv_heads=get("attention.head_count_kv"),
            key_length=get("attention.key_length"),
            value_length=get("attention.value_length"),
            embedding_length=get("embedding_length"),
            context_length=get("context_length"),
            weights_bytes=size_bytes,
            params=model_info.get("general.parameter_count"),
        )

    @classmethod
    def from_gguf_info(cls, info: Any, weights_bytes: int | None = None) -> ModelShape:
        """Shape from a GGUF header reader's result (attributes read by name).

        ``weights_bytes`` defaults to the info's file size.
        """

        def attr(*names: str) -> Any:
            for name in names:
                value = getattr(info, name, None)
                if value is not None:
                    return value
            return None

        size = weights_bytes if weights_bytes is not None else attr("file_size", "size_bytes")
        return _build(
            str(attr("architecture") or "model"),
            n_layers=attr("block_count", "n_layers"),
            n_heads=attr("head_count", "n_heads"),
            n_kv_heads=attr("head_count_kv", "n_kv_heads"),
            key_length=attr("key_length"),
            value_length=attr("value_length"),
            embedding_length=attr("embedding_length"),
            context_length=attr("context_length"),
            weights_bytes=size,
            params=attr("parameter_count"),
            quant=attr("quantization"),
        )


def _count(value: Any) -> int:
    """A positive count from metadata; per-layer lists count their average, rounded up."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, (list, tuple)):
        counts = [_count(v) for v in value]
        return math.ceil(sum(counts) / len(counts)) if counts else 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else 0


def _build(source: str, *, params: Any = None, quant: Any = None, **raw: Any) -> ModelShape:
    n_layers = _count(raw["n_layers"])
    n_heads = _count(raw["n_heads"])
    n_kv_heads = _count(raw["n_kv_heads"]) or n_heads
    embedding = _count(raw["embedding_length"])
    key_length = _count(raw["key_length"]) or (embedding // n_heads if n_heads else 0)
    value_length = _count(raw["value_length"]) or key_length
    weights = _count(raw["weights_bytes"])
    missing = [
        label
        for label, value in (
            ("layer count", n_layers),
            ("KV head count", n_kv_heads),
            ("head size", key_length),
            ("file size", weights),
        )
        if not value
    ]
    if missing:
        raise ShapeError(f"{source}: metadata lacks {', '.join(missing)}")
    return ModelShape(
        n_layers=n_layers,
        n_kv_heads=n_kv_heads,
        key_length=key_length,
        value_length=value_length,
        weights_bytes=weights,
        context_length=_count(raw["context_length"]),
        n_heads=n_heads,
        params=float(_count(params)),
        quant=quant if isinstance(quant, str) else "",
    )


@dataclass(frozen=True)
class MemoryNeed:
    weights_bytes: int
    kv_bytes: int
    overhead_bytes: int
    n_ctx: int

    @property
    def total(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.overhead_bytes

    def breakdown(self) -> str:
        return (
            f"{format_bytes(self.weights_bytes)} weights + {format_bytes(self.kv_bytes)} KV cache"
            f" at {self.n_ctx:,} tokens + {format_bytes(self.overhead_bytes)} runtime"
        )


def kv_cache_sizes(
    shape: ModelShape, n_ctx: int, kv_types: tuple[str, ...] = ("f16", "q8_0", "q4_0")
) -> dict[str, int]:
    """KV cache bytes at ``n_ctx`` (capped by the trained window) for each cache type.

    The embedded engine offers these three (``llamacpp.kv_cache_type``); ``offyai
    doctor`` shows what the choice saves, and fit estimates take the configured type.
    """
    n_ctx = effective_n_ctx(shape, n_ctx)
    return {kv: shape.kv_cache_bytes(n_ctx, kv) for kv in kv_types}


def effective_n_ctx(shape: ModelShape, n_ctx: int) -> int:
    """The context actually allocated: the requested one, capped by the trained window."""
    return min(n_ctx, shape.context_length) if shape.context_length else n_ctx


def compute_buffer_bytes(shape: ModelShape, n_ctx: int) -> int:
    return N_UBATCH * n_ctx * (shape.n_heads or DEFAULT_N_HEADS) * 4


def memory_needed(
    shape: ModelShape, n_ctx: int = DEFAULT_N_CTX, kv_type: str = "f16"
) -> MemoryNeed:
    n_ctx = effective_n_ctx(shape, n_ctx)
    return MemoryNeed(
        weights_bytes=shape.weights_bytes,
        kv_bytes=shape.kv_cache_bytes(n_ctx, kv_type),
        overhead_bytes=FIXED_OVERHEAD_BYTES + compute_buffer_bytes(shape, n_ctx),
        n_ctx=n_ctx,
    )


def usable_vram(hw: Hardware) -> int:
    total = 0
    for gpu in hw.gpus:
        if gpu.unified:
            total += gpu.vram_total_bytes
        else:
            reserve = max(384 * MiB, gpu.vram_total_bytes // 20)
            total += max(0, gpu.vram_total_bytes - reserve)
    return total


def usable_ram(hw: Hardware) -> int:
    return max(0, hw.ram_total_bytes - (2 * GiB + hw.ram_total_bytes // 10))


@dataclass(frozen=True)
class Fit:
    """Where a model runs on this machine, with the numbers behind the verdict."""

    kind: FitKind
    explanation: str
    """One line a user can read, numbers included."""
    need: MemoryNeed | None = None
    gpu_layers: int = 0
    n_layers: int = 0
    vram_budget_bytes: int = 0
    ram_budget_bytes: int = 0
    ram_part_bytes: int = 0
    """What lives in system RAM (all of it on CPU, the rest of a partial offload)."""
    tight: bool = False
    """It fits, but less RAM was free at detection time than it needs."""
    shape: ModelShape | None = None
    """The model judged, for the speed estimate (layers, parameters, quantization)."""

    @property
    def fits(self) -> bool:
        return self.kind in ("vram", "partial", "ram")

    @property
    def label(self) -> str:
        """A short table cell."""
        if self.kind == "partial":
            return f"GPU {self.gpu_layers}/{self.n_layers}"
        return {"vram": "GPU", "ram": "CPU", "none": "too big", "unknown": "?"}[self.kind]


def fit_unknown(reason: str) -> Fit:
    return Fit("unknown", f"fit unknown: {reason}")


def fit_model(
    shape: ModelShape, hw: Hardware, n_ctx: int = DEFAULT_N_CTX, kv_type: str = "f16"
) -> Fit:
    """Decide GPU, partial offload, CPU or no fit, preferring the fastest that fits."""
    need = memory_needed(shape, n_ctx, kv_type)
    vram, ram = usable_vram(hw), usable_ram(hw)
    base = Fit(
        "none", "", need=need, n_layers=shape.n_layers, vram_budget_bytes=vram,
        ram_budget_bytes=ram, shape=shape,
    )  # fmt: skip
    total = need.total
    if vram and total <= vram:
        where = "unified memory (GPU)" if hw.unified_memory else "GPU memory"
        text = f"fits in {where}: needs {format_bytes(total)} of {format_bytes(vram)} usable"
        fit = dataclasses.replace(
            base,
            kind="vram",
            explanation=f"{text} ({need.breakdown()})",
            gpu_layers=shape.n_layers,
            ram_part_bytes=total if hw.unified_memory else 0,
        )
        return _with_tightness(fit, hw)
    layers = _offloadable_layers(shape, need, vram) if vram and not hw.unified_memory else 0
    ram_part = total
    if layers:
        per_layer = (need.weights_bytes + need.kv_bytes) / shape.n_layers
        ram_part = math.ceil(per_layer * (shape.n_layers - layers)) + FIXED_OVERHEAD_BYTES
        if ram_part <= ram:
            text = (
                f"partly on GPU: {layers} of {shape.n_layers} layers in {format_bytes(vram)} VRAM,"
                f" {format_bytes(ram_part)} in RAM; needs {format_bytes(total)} in all"
            )
            fit = dataclasses.replace(
                base, kind="partial", explanation=text, gpu_layers=layers, ram_part_bytes=ram_part
            )
            return _with_tightness(fit, hw)
    if total <= ram:
        text = f"runs on CPU: needs {format_bytes(total)} of {format_bytes(ram)} usable RAM"
        if vram:
            text += f" (too big for {format_bytes(vram)} of GPU memory)"
        fit = dataclasses.replace(base, kind="ram", explanation=text, ram_part_bytes=total)
        return _with_tightness(fit, hw)
    budget = f"{format_bytes(ram)} usable RAM"
    if vram and not hw.unified_memory:
        budget += f" + {format_bytes(vram)} VRAM"
    text = f"does not fit: needs {format_bytes(total)} ({need.breakdown()}), only {budget}"
    # What would make it run: the RAM missing for the best placement (partial, else CPU).
    where = "partly on the GPU" if layers and ram_part < total else "on the CPU"
    text += f"; {format_bytes(min(ram_part, total) - ram)} more usable RAM would run it {where}"
    return dataclasses.replace(base, explanation=text)


def _offloadable_layers(shape: ModelShape, need: MemoryNeed, vram: int) -> int:
    """Whole layers (weights and their KV cache) that fit beside the compute buffer."""
    per_layer = (need.weights_bytes + need.kv_bytes) / shape.n_layers
    room = vram - need.overhead_bytes
    return max(0, min(shape.n_layers, int(room // per_layer))) if room > 0 else 0


def _with_tightness(fit: Fit, hw: Hardware) -> Fit:
    if not hw.ram_available_bytes or fit.ram_part_bytes <= hw.ram_available_bytes:
        return fit
    note = f"; only {format_bytes(hw.ram_available_bytes)} free now, close other apps first"
    return dataclasses.replace(fit, explanation=fit.explanation + note, tight=True)
