"""The Models table's rows: every model of every reachable engine, judged for this machine.

A row joins what the engine lists (name, size), what it says on request (Ollama's
``/api/show``, or the GGUF header of a llama.cpp file: family, context, template), whether
it is loaded, and the fit and speed verdict from :mod:`offyai_tui.hw.hardware`. An engine
that does not answer becomes a note, not a failure; a model whose metadata cannot be
read keeps its row with a fit of ``?`` and the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from offyai_tui.engines.base import Engine, LoadedModel, ModelInfo
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.gguf_info import GGUFInfo, read_gguf_info
from offyai_tui.hw import catalog
from offyai_tui.hw.hardware import (
    DEFAULT_N_CTX,
    Assessment,
    Hardware,
    ModelShape,
    ShapeError,
    SpeedLog,
    assess,
    format_bytes,
)
from offyai_tui.hw.runtime import engine_reach
from offyai_tui.util.textsafe import visible

SHOW_CONCURRENCY = 4
"""Detail requests in flight per engine (Ollama answers them one by one anyway)."""
_CAPABILITY_NAMES = {"embed": "embedding", "embeddings": "embedding", "completion": "chat"}
_CAPABILITY_ORDER = ("chat", "embedding", "vision")


def capabilities_of(info: ModelInfo) -> tuple[str, ...]:
    """Capabilities under one vocabulary (engines say ``embed`` or ``embedding``)."""
    names = {_CAPABILITY_NAMES.get(c, c) for c in info.capabilities}
    known = [c for c in _CAPABILITY_ORDER if c in names]
    return (*known, *sorted(names - set(known)))


def parameter_count(label: str) -> float:
    """``"135M"`` -> 1.35e8, ``"7.2B"`` -> 7.2e9; 0 when the label is not a count."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMBT]?)\s*", label.upper())
    if not match:
        return 0.0
    try:
        value = float(match.group(1))
    except ValueError:
        return 0.0
    return value * {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[match.group(2)]


@dataclass(frozen=True)
class ModelRow:
    """One model as the table shows it."""

    info: ModelInfo
    engine: Engine = field(compare=False, repr=False)
    loaded: bool
    assessment: Assessment
    details: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Template, parameters, license and header metadata for the details view."""

    @property
    def key(self) -> str:
        """Unique across engines: ``engine/name``."""
        return f"{self.info.engine}/{self.info.name}"

    @property
    def capabilities(self) -> tuple[str, ...]:
        return capabilities_of(self.info)

    @property
    def is_embedding(self) -> bool:
        return "embedding" in self.capabilities

    @property
    def can_chat(self) -> bool:
        return "chat" in self.capabilities

    @property
    def deletable(self) -> bool:
        """The engine deletes models and this one is not bundled with the app."""
        return self.engine.IMPLEMENTS_DELETE and not self.info.details.get("bundled")


@dataclass
class Inventory:
    """What one scan found."""

    rows: list[ModelRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """One line per engine that did not answer."""
    answered: list[Engine] = field(default_factory=list)
    """The engines that listed their models."""

    def reached(self, engine: Engine) -> bool:
        return any(e is engine for e in self.answered)


def shape_from_gguf(gguf: GGUFInfo) -> ModelShape:
    return ModelShape.from_gguf_info(gguf)


def _gguf_details(gguf: GGUFInfo) -> dict[str, Any]:
    metadata = {k: v for k, v in gguf.metadata.items() if k != "tokenizer.chat_template"}
    return {
        "template": gguf.chat_template or "",
        "parameters": "",
        "license": str(gguf.metadata.get("general.license", "") or ""),
        "metadata": metadata,
        "path": str(gguf.path),
    }


async def _from_gguf(info: ModelInfo) -> tuple[ModelInfo, ModelShape | None, dict[str, Any], str]:
    try:
        gguf = await asyncio.to_thread(read_gguf_info, info.path)
    except EngineError as exc:
        return info, None, {"path": info.path}, str(exc)
    merged = dataclasses.replace(
        info,
        size_bytes=info.size_bytes or gguf.size_bytes,
        family=info.family or gguf.architecture,
        parameter_size=info.parameter_size or gguf.parameter_size,
        quantization=info.quantization or gguf.quantization,
        context_length=info.context_length or gguf.context_length,
        capabilities=gguf.capabilities if gguf.is_embedding else info.capabilities,
    )
    try:
        shape: ModelShape | None = shape_from_gguf(gguf)
        why = ""
    except ShapeError as exc:
        shape, why = None, str(exc)
    details = _gguf_details(gguf)
    if projector := info.details.get("projector"):  # the embedded engine's vision comes from it
        details["projector"] = projector
    return merged, shape, details, why


async def _from_show(
    engine: Engine, info: ModelInfo, limit: asyncio.Semaphore
) -> tuple[ModelInfo, ModelShape | None, dict[str, Any], str]:
    try:
        async with limit:
            full = await engine.model_info(info.name)
    except EngineError as exc:
        return info, None, {}, str(exc)
    merged = dataclasses.replace(
        info,
        family=full.family or info.family,
        parameter_size=full.parameter_size or info.parameter_size,
        quantization=full.quantization or info.quantization,
        context_length=full.context_length or info.context_length,
        capabilities=full.capabilities or info.capabilities,
    )
    details = dict(full.details)
    model_info = details.pop("model_info", {}) or {}
    details["metadata"] = model_info
    try:
        return merged, ModelShape.from_ollama_show(model_info, info.size_bytes), details, ""
    except ShapeError as exc:
        return merged, None, details, str(exc)


def _from_catalog(info: ModelInfo) -> ModelShape | None:
    entry = catalog.lookup(info.name)
    if entry is None:
        return None
    shape = entry.shape()
    if info.size_bytes:
        shape = dataclasses.replace(shape, weights_bytes=info.size_bytes)
    return shape


async def _row(
    engine: Engine,
    info: ModelInfo,
    loaded: dict[str, LoadedModel],
    hw: Hardware,
    log: SpeedLog | None,
    n_ctx: int,
    limit: asyncio.Semaphore,
) -> ModelRow:
    if info.path and info.path.lower().endswith(".gguf"):
        info, shape, details, why = await _from_gguf(info)
    elif engine.kind == "ollama":
        info, shape, details, why = await _from_show(engine, info, limit)
    else:
        shape, details, why = None, dict(info.details), "the engine does not describe the model"
    if shape is None:
        shape = _from_catalog(info)
    running = loaded.get(info.name)
    threads = getattr(engine, "n_threads", None) if engine.kind == "llamacpp" else None
    kv_type = getattr(engine, "kv_cache_type", "f16") if engine.kind == "llamacpp" else "f16"
    judged = assess(
        shape,
        hw,
        model=info.name,
        engine=info.engine,
        n_ctx=n_ctx,
        kv_type=kv_type,
        log=log,
        unknown_reason=why or "no model metadata",
        embedding="embedding" in capabilities_of(info),
        engine_kind=engine.kind,
        threads=threads if isinstance(threads, int) else None,
        # Where Ollama put a loaded model beats where it would probably put it.
        loaded=(running.size_bytes, running.vram_bytes)
        if running is not None and engine.kind == "ollama"
        else None,
    )
    return ModelRow(info, engine, running is not None, judged, details)


async def _loaded_names(engine: Engine) -> dict[str, LoadedModel]:
    try:
        return {m.name: m for m in await engine.loaded()}
    except Exception:  # a failed /api/ps must not hide the models
        return {}


async def _scan(
    engine: Engine, hw: Hardware, log: SpeedLog | None, n_ctx: int
) -> tuple[list[ModelRow], str]:
    try:
        models = await engine.list_models()
    except Exception as exc:
        return [], f"{engine.label} at {engine.endpoint}: {exc or type(exc).__name__}"
    loaded = await _loaded_names(engine)
    limit = asyncio.Semaphore(SHOW_CONCURRENCY)
    rows = await asyncio.gather(*(_row(engine, m, loaded, hw, log, n_ctx, limit) for m in models))
    return list(rows), ""


async def collect(
    engines: Sequence[Engine],
    hw: Hardware,
    *,
    log: SpeedLog | None = None,
    n_ctx: int = DEFAULT_N_CTX,
) -> Inventory:
    """Rows for every model of every engine in ``engines`` that answers.

    Args:
        engines: Usually ``EngineRegistry.configured()``.
        hw: The machine to judge the models for.
        log: Measured speeds to show beside the estimates.
        n_ctx: The context size the fit verdict assumes.
    """
    if any(e.kind == "llamacpp" for e in engines):
        # Judging the embedded engine's models asks llama-cpp-python what it can do; the
        # first ask imports it (~0.2 s), which must not happen on the UI's event loop.
        await asyncio.to_thread(engine_reach, "llamacpp")
    results = await asyncio.gather(*(_scan(e, hw, log, n_ctx) for e in engines))
    inventory = Inventory()
    for engine, (rows, note) in zip(engines, results):
        inventory.rows.extend(rows)
        if note:
            inventory.notes.append(note)
        else:
            inventory.answered.append(engine)
    return inventory


# -- display, ordering and filtering ------------------------------------------------

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("engine", "Engine"),
    ("family", "Family"),
    ("params", "Params"),
    ("quant", "Quant"),
    ("size", "Size"),
    ("context", "Context"),
    ("caps", "Caps"),
    ("loaded", "Loaded"),
    ("fit", "Fit"),
    ("speed", "Speed"),
)
"""Column keys and headings, shared by the Models screen and ``offyai models``."""


def _context(tokens: int) -> str:
    if not tokens:
        return ""
    return f"{tokens // 1024}k" if tokens >= 1024 and tokens % 1024 == 0 else f"{tokens:,}"


def display_values(row: ModelRow) -> dict[str, str]:
    """Each column's text for ``row`` (speed: estimate, measured median, sparkline).

    Names and details come from servers and files: control characters are made
    visible here, for the Models table and ``offyai models`` alike.
    """
    info, judged = row.info, row.assessment
    speed = ""
    if judged.speed is not None:
        speed = judged.speed.label()
        if judged.speed.sparkline:
            speed += f" {judged.speed.sparkline}"
    values = {
        "name": info.name,
        "engine": row.engine.label,
        "family": info.family,
        "params": info.parameter_size,
        "quant": info.quantization,
        "size": format_bytes(info.size_bytes) if info.size_bytes else "",
        "context": _context(info.context_length),
        "caps": ", ".join(row.capabilities),
        "loaded": "● yes" if row.loaded else "",
        "fit": "unreadable" if info.details.get("error") else judged.fit.label,
        "speed": speed,
    }
    return {key: visible(value) for key, value in values.items()}  # names come from servers


_FIT_RANK = {"vram": 0, "partial": 1, "ram": 2, "unknown": 3, "none": 4}


def sort_value(row: ModelRow, column: str) -> Any:
    """A comparable value of ``row`` for the column named ``column``."""
    info = row.info
    values: dict[str, Any] = {
        "name": info.name.lower(),
        "engine": row.engine.label,
        "family": info.family.lower(),
        "params": parameter_count(info.parameter_size),
        "quant": info.quantization.upper(),
        "size": info.size_bytes,
        "context": info.context_length,
        "caps": ",".join(row.capabilities),
        "loaded": not row.loaded,
        "fit": _FIT_RANK.get(row.assessment.fit.kind, 5),
        "speed": -row.assessment.expected_tps,
    }
    return values.get(column, info.name.lower())


def sort_rows(rows: Sequence[ModelRow], column: str, reverse: bool = False) -> list[ModelRow]:
    """Rows ordered by ``column``, ties by name.

    Ascending means smallest first, except where "first" reads as "best": loaded
    models, the best fit (GPU before CPU before too big) and the fastest come first.
    """
    return sorted(rows, key=lambda r: (sort_value(r, column), r.info.name.lower()), reverse=reverse)


def matches(row: ModelRow, text: str) -> bool:
    """Whether every word of ``text`` occurs in the row's name, engine, family, ... (any case)."""
    info = row.info
    haystack = " ".join(
        (
            info.name,
            row.engine.label,
            info.family,
            info.parameter_size,
            info.quantization,
            *row.capabilities,
            "loaded" if row.loaded else "",
            row.assessment.fit.label,
        )
    ).lower()
    return all(word in haystack for word in text.lower().split())
