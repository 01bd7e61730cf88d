"""Expand the paths a user gives into files, skipping what should never be indexed.

Folders are walked in sorted order (so progress and results are repeatable).
A folder means that folder: a symlink whose target resolves outside it is not
followed but listed as skipped with its target (``symlink to outside the
folder: /etc/passwd``), unless ``follow_symlinks`` is on (``rag.follow_symlinks``,
``offyai index --follow-symlinks``). Hidden files and folders, version-control
data and dependency folders are left out however they are reached, by name or
through a link (the rule is :func:`offyai_tui.util.confine.resolve_inside`, shared
with every other feature that reads files). Links inside the folder are
followed, but never into a folder already visited: a link back to a parent is
reported as a loop instead of recursing forever. A file named explicitly is
indexed even if hidden or a link: the user chose it. Paths the user removed
from inside an added folder (``exclude``) are left out of its walk. Files are
yielded as real paths (every link resolved), which is what the index records.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from offyai_tui.rag.documents import Skipped
from offyai_tui.util.confine import IGNORED_DIRS, Folder, Refusal, real_path

__all__ = ["IGNORED_DIRS", "canonical", "iter_files", "pulled_through_links"]

canonical = real_path
"""Absolute path with symlinks resolved, without raising on loops or missing files."""


def _stat_error(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "not found (moved or deleted?)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read ({exc.strerror or exc})"


def iter_files(
    paths: Iterable[str | os.PathLike[str]],
    exclude: Iterable[str] = (),
    *,
    follow_symlinks: bool = False,
) -> Iterator[Path | Skipped]:
    """Yield each file to index (canonical path) or a :class:`Skipped` with the reason.

    Args:
        paths: Files and folders as the user gave them.
        exclude: Canonical paths of files and folders not to yield or enter.
        follow_symlinks: Also follow links whose target is outside the folder
            (hidden and ignored targets stay skipped).
    """
    excluded = {Path(p) for p in exclude}
    seen_files: set[Path] = set(excluded)
    visited: set[tuple[int, int]] = set()
    for raw in paths:
        given = Path(os.path.abspath(os.path.expanduser(os.fspath(raw))))
        try:
            info = given.stat()
        except OSError as exc:
            yield Skipped(str(given), _stat_error(exc))
            continue
        if stat.S_ISDIR(info.st_mode):
            # From its real path: what the walk records (skips included) lies under the
            # root the index saved, whichever link the folder was given through.
            yield from _walk(canonical(given), visited, seen_files, excluded, follow_symlinks)
        else:
            path = canonical(given)
            if path not in seen_files:
                seen_files.add(path)
                yield path


def _walk(
    root: Path,
    visited: set[tuple[int, int]],
    seen: set[Path],
    excluded: set[Path],
    follow_symlinks: bool,
) -> Iterator[Path | Skipped]:
    folder_rule = Folder(root)
    stack = [(root, root)]  # (path as walked, its real path): root is already real
    while stack:
        folder, folder_real = stack.pop()
        try:
            info = folder.stat()
        except OSError as exc:
            yield Skipped(str(folder), _stat_error(exc))
            continue
        key = (info.st_dev, info.st_ino)
        if excluded and folder != root and folder_real in excluded:
            continue
        if key in visited:
            if folder.is_symlink():
                yield Skipped(str(folder), "symlink loop (folder already visited)")
            continue
        visited.add(key)
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(str(folder), _stat_error(exc))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if excluded and path in excluded:
                continue  # e.g. a looping link whose row the user removed
            if entry.name in IGNORED_DIRS and _is_dir(entry):
                continue  # dependencies and caches: left out without a word
            if entry.is_symlink():  # the folder rule: only a link can lead elsewhere
                resolved = folder_rule.resolve(path, follow_symlinks=follow_symlinks)
                if isinstance(resolved, Refusal):
                    yield Skipped(str(path), resolved.reason, resolved.target)
                    continue
                real = resolved
            else:  # the name was checked above; its folder's real path is known
                real = folder_real / entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = not is_dir and entry.is_file(follow_symlinks=True)
            except OSError as exc:
                yield Skipped(str(path), _stat_error(exc))
                continue
            if is_dir:
                subfolders.append((path, real))
            elif is_file:
                if real not in seen:
                    seen.add(real)
                    yield real
            elif entry.is_symlink():
                try:
                    path.stat()
                except OSError as exc:
                    yield Skipped(str(path), _stat_error(exc))
        stack.extend(reversed(subfolders))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def pulled_through_links(
    skips: Iterable[Skipped], indexed: Iterable[str], roots: Iterable[str]
) -> set[str]:
    """The indexed paths outside every added folder that lie behind a link this walk refused.

    An index made before the folder rule (or while ``follow_symlinks`` was on)
    holds files reached through such links, e.g. ``repo/keys -> ~/.ssh``;
    they are outside every added folder, so nothing else would ever drop them,
    and a re-index would even read them again as files added one by one. What
    lies in an added folder, or was added by itself, is kept.
    """
    targets = [s.target for s in skips if s.target]
    if not targets:
        return set()
    saved = list(roots)
    return {
        path for path in indexed
        if any(_under(path, t) for t in targets) and not any(_under(path, r) for r in saved)
    }  # fmt: skip


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")
