"""Folders mean folders: the one rule for reading a file on the user's behalf.

When the user adds a folder (Documents, ``offyai index``) or names a path that
something else will read (``@path`` attachments, a file-reading tool), the
folder is the boundary they chose. A symlink inside it is a pointer someone
else may have planted: ``repo/keys -> ~/.ssh`` or ``repo/notes.txt ->
/etc/passwd`` must not turn "index my repo" into "index my private keys".
Hidden files and folders (``.ssh``, ``.env``, ``.git``) and dependency or
version-control folders (:data:`IGNORED_DIRS`) are skipped however they are
reached: by name in the folder, or as the target of a link.

Every caller uses :func:`resolve_inside`, so the rule cannot drift between
features. It answers with the resolved real path to read, or a
:class:`Refusal` whose reason is one line to show the user (the documents
list, the ``skipped`` lines of ``offyai index``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

IGNORED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode", "site-packages",
})  # fmt: skip
"""Folders never walked into: version control, dependencies, caches."""


@dataclass(frozen=True)
class Refusal:
    """Why a path is not read (one line, e.g. ``symlink to outside the folder: /etc``)."""

    reason: str
    target: str = field(default="", compare=False)
    """The real path it leads to (what an index made before the rule may hold)."""

    def __str__(self) -> str:
        return self.reason


def real_path(path: str | os.PathLike[str]) -> Path:
    """Absolute path with every symlink resolved; never raises on loops or missing files."""
    # No abspath first: it would fold ``link/..`` before the link is followed.
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def is_within(path: Path, folder: Path) -> bool:
    """True if ``path`` is ``folder`` or below it (both absolute, already resolved)."""
    return path == folder or folder in path.parents


def private_part(parts: tuple[str, ...]) -> str | None:
    """The first hidden or ignored name among ``parts`` (path components), if any."""
    for part in parts:
        if part in IGNORED_DIRS:
            return part
        if part.startswith(".") and part not in (".", ".."):
            return part
    return None


def resolve_inside(
    root: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    follow_symlinks: bool = False,
) -> Path | Refusal:
    """The real path to read for ``path`` found in the folder ``root``, or why not.

    The rule, shared by the folder walk, ``@path`` attachments and the
    file-reading tool:

    - ``path`` is resolved (every symlink, ``..``); if the result is outside
      ``root`` (itself resolved) it is refused (``symlink to outside the
      folder: TARGET``), unless ``follow_symlinks`` is set and ``path`` itself
      lies in ``root`` (a link in the folder, not a ``../`` escape);
    - every component of the resolved path below ``root`` must be neither
      hidden (``.name``) nor an ignored folder (:data:`IGNORED_DIRS`): a link
      ``docs/keys -> ../.ssh`` is refused like ``.ssh`` itself;
    - with ``follow_symlinks``, a target outside ``root`` is checked the same
      way along its whole absolute path, so ``keys -> ~/.ssh`` stays refused,
      and a target that contains ``root`` (``up -> ..``, ``all -> /``) is
      refused too: following it would walk the whole disk.

    ``root`` itself may live anywhere, hidden folders included: the user chose
    it. Existence is not checked; reading a missing file fails as usual.
    """
    return Folder(root).resolve(path, follow_symlinks=follow_symlinks)


class Folder:
    """A folder the user chose, resolved once for the many paths a walk checks."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.given = Path(os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(root)))))
        self.real = real_path(root)

    def resolve(
        self, path: str | os.PathLike[str], *, follow_symlinks: bool = False
    ) -> Path | Refusal:
        """:func:`resolve_inside` for this folder."""
        given = Path(os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))
        real = real_path(path)  # ``..`` after a link climbs from its target, as open() does
        if is_within(real, self.real):
            hidden = private_part(real.relative_to(self.real).parts)
            if hidden is None:
                return real
            linked = real != given and not (
                is_within(given, self.given / hidden) or is_within(given, self.real / hidden)
            )
            what = "symlink to a hidden or ignored path" if linked else "hidden or ignored path"
            return Refusal(f"{what} ({hidden}): {real}", str(real))
        in_folder = is_within(given, self.given) or is_within(given, self.real)
        if not in_folder:
            return Refusal(f"outside the folder: {real}", str(real))
        if not follow_symlinks:
            return Refusal(f"symlink to outside the folder: {real}", str(real))
        if is_within(self.real, real):  # ``up -> ..`` or ``all -> /``: the walk would never end
            # No target: everything lies under it, it says nothing of what was pulled in.
            return Refusal(f"symlink to a folder that contains this one: {real}")
        hidden = private_part(real.parts[1:])
        if hidden is not None:
            return Refusal(f"symlink to a hidden or ignored path ({hidden}): {real}", str(real))
        return real
