"""Attachments: files stored once per workspace, named by their content, referenced by messages.

An attached image is copied to ``<workspace>/attachments/<sha256>.<ext>``
(file 0600, directory 0700) and the message keeps only a reference (hash,
type, relative path, the name it was attached under). Why:

- transcripts stay small, greppable text: a photo as base64 in a JSONL line
  would make every load, listing and search read megabytes;
- the same file attached twice (or in two conversations) is stored once;
- the copy is the user's record of what the model saw, even if the original
  is later edited or deleted.

A text file or PDF is stored as the text the model is given
(``attachments/<sha256>.txt``, UTF-8, the hash of that text): the request
is rebuilt from it on every turn as a fenced block headed by the file's name
(:func:`fenced`), and a PDF need not be parsed again.

The write is atomic (temporary file, fsync, rename), so a crash leaves either
no file or the whole file, never a truncated image under a valid name.
References read back from a transcript are validated, so a hand-edited line
cannot point a message at a file outside ``attachments/``.
"""

from __future__ import annotations

import errno
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from offyai_tui.chat.errors import ChatError
from offyai_tui.engines.errors import AttachmentUnavailable
from offyai_tui.engines.parts import ImageRef
from offyai_tui.util.fileio import atomic_write_bytes, ensure_private_dir

ATTACHMENTS_DIR = "attachments"
MAX_BYTES = 20 * 1024 * 1024
"""Larger images are refused: no local vision model takes them, and requests carry base64."""
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
TEXT_TYPES = {"text/plain": "txt"}
"""Files given to the model as text (the text itself is what is stored)."""
_TYPES = IMAGE_TYPES | TEXT_TYPES
_FILE = re.compile(r"attachments/([0-9a-f]{64})\.(png|jpg|gif|webp|txt)")
_OPTIONAL_INTS = ("size", "width", "height", "tokens")
_OPTIONAL_STRS = ("name", "note", "source")


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
    width: int = 0
    height: int = 0
    """Pixels of an image as stored (what the model gets), for its chip."""
    tokens: int = 0
    """Tokens of a file's fenced block when it was attached (cl100k estimate)."""
    note: str = ""
    """What was done to it, e.g. ``downscaled from 4000×3000 to 2048×1536``."""
    source: str = ""
    """What a text attachment was read from: ``text``, ``pdf`` or ``docx``."""

    @property
    def is_image(self) -> bool:
        return self.mime in IMAGE_TYPES

    def path(self, root: Path) -> Path:
        return root / self.file

    def read_text(self, root: Path) -> str:
        """The stored text of a file attachment, verified against ``sha256``.

        Raises:
            AttachmentUnavailable: gone, unreadable or changed on disk (one line).
        """
        label = self.name or self.file
        try:
            data = self.path(root).read_bytes()
        except OSError as exc:
            raise AttachmentUnavailable(
                f"the attached file {label} cannot be read from the workspace's "
                f"attachments: {exc.strerror or exc}"
            ) from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise AttachmentUnavailable(
                f"the attached file {label} was changed on disk; attach it again"
            )
        return data.decode("utf-8", errors="replace")

    def block(self, root: Path) -> str:
        """The fenced block a file attachment adds to its message's request text.

        A stored file that is gone is said in place of its content: the model
        (and the user reading its answer) then knows it is missing, instead
        of answering as if the file had been empty.
        """
        try:
            return fenced(self.name or "attached file", self.read_text(root))
        except AttachmentUnavailable as exc:
            return f"({exc})"

    def ref(self, root: Path) -> ImageRef:
        """The reference engines take: the stored file's absolute path, hash and type."""
        return ImageRef(str(self.path(root)), self.sha256, self.mime, self.name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "mime": self.mime, "file": self.file}
        for key in (*_OPTIONAL_STRS, *_OPTIONAL_INTS):
            if getattr(self, key):
                out[key] = getattr(self, key)
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
        if match is None or match.group(1) != sha or _TYPES.get(str(mime)) != match.group(2):
            raise ValueError(f"bad attachment reference {file!r}")
        extra: dict[str, Any] = {}
        for key in _OPTIONAL_STRS:
            value = data.get(key, "")
            extra[key] = value if isinstance(value, str) else ""
        for key in _OPTIONAL_INTS:
            value = data.get(key, 0)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            extra[key] = value if ok else 0
        return cls(sha, str(mime), file, **extra)


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
    return _store(root, data, mime, name, label)


def store_text(
    root: Path, text: str, *, name: str, tokens: int = 0, source: str = "text", note: str = ""
) -> Attachment:
    """Store the text a file gives the model (``attachments/<sha256>.txt``); return its reference.

    Raises:
        AttachmentError: the disk is full or the folder cannot be written.
    """
    stored = _store(root, text.encode("utf-8"), "text/plain", name, name or "the file")
    return replace(stored, tokens=tokens, source=source, note=note)


def fenced(name: str, text: str) -> str:
    """``text`` as a Markdown code block headed by the file's ``name``.

    The fence is longer than any run of backticks in the text, so a file
    holding Markdown code blocks cannot close it early and have its rest
    read as the user's own words.
    """
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{' '.join(name.split())}\n{fence}\n{text.rstrip(chr(10))}\n{fence}"


def _store(root: Path, data: bytes, mime: str, name: str, label: str) -> Attachment:
    sha = hashlib.sha256(data).hexdigest()
    file = f"{ATTACHMENTS_DIR}/{sha}.{_TYPES[mime]}"
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
