"""One readable line for a failed file operation: what could not be done, where, and why.

``[Errno 30] Read-only file system: '/x/cache'`` names the path but not what
OffyAI was doing or what to do about it; users see this when the data
directory is on a read-only mount, owned by someone else, or full.
"""

from __future__ import annotations

import errno

_HINTS = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENOTDIR: "a file is where a directory should be",
    errno.EEXIST: "a file is in the way",
}


def describe(exc: OSError) -> str:
    """E.g. ``cannot write /x/cache: the file system is read-only (OffyAI keeps ...)``."""
    reason = _HINTS.get(exc.errno or 0, exc.strerror or str(exc))
    path = exc.filename or ""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST):
        where = f" {path}" if path else ""
        return (
            f"cannot write{where}: {reason} (OffyAI keeps its data, cache and logs under the "
            "directories `offyai locate` prints; set OFFYAI_HOME to move them)"
        )
    if path:
        return f"{path}: {reason}"
    return reason
