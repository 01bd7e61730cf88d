"""Importing a GGUF file into the models folder the llama.cpp engine scans.

The header is read (not the model loaded) before anything is copied, so a file that is
not GGUF, or is cut short, is reported and never imported. The copy goes to a temporary
file in the models folder, is checked again, and is renamed into place: an interrupted
import leaves no half file that the engine would later try to load.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.engines.errors import BadModelFile, EngineError
from offyai_tui.engines.gguf_info import GGUFInfo, read_gguf_info
from offyai_tui.engines.llamacpp_vision import PROJECTOR_ARCHITECTURE, is_projector
from offyai_tui.hw.hardware import format_bytes
from offyai_tui.manage.projectors import ProjectorPlan, describe, plan_projector
from offyai_tui.settings import locations
from offyai_tui.util import fileio

CHUNK = 8 * 1024 * 1024

Progress = Callable[[int, int], None]
"""Called with (bytes copied, total bytes) after each chunk; may raise to stop."""


class ImportFailed(EngineError):
    """The file is fine but cannot be imported (name taken, no space, unreadable)."""

    title = "Import failed"


@dataclass(frozen=True)
class Imported:
    path: Path
    """Where the model now lives."""
    info: GGUFInfo
    projector: ProjectorPlan | None = None
    """What happened to the projector beside the source (None: there was none)."""

    def summary(self) -> str:
        """One line for the user: what was imported, where, and its projector."""
        info = self.info
        facts = ", ".join(
            x for x in (info.architecture, info.parameter_size, info.quantization) if x
        )
        line = f"imported {self.path.name} ({facts}) into {self.path.parent}"
        note = describe(self.projector)
        return f"{line}; {note}" if note else line


def target_name(source: Path) -> str:
    """The file name in the models folder (``.gguf`` added when missing)."""
    return source.name if source.name.lower().endswith(".gguf") else f"{source.name}.gguf"


def check_source(source: str | os.PathLike[str]) -> tuple[Path, GGUFInfo]:
    """Resolve a typed path and read its GGUF header.

    Raises:
        ImportFailed: nothing (or a folder) at that path.
        BadModelFile: not GGUF, truncated or corrupt.
    """
    typed = os.fspath(source).strip()
    if not typed:
        raise ImportFailed("type the path of a .gguf file to import")
    path = Path(os.path.expanduser(typed))
    if not path.exists():
        raise ImportFailed(f"{path} does not exist")
    if path.is_dir():
        raise ImportFailed(f"{path} is a folder; choose a .gguf file in it")
    return path, read_gguf_info(path)


def import_gguf(
    source: str | os.PathLike[str],
    models_dir: Path | None = None,
    progress: Progress | None = None,
) -> Imported:
    """Copy a valid GGUF file into ``models_dir`` (default: the app's), mode 0600.

    Blocking (a multi-gigabyte copy): run it in a thread.

    Raises:
        BadModelFile: the file is not a usable GGUF; nothing is copied.
        ImportFailed: the name is taken by another file, or disk space or
            permissions stop the copy.
    """
    path, info = check_source(source)
    if is_projector(path) or info.architecture == PROJECTOR_ARCHITECTURE:
        raise ImportFailed(
            f"{path.name} is a multimodal projector, not a chat model; import the model's "
            "GGUF beside it and the projector comes along"
        )
    folder = models_dir or locations.models_dir()
    target = folder / target_name(path)
    if target.exists():
        with contextlib.suppress(OSError):
            if os.path.samefile(path, target):
                raise ImportFailed(f"{path.name} is already in the models folder")
        raise ImportFailed(
            f"a model named {target.name} is already imported; rename the file to import it too"
        )
    try:
        fileio.ensure_private_dir(folder)
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise ImportFailed(f"cannot use {folder} ({exc.strerror or exc})") from None
    plan = plan_projector(path, target, folder)
    extra = plan.source.stat().st_size if plan is not None and plan.copy else 0
    need = info.size_bytes + extra
    if free < need:
        raise ImportFailed(
            f"not enough disk space: {path.name} needs {format_bytes(need)},"
            f" {format_bytes(free)} free in {folder}"
        )
    if plan is None or not plan.copy or plan.target is None:
        copied = _copy(path, folder, target, need, progress)
        return Imported(copied, read_gguf_info(copied), plan)
    projector = _copy(plan.source, folder, plan.target, need, progress)
    try:
        copied = _copy(path, folder, target, need, _after(extra, progress))
    except BaseException:
        with contextlib.suppress(OSError):
            projector.unlink()  # no projector left behind for a model that is not there
        raise
    return Imported(copied, read_gguf_info(copied), plan)


def _after(offset: int, progress: Progress | None) -> Progress | None:
    """``progress`` counting on from ``offset`` bytes (the projector copied first)."""
    if progress is None:
        return None
    return lambda done, total: progress(offset + done, total)


def _copy(source: Path, folder: Path, target: Path, size: int, progress: Progress | None) -> Path:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    try:
        done = 0
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, size)
            writer.flush()
            os.fsync(writer.fileno())
        os.chmod(tmp, 0o600)
        try:
            read_gguf_info(tmp)
        except BadModelFile as exc:
            raise ImportFailed(f"the copy of {source.name} is damaged ({exc}); try again") from None
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ImportFailed(f"cannot copy {source.name} ({exc.strerror or exc})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
