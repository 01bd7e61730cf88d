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

from offyai_tui.engines.base import ChatStats, Engine
from offyai_tui.hw.runtime import engine_reach
from offyai_tui.speedlog import SpeedLog

ASK_TIMEOUT_S = 2.0


def placement_of(size_bytes: int, vram_bytes: int) -> str:
    """``vram``/``partial``/``ram`` from Ollama's ``size`` and ``size_vram``."""
    if size_bytes <= 0:
        return ""
    share = vram_bytes / size_bytes
    return "vram" if share >= 0.99 else "ram" if share <= 0.01 else "partial"


async def _where(engine: Engine, model: str) -> tuple[str, int]:
    """(placement, model size on disk) as the engine reports them; ("", 0) if unknown."""
    size = 0
    with contextlib.suppress(Exception):
        listed = await asyncio.wait_for(engine.list_models(), ASK_TIMEOUT_S)
        size = next((m.size_bytes for m in listed if m.name == model), 0)
    if engine.kind == "llamacpp":
        # The first call imports llama-cpp-python (~0.2 s): never on the UI's loop.
        reach = await asyncio.to_thread(engine_reach, "llamacpp")
        return ("ram" if not reach.gpu else ""), size
    if engine.kind != "ollama":
        return "", size
    with contextlib.suppress(Exception):
        loaded = await asyncio.wait_for(engine.loaded(), ASK_TIMEOUT_S)
        entry = next((m for m in loaded if m.name == model), None)
        if entry is not None:
            return placement_of(entry.size_bytes, entry.vram_bytes), size
    return "", size


async def record_answer(engine: Engine, stats: ChatStats, log: SpeedLog | None = None) -> bool:
    """Append this answer's speeds to the log; ``False`` when nothing was recorded."""
    try:
        placement, size = await _where(engine, stats.model)
        log = log or SpeedLog()
        # Logged under the name the engine's model list uses, so that rows find it.
        name = engine.kind if engine.kind in ("ollama", "llamacpp") else engine.label
        return await asyncio.to_thread(
            log.record_stats, stats, engine=name, size_bytes=size, placement=placement
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
