"""Workspaces: separate sets of chats, documents and indexes.

A workspace name becomes a directory name, so it is validated strictly: no
name can point outside the data directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.settings import locations
from offyai_tui.util import fileio

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}


class WorkspaceError(ValueError):
    """An unusable workspace name; the message says why."""


def validate_name(name: str, kind: str = "workspace") -> str:
    """Return ``name`` if it is a safe single path component, else raise.

    Used for workspace and conversation names alike.
    """
    if not name:
        raise WorkspaceError(f"{kind} name is empty")
    if "\x00" in name:
        raise WorkspaceError(f"{kind} name contains a NUL byte")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise WorkspaceError(f"{kind} name {name!r} must not contain a path")
    if not _NAME.match(name) or name.endswith("."):
        raise WorkspaceError(
            f"{kind} name {name!r} may use letters, digits, '.', '_' and '-' "
            "(up to 64, starting with a letter or digit)"
        )
    if name.split(".")[0].lower() in _RESERVED:
        raise WorkspaceError(f"{kind} name {name!r} is reserved on some systems")
    return name


@dataclass(frozen=True)
class Workspace:
    """Paths of one workspace; :meth:`ensure` creates them (0700)."""

    name: str
    root: Path

    @classmethod
    def open(cls, name: str = "default") -> Workspace:
        validate_name(name)
        base = locations.workspaces_dir().resolve()
        root = (base / name).resolve()
        if root.parent != base:
            raise WorkspaceError(f"workspace name {name!r} escapes the data directory")
        return cls(name=name, root=root)

    @property
    def chats_dir(self) -> Path:
        return self.root / "chats"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def documents_manifest(self) -> Path:
        return self.root / "documents.json"

    def ensure(self) -> Workspace:
        for directory in (self.root, self.chats_dir, self.index_dir):
            fileio.ensure_private_dir(directory)
        return self


def list_workspaces() -> list[str]:
    base = locations.workspaces_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and _NAME.match(p.name))
