"""The GGUF models the llama.cpp engine can run, described from their headers.

The bundled models come first (:mod:`offyai_tui.engines.bundled`), then every ``*.gguf``
in :func:`locations.models_dir`, named by file stem (a stem that clashes with a
bundled name keeps its ``.gguf`` suffix). Nothing is loaded: each file's header
is read (and cached while the file is unchanged), and a file that is not a
usable GGUF is listed with its error instead of breaking the listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offyai_tui.engines import bundled
from offyai_tui.engines.base import ModelInfo
from offyai_tui.engines.errors import BadModelFile, EngineError, ModelNotFound, Unsupported
from offyai_tui.engines.gguf_info import GGUFInfo, read_gguf_info
from offyai_tui.engines.llamacpp_vision import (
    CAPABILITY,
    PROJECTOR_ARCHITECTURE,
    is_projector,
    projector_of,
    with_vision,
)
from offyai_tui.engines.sampling import model_file_sampling
from offyai_tui.settings import locations


@dataclass(frozen=True)
class CatalogEntry:
    """A model this engine can name, usable or not."""

    name: str
    path: Path
    bundled: bool
    ready: bool
    """The file exists now (a bundled model may still need assembling)."""
    kind: str = "chat"
    description: str = ""
    info: GGUFInfo | None = None
    error: str = ""

    @property
    def capabilities(self) -> tuple[str, ...]:
        if self.error:
            return ()
        if self.info is not None:
            return self.info.capabilities
        return ("embedding",) if self.kind == "embedding" else ("chat",)

    def model_info(self) -> ModelInfo:
        info = self.info
        details: dict[str, Any] = {"bundled": self.bundled, "ready": self.ready}
        if self.description:
            details["description"] = self.description
        if self.error:
            details["error"] = self.error
        if info is not None:
            details.update(
                architecture=info.architecture,
                parameter_count=info.parameter_count,
                block_count=info.block_count,
                head_count=info.head_count,
                head_count_kv=info.head_count_kv,
                embedding_length=info.embedding_length,
                chat_template=bool(info.chat_template),
            )
            if advised := model_file_sampling(info.metadata):  # shown as "Parameters"
                lines = [f"{name:<16} {value}" for name, value in advised.items()]
                lines.append("(recommended by the model file: used unless config, the mode "
                             "or /set parameter say otherwise)")
                details["parameters"] = "\n".join(lines)
        capabilities = with_vision(self.capabilities, self.path)
        if CAPABILITY in capabilities and (projector := projector_of(self.path)):
            details["projector"] = str(projector)  # why images work: shown in Models details
        size = info.size_bytes if info is not None else _size(self.path)
        return ModelInfo(
            name=self.name,
            engine="llamacpp",
            size_bytes=size,
            family=info.architecture if info else "",
            parameter_size=info.parameter_size if info else "",
            quantization=info.quantization if info else "",
            context_length=info.context_length if info else 0,
            capabilities=capabilities,
            path=str(self.path),
            details=details,
        )


def scan_models() -> list[CatalogEntry]:
    """Bundled models, then ``*.gguf`` files in the models dir; never raises for a bad file."""
    entries: list[CatalogEntry] = []
    for model in bundled.bundled_models():
        entries.append(
            _entry(model.name, model.path, True, model.ready, model.kind, model.description)
        )
    taken = {entry.name for entry in entries}
    folder = locations.models_dir()
    files = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
    for path in files:
        if is_projector(path):
            continue  # a multimodal projector, not a model (llamacpp_vision)
        name = path.stem if path.stem not in taken else path.name
        taken.add(name)
        entries.append(_entry(name, path, False, True))
    return entries


def _entry(
    name: str, path: Path, is_bundled: bool, ready: bool, kind: str = "chat", description: str = ""
) -> CatalogEntry:
    if not ready:
        return CatalogEntry(name, path, is_bundled, False, kind, description)
    try:
        info = read_gguf_info(path)
    except BadModelFile as err:
        return CatalogEntry(name, path, is_bundled, True, kind, description, error=str(err))
    if info.architecture == PROJECTOR_ARCHITECTURE:  # named as a model: pairs with none
        error = (
            f"{path.name} is a multimodal projector, not a model: give it a name with mmproj "
            "in it (e.g. MODEL.mmproj.gguf) so the model beside it uses it"
        )
        return CatalogEntry(name, path, is_bundled, True, kind, description, error=error)
    return CatalogEntry(name, path, is_bundled, True, kind, description, info)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def find_model(name: str, entries: list[CatalogEntry] | None = None) -> CatalogEntry | None:
    """The entry named ``name`` (exact, then case-insensitive), or a ``.gguf`` path's entry."""
    wanted = name.strip()
    entries = scan_models() if entries is None else entries
    for entry in entries:
        if entry.name == wanted:
            return entry
    for entry in entries:
        if entry.name.lower() == wanted.lower():
            return entry
    candidate = Path(wanted).expanduser()
    if wanted.lower().endswith(".gguf") and candidate.is_file():
        return _entry(candidate.stem, candidate.resolve(), False, True)
    return None


def prepared(entry: CatalogEntry) -> CatalogEntry:
    """``entry`` with its file built if it is a bundled model not assembled yet."""
    if not entry.bundled or entry.ready:
        return entry
    path = bundled.resolve(entry.name) or entry.path
    return _entry(entry.name, path, True, True, entry.kind, entry.description)


def lookup(name: str, label: str) -> CatalogEntry:
    """The entry for ``name`` (or a path to a GGUF), without preparing it.

    Raises:
        ModelNotFound: listing the usable models, under the engine's ``label``.
    """
    entries = scan_models()
    entry = find_model(name, entries)
    if entry is None:
        usable = [e.name for e in entries if not e.error]
        raise ModelNotFound(name.strip(), usable, label)
    return entry


def usable_entry(name: str, capability: str | None, label: str) -> CatalogEntry:
    """The entry for ``name``, prepared and able to do ``capability`` (unless None).

    Raises:
        ModelNotFound, BadModelFile, Unsupported, EngineError: one readable line.
    """
    entry = lookup(name, label)
    try:
        entry = prepared(entry)
    except OSError as exc:
        raise EngineError(f"{entry.name} cannot be prepared: {exc}") from None
    if entry.error or entry.info is None:
        raise BadModelFile(entry.error or f"{entry.name}: {entry.path} cannot be read")
    if capability is not None and capability not in entry.capabilities:
        other = "an embedding" if capability == "chat" else "a chat"
        raise Unsupported(f"{entry.name} is {other} model; it cannot {_VERBS[capability]}")
    return entry


_VERBS = {"chat": "chat", "embedding": "compute embeddings"}
