"""One writer per workspace: an advisory ``flock`` on ``<workspace>/workspace.lock``.

Two app instances appending to the same transcript could interleave lines, so
the first instance takes the lock and the second is told who holds it (the pid
written into the lock file) and may continue read-only. The kernel drops the
lock when the holder exits, even on ``kill -9``, so a stale lock file never
blocks anyone; the file itself is left in place (removing it would race).
"""

from __future__ import annotations

import contextlib
import os
import weakref
from pathlib import Path

from offyai_tui.chat.errors import WorkspaceLocked
from offyai_tui.util.fileio import ensure_private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "workspace.lock"

_live: weakref.WeakSet[WorkspaceLock] = weakref.WeakSet()
_fork_hook_installed = False


class WorkspaceLock:
    """An exclusive, non-blocking lock on one workspace directory."""

    def __init__(self, root: Path, workspace: str = "") -> None:
        self.path = root / LOCK_NAME
        self.workspace = workspace or root.name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> WorkspaceLock:
        """Take the lock or raise :class:`WorkspaceLocked` naming the holder's pid."""
        if self._fd is not None:
            return self
        ensure_private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                os.close(fd)
                raise WorkspaceLocked(self.workspace, pid) from None
            except OSError:
                os.close(fd)
                raise
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _install_fork_hook()
        _live.add(self)
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _live.discard(self)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor releases the flock

    def holder_pid(self) -> int | None:
        """The pid recorded by whoever holds (or last held) the lock."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return _read_pid(fd)
        finally:
            os.close(fd)

    def _forget_after_fork(self) -> None:
        # A forked child must not keep the parent's lock alive after the
        # parent exits: close its copy of the descriptor without unlocking.
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> WorkspaceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _after_fork_in_child() -> None:
    for lock in list(_live):
        lock._forget_after_fork()
    _live.clear()


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_installed = True
