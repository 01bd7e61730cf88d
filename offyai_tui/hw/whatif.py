"""``offyai fit``: will a model run on this machine, or on one described by flags, and how fast?

Headless and offline: the model comes from the catalog (with the quantization an Ollama
tag names) or a GGUF file's header, never from an engine, so the question can be asked
about a model not downloaded yet and a machine not bought yet. The answer is one
:class:`FitReport`, printed as text or as JSON for scripts.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offyai_tui.hw import catalog
from offyai_tui.hw.detect import GPU, GiB, Hardware, apple_gpu_share
from offyai_tui.hw.fit import DEFAULT_N_CTX, Fit, ModelShape, ShapeError, fit_model
from offyai_tui.hw.gpus import APPLE_GBPS, lookup, vendor_of
from offyai_tui.hw.runtime import embedded_threads, for_engine, token_overhead
from offyai_tui.hw.speed import SpeedEstimate, estimate_speed

VERDICTS = {"vram": "gpu", "partial": "partial", "ram": "cpu", "none": "too big"}
"""The JSON ``fit`` values, by :class:`~offyai_tui.hw.fit.Fit` kind."""
PROMPT_TOKENS = 1000
"""The prompt length the time-to-first-token figure assumes by default."""


class WhatIfError(ValueError):
    """A flag or model name that cannot be understood; the message is one readable line."""


def parse_gpu(text: str) -> GPU:
    """``NAME:GiB`` (``NVIDIA GeForce RTX 4090:24``) as a GPU with that much VRAM."""
    name, sep, size = text.strip().rpartition(":")
    try:
        gib = float(size)
    except ValueError:
        gib = 0.0
    if not sep or not name.strip() or not math.isfinite(gib) or gib <= 0:
        raise WhatIfError(f"--gpu wants NAME:GiB, e.g. 'NVIDIA GeForce RTX 4090:24' (got {text!r})")
    name = name.strip()
    return GPU(name, int(gib * GiB), int(gib * GiB), vendor=vendor_of(name))


def apple_chip(text: str) -> str:
    """``M3 Max``/``m3max``/``Apple M3 Max`` as ``Apple M3 Max``; unknown chips refused."""
    words = re.sub(r"(?i)^apple\s*", "", text.strip())
    words = re.sub(r"(?i)(m\d+)\s*(pro|max|ultra)?", r"\1 \2", words).strip().upper()
    if lookup(words, APPLE_GBPS) is None:
        known = ", ".join(APPLE_GBPS)
        raise WhatIfError(f"unknown Apple chip {text!r}; known: {known}")
    return "Apple " + " ".join(w if re.fullmatch(r"M\d+", w) else w.title() for w in words.split())


def described_machine(
    base: Hardware,
    *,
    gpus: list[str] | None = None,
    apple: str = "",
    ram_gib: float | None = None,
    cores: int | None = None,
    memory_gbps: float = 0.0,
) -> Hardware:
    """``base`` (this machine) with what the flags describe instead.

    ``--apple`` describes a whole Mac (it needs ``--ram``); ``--gpu`` replaces this
    machine's GPUs (``--gpu none`` removes them); ``--ram`` and ``--cores`` replace those.
    A described machine has all its RAM free.
    """
    if ram_gib is not None and (not math.isfinite(ram_gib) or ram_gib <= 0):
        raise WhatIfError("--ram wants a positive number of GiB")
    if cores is not None and cores <= 0:
        raise WhatIfError("--cores wants a positive number")
    hw = base
    if apple:
        if ram_gib is None:
            raise WhatIfError("--apple needs --ram GiB (the Mac's unified memory)")
        chip = apple_chip(apple)
        ram = int(ram_gib * GiB)
        share = apple_gpu_share(ram)
        gpu = GPU(chip, share, share, vendor="apple", unified=True)
        hw = dataclasses.replace(
            hw, cpu_model=chip, gpus=(gpu,), system="Darwin", machine="arm64",
            memory_gbps=lookup(chip, APPLE_GBPS) or 0.0, notes=(), found=(),
            physical_cores=cores or 8, logical_cores=cores or 8,
        )  # fmt: skip
    elif gpus:
        chosen = () if [g.lower() for g in gpus] == ["none"] else tuple(parse_gpu(g) for g in gpus)
        hw = dataclasses.replace(hw, gpus=chosen, notes=(), found=())
    if ram_gib is not None:
        ram = int(ram_gib * GiB)
        hw = dataclasses.replace(hw, ram_total_bytes=ram, ram_available_bytes=ram)
    if cores is not None:
        hw = dataclasses.replace(hw, physical_cores=cores, logical_cores=cores)
    if memory_gbps:
        hw = dataclasses.replace(hw, memory_gbps=memory_gbps)
    return hw


def resolve_model(name: str) -> tuple[str, ModelShape]:
    """(label, shape) of a catalog name, an Ollama tag with a quantization, or a GGUF path."""
    path = Path(name).expanduser()
    if name.lower().endswith(".gguf") or path.is_file():
        from offyai_tui.engines.errors import EngineError
        from offyai_tui.engines.gguf_info import read_gguf_info

        try:
            info = read_gguf_info(path)
            return f"{path.name} ({info.quantization or '?'})", ModelShape.from_gguf_info(info)
        except (EngineError, ShapeError) as exc:
            raise WhatIfError(f"{name}: {exc}") from None
    try:
        entry = catalog.resolve_tag(name)
    except catalog.CatalogError as exc:
        raise WhatIfError(str(exc)) from None
    if entry is None:
        close = [e.name for e in catalog.suggest(name.split(":")[0], limit=5)]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise WhatIfError(f"unknown model {name!r}: give a catalog name or a .gguf path{hint}")
    if "embedding" in entry.capabilities:
        raise WhatIfError(f"{entry.name} is an embedding model: it does not generate text")
    return f"{entry.name} ({entry.quantization})", entry.shape()


@dataclass(frozen=True)
class FitReport:
    model: str
    hw: Hardware
    fit: Fit
    speed: SpeedEstimate | None
    engine_note: str = ""
    prompt_tokens: int = PROMPT_TOKENS

    @property
    def verdict(self) -> str:
        return VERDICTS.get(self.fit.kind, "unknown")

    def explanation(self) -> str:
        text = self.fit.explanation
        if self.speed is not None and self.speed.high_tps:
            text += f"; about {self.speed.label()} ({self.speed.basis})"
        if self.engine_note:
            text += f"; {self.engine_note}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document; byte figures are integers, speeds rounded to 0.1."""
        need = self.fit.need
        memory: dict[str, Any] = {
            "gpu_budget_bytes": self.fit.vram_budget_bytes,
            "ram_budget_bytes": self.fit.ram_budget_bytes,
        }
        if need is not None:
            memory |= {
                "weights_bytes": need.weights_bytes,
                "kv_cache_bytes": need.kv_bytes,
                "runtime_bytes": need.overhead_bytes,
                "total_bytes": need.total,
                "n_ctx": need.n_ctx,
            }
        speed = self.speed
        tps = [round(speed.low_tps, 1), round(speed.high_tps, 1)] if speed else None
        ttft = speed.ttft_s(self.prompt_tokens) if speed else (0.0, 0.0)
        return {
            "model": self.model,
            "fit": self.verdict,
            "tokens_per_s": tps,
            "memory": memory,
            "gpu_layers": self.fit.gpu_layers,
            "layers": self.fit.n_layers,
            "time_to_first_token_s": {
                "prompt_tokens": self.prompt_tokens,
                "range": [round(ttft[0], 2), round(ttft[1], 2)] if ttft[1] else None,
            },
            "machine": self.hw.describe(),
            "basis": speed.basis if speed else "",
            "explanation": self.explanation(),
        }

    def lines(self) -> list[str]:
        """Human-readable answer, one fact per line."""
        out = [f"model      {self.model}", f"machine    {self.hw.describe()}"]
        out.append(f"fit        {self.verdict}: {self.fit.explanation}")
        if self.speed is not None and self.speed.high_tps:
            out.append(f"speed      {self.speed.label()} ({self.speed.basis})")
            fast, slow = self.speed.ttft_s(self.prompt_tokens)
            tokens = f"{self.prompt_tokens:,}-token prompt"
            out.append(f"first tok  {fast:.1f}–{slow:.1f} s after a {tokens}")
        if self.engine_note:
            out.append(f"engine     {self.engine_note}")
        return out


def what_if(
    model: str,
    hw: Hardware,
    *,
    n_ctx: int = DEFAULT_N_CTX,
    engine_kind: str = "",
    prompt_tokens: int = PROMPT_TOKENS,
) -> FitReport:
    """Judge ``model`` on ``hw`` as ``engine_kind`` would run it (default: GPU-capable)."""
    label, shape = resolve_model(model)
    usable, why = for_engine(hw, engine_kind)
    threads = embedded_threads(hw) if engine_kind == "llamacpp" else None
    fit = fit_model(shape, usable, n_ctx)
    speed = (
        estimate_speed(fit, usable, threads=threads, token_overhead_s=token_overhead(engine_kind))
        if fit.fits
        else None
    )
    note = why if engine_kind == "llamacpp" or len(usable.gpus) < len(hw.gpus) else ""
    shown = usable if engine_kind == "llamacpp" else hw
    return FitReport(label, shown, fit, speed, note, prompt_tokens)
