"""From a path the user named (or bytes piped on stdin) to a stored attachment.

This is what the chat screen, ``/image``, ``/file``, ``@path`` and
``offyai ask --image/--file`` call. The content decides what a file is (an
image by its signature, a PDF by ``%PDF-``, text by decoding), never the
name alone: a screenshot saved as ``.txt`` is still an image, and a text
file renamed ``.png`` is refused as "not an image" rather than sent to a
vision model that would fail on it far from the cause.

Each call reads the file once (regular files only, at most
:data:`~.limits.MAX_INPUT_BYTES`), prepares it (:mod:`.images`,
:mod:`.files`), and stores it once in the workspace
(``attachments/<sha256>.<ext>``, 0600). The result is a
:class:`~offyai_tui.chat.attachments.Attachment`: it carries the
``ImageRef`` engines send (``attachment.ref(root)``) and what the chip shows,
and it is what ``Conversation.add_user(text, images=..., files=...)`` stores.

The calls block (disk, Pillow, PDF parsing): the UI runs them in a thread.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, Literal

from offyai_tui.attach.errors import NotAFile, NotFound, TooLarge, Unreadable
from offyai_tui.attach.files import prepare_text
from offyai_tui.attach.images import prepare_image
from offyai_tui.attach.limits import MAX_INPUT_BYTES, ImageLimits, human_bytes, image_limits
from offyai_tui.chat.attachments import Attachment, sniff_image, store_attachment, store_text
from offyai_tui.chat.tokens import estimate_tokens
from offyai_tui.util.textsafe import visible

STDIN = "-"
STDIN_NAME = "stdin"
Want = Literal["image", "file"] | None


def read_source(
    source: str | os.PathLike[str], *, stdin: BinaryIO | None = None,
    max_bytes: int = MAX_INPUT_BYTES,
) -> tuple[bytes, str]:  # fmt: skip
    """The bytes of ``source`` and the name to show for it (``-`` reads ``stdin``).

    The file is opened first and checked through the open descriptor, so a
    file swapped between a check and the read cannot slip past; a FIFO is
    opened non-blocking so a named pipe cannot hang the app.

    Raises:
        NotFound, NotAFile, Unreadable, TooLarge: one line each, naming the file.
    """
    if os.fspath(source) == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(_too_large(STDIN_NAME, None, max_bytes))
        return data, STDIN_NAME
    path = Path(os.path.expanduser(os.fspath(source)))
    name = visible(path.name or str(path))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise NotFound(f"{visible(path)} does not exist; nothing attached") from None
    except IsADirectoryError:
        raise NotAFile(_folder(name)) from None
    except PermissionError:
        raise Unreadable(f"{name} cannot be read: permission denied; nothing attached") from None
    except OSError as exc:
        why = "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise Unreadable(f"{name} cannot be read: {why}; nothing attached") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotAFile(_folder(name))
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile(f"{name} is not a regular file; nothing attached")
        if info.st_size > max_bytes:
            raise TooLarge(_too_large(name, info.st_size, max_bytes))
        data = _read_all(fd, name, max_bytes)
    finally:
        os.close(fd)
    return data, name


def prepare(
    root: Path,
    source: str | os.PathLike[str] | bytes,
    *,
    want: Want = None,
    name: str = "",
    limits: ImageLimits | None = None,
    budget: int | None = None,
    count: Callable[[str], int] = estimate_tokens,
    stdin: BinaryIO | None = None,
) -> Attachment:
    """Read, check, fit and store one attachment in the workspace at ``root``.

    Args:
        root: The workspace folder (``attachments/`` is made in it).
        source: A path, ``-`` for stdin, or the bytes themselves (a paste).
        want: ``image`` (``/image``, ``--image``): anything else is refused as
            not an image. ``file`` or ``None``: the content decides, so an
            image given to ``/file`` is still attached as an image.
        name: The name to show; by default the file's name.
        limits: The model's image limits (:func:`~.limits.image_limits`).
        budget: Tokens a text file or PDF may take (the room left in the context).
        count: Token counter for text files (the offline estimate by default).
        stdin: Where ``-`` reads from (``sys.stdin.buffer`` by default).

    Raises:
        AttachmentError: a subclass from :mod:`.errors`; one line, nothing stored.
    """
    if isinstance(source, bytes):
        if len(source) > MAX_INPUT_BYTES:
            raise TooLarge(_too_large(name or "the pasted data", len(source), MAX_INPUT_BYTES))
        data, shown = source, visible(name) or "pasted data"
    else:
        data, shown = read_source(source, stdin=stdin)
        shown = visible(name) if name else shown
    if not data:
        raise Unreadable(f"{shown} is empty; nothing attached")
    if want == "image" or sniff_image(data) is not None:
        return _store_image(root, data, shown, limits or image_limits())
    prepared = prepare_text(data, shown, budget=budget, count=count)
    notes = "; ".join(prepared.notes)
    return store_text(
        root, prepared.text, name=shown, tokens=prepared.tokens, source=prepared.source,
        note=notes,
    )  # fmt: skip


def prepare_all(
    root: Path,
    *,
    images: Sequence[str] = (),
    files: Sequence[str] = (),
    limits: ImageLimits | None = None,
    budget: int | None = None,
    count: Callable[[str], int] = estimate_tokens,
    stdin: BinaryIO | None = None,
) -> list[Attachment]:
    """``offyai ask --image A --file B ...``: every attachment, or the first refusal.

    Files share ``budget``: each may take what the ones before it left, so two
    files that each fit but not together are refused. ``-`` (stdin) may be
    given once: a stream is read once.

    Raises:
        AttachmentError: the first file that cannot be attached (one line).
    """
    if [*images, *files].count(STDIN) > 1:
        raise Unreadable("stdin (-) can be attached once; nothing attached")
    out = [prepare(root, p, want="image", limits=limits, stdin=stdin) for p in images]
    for path in files:
        left = None if budget is None else budget - file_tokens(out)
        out.append(prepare(root, path, limits=limits, budget=left, count=count, stdin=stdin))
    return out


def _store_image(root: Path, data: bytes, name: str, limits: ImageLimits) -> Attachment:
    image = prepare_image(data, name, limits)
    stored = store_attachment(root, image.data, name=name)
    return replace(stored, width=image.width, height=image.height, note=image.note)


def _read_all(fd: int, name: str, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            piece = os.read(fd, 1 << 20)
        except BlockingIOError:
            raise NotAFile(f"{name} is not a regular file; nothing attached") from None
        except OSError as exc:
            raise Unreadable(
                f"{name} cannot be read: {exc.strerror or exc}; nothing attached"
            ) from None
        if not piece:
            return b"".join(chunks)
        chunks.append(piece)
        total += len(piece)
        if total > max_bytes:
            raise TooLarge(_too_large(name, None, max_bytes))


def _folder(name: str) -> str:
    return (
        f"{name} is a folder; attach its files one by one, or add the folder to "
        "Documents; nothing attached"
    )


def _too_large(name: str, size: int | None, limit: int) -> str:
    what = f"{name} is {human_bytes(size)}" if size is not None else f"{name} is over the limit"
    return f"{what}; files up to {human_bytes(limit)} can be attached; nothing attached"


def by_kind(items: Sequence[Attachment]) -> tuple[list[Attachment], list[Attachment]]:
    """``(images, files)`` in the order attached: what ``Conversation.add_user`` takes."""
    return [a for a in items if a.is_image], [a for a in items if not a.is_image]


def file_tokens(items: Sequence[Attachment]) -> int:
    """Tokens the files among ``items`` add to the next request (for the context meter
    before sending; images are counted by the server, not here)."""
    return sum(a.tokens for a in items if not a.is_image)
