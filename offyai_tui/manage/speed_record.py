"""Recording a finished answer's speed, with where the model ran, for the speed log.

Both the chat screen and ``offyai ask`` call :func:`record_answer` once an answer ends.
The engine's ``ChatStats`` hold the speeds; the placement and the model's size (which
calibration needs) come from the engine: the embedded engine always runs on the CPU
(:mod:`offyai_tui.hw.runtime`), Ollama says in ``/api/ps`` how much of the loaded model
sits in VRAM, and an OpenAI-compatible server says nothing, so its placement stays empty.

A speed log is a convenience: nothing here may delay or break a chat. Engine questions
are bounded by :data:`ASK_TIMEOUT_S`, every failure is swallowed, and the file append
runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from offyai_tui.engines.base import ChatStats, Engine
from offyai_tui.hw.catalog import normalize_name
from offyai_tui.hw.runtime import engine_reach
from offyai_tui.hw.speedlog import SpeedLog

ASK_TIMEOUT_S = 2.0


def placement_of(size_bytes: int, vram_bytes: int) -> str:
    """``vram``/``partial``/``ram`` from Ollama's ``size`` and ``size_vram``."""
    if size_bytes <= 0:
        return ""
    share = vram_bytes / size_bytes
    return "vram" if share >= 0.99 else "ram" if share <= 0.01 else "partial"


def _same(a: str, b: str) -> bool:
    """Ollama's view: ``llama3.1`` and ``llama3.1:latest`` are one model."""
    return normalize_name(a) == normalize_name(b)


async def _where(engine: Engine, model: str) -> tuple[str, str, int]:
    """(listed name, placement, size on disk) as the engine reports them.

    The name is the one the engine's model list uses (a request for ``llama3.1`` runs
    ``llama3.1:latest``), so the Models table finds the run under its row; placement and
    size are empty when the engine does not say.
    """
    name, size = model, 0
    with contextlib.suppress(Exception):
        listed = await asyncio.wait_for(engine.list_models(), ASK_TIMEOUT_S)
        found = next((m for m in listed if m.name == model), None) or next(
            (m for m in listed if _same(m.name, model)), None
        )
        if found is not None:
            name, size = found.name, found.size_bytes
    if engine.kind == "llamacpp":
        # The first call imports llama-cpp-python (~0.2 s): never on the UI's loop.
        reach = await asyncio.to_thread(engine_reach, "llamacpp")
        return name, ("ram" if not reach.gpu else ""), size
    if engine.kind != "ollama":
        return name, "", size
    with contextlib.suppress(Exception):
        loaded = await asyncio.wait_for(engine.loaded(), ASK_TIMEOUT_S)
        entry = next((m for m in loaded if _same(m.name, name)), None)
        if entry is not None:
            return name, placement_of(entry.size_bytes, entry.vram_bytes), size
    return name, "", size


async def record_answer(engine: Engine, stats: ChatStats, log: SpeedLog | None = None) -> bool:
    """Append this answer's speeds to the log; ``False`` when nothing was recorded."""
    try:
        name, placement, size = await _where(engine, stats.model)
        log = log or SpeedLog()
        # Logged under the engine name the model list uses, so that rows find it.
        engine_name = engine.kind if engine.kind in ("ollama", "llamacpp") else engine.label
        return await asyncio.to_thread(
            log.record_stats,
            dataclasses.replace(stats, model=name),
            engine=engine_name,
            size_bytes=size,
            placement=placement,
        )
    except asyncio.CancelledError:
        raise
    except Exception:  # a speed log must never break a chat
        return False


def stats_from_dict(raw: dict[str, object]) -> ChatStats | None:
    """``ChatStats`` back from a transcript's ``stats`` dict (unknown keys ignored)."""
    names = {f for f in ChatStats.__dataclass_fields__}
    try:
        return ChatStats(**{k: v for k, v in raw.items() if k in names})  # type: ignore[arg-type]
    except TypeError:
        return None
