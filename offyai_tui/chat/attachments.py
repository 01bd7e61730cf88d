"""Attachments: files stored once per workspace, named by their content, referenced by messages.

An attached image is copied to ``<workspace>/attachments/<sha256>.<ext>``
(file 0600, directory 0700) and the message keeps only a reference (hash,
type, relative path, the name it was attached under). Why:

- transcripts stay small, greppable text: a photo as base64 in a JSONL line
  would make every load, listing and search read megabytes;
- the same file attached twice (or in two conversations) is stored once;
- the copy is the user's record of what the model saw, even if the original
  is later edited or deleted.

The write is atomic (temporary file, fsync, rename), so a crash leaves either
no file or the whole file, never a truncated image under a valid name.
References read back from a transcript are validated, so a hand-edited line
cannot point a message at a file outside ``attachments/``.
"""

from __future__ import annotations

import errno
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offyai_tui.chat.errors import ChatError
from offyai_tui.engines.parts import ImageRef
from offyai_tui.fileio import atomic_write_bytes
from offyai_tui.locations import ensure_private_dir

ATTACHMENTS_DIR = "attachments"
MAX_BYTES = 20 * 1024 * 1024
"""Larger images are refused: no local vision model takes them, and requests carry base64."""
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_FILE = re.compile(r"attachments/([0-9a-f]{64})\.(png|jpg|gif|webp)")


class AttachmentError(ChatError):
    """A file that cannot be attached (not an image, too large, unreadable, disk full)."""

    title = "Cannot attach"


@dataclass(frozen=True)
class Attachment:
    """A stored attachment as a message references it (and as the transcript holds it)."""

    sha256: str
    mime: str
    file: str
    """Path relative to the workspace root: ``attachments/<sha256>.<ext>``."""
    name: str = ""
    """The file name it was attached under (shown to the user; never used as a path)."""
    size: int = 0

    def path(self, root: Path) -> Path:
        return root / self.file

    def ref(self, root: Path) -> ImageRef:
        """The reference engines take: the stored file's absolute path, hash and type."""
        return ImageRef(str(self.path(root)), self.sha256, self.mime, self.name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "mime": self.mime, "file": self.file}
        if self.name:
            out["name"] = self.name
        if self.size:
            out["size"] = self.size
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Attachment:
        """Read a transcript entry back.

        Raises:
            ValueError: not an object, or a ``file`` that is not exactly
                ``attachments/<its sha256>.<known extension>`` of a known type.
        """
        if not isinstance(data, dict):
            raise ValueError("an attachment is not an object")
        sha, mime, file = data.get("sha256"), data.get("mime"), data.get("file")
        match = _FILE.fullmatch(file) if isinstance(file, str) else None
        if match is None or match.group(1) != sha or IMAGE_TYPES.get(str(mime)) != match.group(2):
            raise ValueError(f"bad attachment reference {file!r}")
        name, size = data.get("name", ""), data.get("size", 0)
        return cls(
            sha,
            str(mime),
            file,
            name if isinstance(name, str) else "",
            size if isinstance(size, int) and not isinstance(size, bool) else 0,
        )


def sniff_image(data: bytes) -> str | None:
    """The MIME type of an image from its first bytes, or ``None`` if it is no image we take.

    The content decides, not the file name: a ``.png`` that is really a PDF
    would be sent to the model as an image and fail there, far from the cause.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_attachment(root: Path, source: Path | bytes, *, name: str = "") -> Attachment:
    """Store an image in the workspace at ``root`` once; return its reference.

    ``source`` is a file to copy or the bytes themselves. A file already stored
    with the same content is reused (checked by hash, so a damaged copy is
    replaced rather than trusted).

    Raises:
        AttachmentError: one line saying what is wrong and that nothing was stored.
    """
    label = name or (source.name if isinstance(source, Path) else "the image")
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_BYTES:
                raise AttachmentError(_too_large(label, size))
            data = source.read_bytes()
        except OSError as exc:
            raise AttachmentError(f"cannot read {label}: {exc.strerror or exc}") from None
        name = name or source.name
    else:
        data = source
    if len(data) > MAX_BYTES:
        raise AttachmentError(_too_large(label, len(data)))
    mime = sniff_image(data)
    if mime is None:
        raise AttachmentError(f"{label} is not a PNG, JPEG, GIF or WebP image; nothing attached")
    sha = hashlib.sha256(data).hexdigest()
    file = f"{ATTACHMENTS_DIR}/{sha}.{IMAGE_TYPES[mime]}"
    attachment = Attachment(sha, mime, file, name, len(data))
    target = attachment.path(root)
    try:
        ensure_private_dir(target.parent)
        if not _holds(target, sha):
            atomic_write_bytes(target, data)
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise AttachmentError(f"cannot store {label}: {reason}; nothing attached") from None
    return attachment


def _holds(path: Path, sha: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha
    except OSError:
        return False


def _too_large(label: str, size: int) -> str:
    return (
        f"{label} is {size / 1024 / 1024:.1f} MB; images up to "
        f"{MAX_BYTES // 1024 // 1024} MB can be attached"
    )
