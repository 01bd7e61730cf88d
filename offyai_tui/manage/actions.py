"""What a user can do to one installed model: load, unload, delete, make it the default.

Each engine says through its capability flags what it supports; these helpers add the
few rules that hold across engines (a loaded model is unloaded before it is deleted,
"default" means writing the keys the app reads at startup).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from offyai_tui.engines.base import Engine, ModelInfo
from offyai_tui.engines.errors import EngineError, ModelNotFound, Unsupported
from offyai_tui.settings.config import Settings
from offyai_tui.settings.config_write import Value

Role = Literal["chat", "embedding"]


async def find_installed(engines: Sequence[Engine], name: str) -> tuple[Engine, ModelInfo]:
    """The one engine among ``engines`` that has a model called ``name`` (``:latest`` implied).

    Raises:
        ModelNotFound: no reachable engine has it (the message lists what is installed).
        EngineError: several engines have it; the caller must choose one.
    """
    wanted = name.strip()
    results = await asyncio.gather(*(e.list_models() for e in engines), return_exceptions=True)
    installed: list[str] = []
    found: list[tuple[Engine, ModelInfo]] = []
    for engine, result in zip(engines, results):
        if isinstance(result, BaseException):
            continue
        for info in result:
            installed.append(info.name)
            if info.name == wanted or (":" not in wanted and info.name == f"{wanted}:latest"):
                found.append((engine, info))
    if not found:
        raise ModelNotFound(wanted, installed)
    if len(found) > 1:
        where = " and ".join(engine.label for engine, _ in found)
        raise EngineError(f"{wanted} is installed in {where}; choose one with --engine")
    return found[0]


def can_load(engine: Engine) -> bool:
    """Whether ``engine`` can load a model on request (the Models screen's Load)."""
    return engine.IMPLEMENTS_LOAD


async def load_model(engine: Engine, name: str) -> None:
    """Load ``name`` into memory so the next answer starts at once.

    Raises:
        EngineError: the engine refused or cannot load models on request.
    """
    if not engine.IMPLEMENTS_LOAD:
        raise Unsupported(f"{engine.label} cannot load a model on request")
    await engine.load(name)


@dataclass(frozen=True)
class Deleted:
    """What deleting a model did besides deleting it."""

    unloaded: bool
    """It was loaded and was unloaded first."""
    note: str = ""
    """The engine's words on files deleted or kept with it (a vision model's projector)."""

    def line(self, name: str, label: str, freed: str = "") -> str:
        """The one line that reports the delete (``freed``: e.g. ``freed 1.2 GB``)."""
        parts = [f"deleted {name} from {label}" + (" (unloaded first)" if self.unloaded else "")]
        parts += [x for x in (freed, self.note) if x]
        return "; ".join(parts)


async def delete_model(engine: Engine, name: str, *, loaded: bool | None = None) -> Deleted:
    """Delete ``name``; unload it first when it is loaded.

    ``loaded=None`` asks the engine. A failed unload does not stop the delete: the
    engine frees the memory of a model it no longer has.

    Raises:
        EngineError: the delete failed (e.g. :class:`ModelNotFound` for a model that is
            already gone).
    """
    if not engine.IMPLEMENTS_DELETE:
        raise Unsupported(f"{engine.label} cannot delete models")
    if loaded is None:
        try:
            loaded = name in {m.name for m in await engine.loaded()}
        except EngineError:
            loaded = False
    unloaded = False
    if loaded and engine.IMPLEMENTS_UNLOAD:
        try:
            await engine.unload(name)
            unloaded = True
        except EngineError:
            unloaded = False
    note = await engine.delete(name)  # a plugin's may return anything: words only
    return Deleted(unloaded, note if isinstance(note, str) else "")


def engine_setting(kind: str) -> str:
    """The ``engine.default`` value that selects an engine of ``kind`` (``openai:x`` -> openai)."""
    return kind.split(":", 1)[0]


@dataclass(frozen=True)
class DefaultChange:
    """The config keys that make a model the default for a role, and a sentence saying so."""

    updates: dict[str, Value]
    summary: str
    caveat: str = ""
    """What the change cannot do, shown to the user (empty when nothing)."""

    def apply(self, settings: Settings) -> None:
        """Mirror the change on the running app's settings."""
        for dotted, value in self.updates.items():
            section, key = dotted.split(".")
            setattr(getattr(settings, section), key, value)


def default_change(role: Role, engine: Engine, name: str) -> DefaultChange:
    """What "use ``name`` for ``role`` from now on" writes to the config.

    Chat: ``chat.model`` plus ``engine.default``, so the next start picks the engine
    that has the model. Embeddings: ``rag.embedding_engine``, plus
    ``llamacpp.embedding_model`` for llama.cpp (other engines use their first
    embedding model; there is no key to name one).
    """
    kind = engine_setting(engine.kind)
    if role == "chat":
        return DefaultChange(
            {"chat.model": name, "engine.default": kind},
            f"{name} ({engine.label}) is now the chat default",
        )
    updates: dict[str, Value] = {"rag.embedding_engine": kind}
    caveat = ""
    if kind == "llamacpp":
        updates["llamacpp.embedding_model"] = name
    else:
        caveat = f"documents use the first embedding model {engine.label} lists"
    return DefaultChange(updates, f"{name} ({engine.label}) is now the embedding default", caveat)
