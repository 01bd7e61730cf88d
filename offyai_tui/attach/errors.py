"""Why a file cannot be attached: one typed error per kind of bad input.

Every error is an :class:`~offyai_tui.chat.attachments.AttachmentError`, so the
chat screen and ``offyai ask`` catch one type and show ``str(error)`` (one
line, the file's name through :func:`~offyai_tui.textsafe.visible`, ending in
"nothing attached" where that is not obvious); the subclasses let tests and
callers tell the cases apart (``offyai ask`` exits 1 for all of them).
"""

from __future__ import annotations

from offyai_tui.chat.attachments import AttachmentError


class NotFound(AttachmentError):
    """The path names nothing (or a broken link)."""


class NotAFile(AttachmentError):
    """A folder, a device, a socket: only regular files are attached."""


class Unreadable(AttachmentError):
    """Permission denied, an I/O error, a symlink loop."""


class Refused(AttachmentError):
    """An ``@path`` that leaves the folder it was typed in (a symlink out, ``..``, hidden)."""


class TooLarge(AttachmentError):
    """Bigger than any model takes (bytes, or pixels that would take gigabytes to decode)."""


class NotAnImage(AttachmentError):
    """Asked for as an image (``/image``, ``--image``) but the bytes are no image we take."""


class CorruptImage(AttachmentError):
    """Starts like an image but cannot be decoded (truncated, damaged)."""


class NotText(AttachmentError):
    """Neither an image, a PDF nor text: a binary file the model could not read."""


class OverBudget(AttachmentError):
    """A text file or PDF whose tokens do not fit the room left in the context."""

    def __init__(self, message: str, tokens: int, budget: int) -> None:
        super().__init__(message)
        self.tokens = tokens
        self.budget = budget


class NoVision(AttachmentError):
    """Images for a model that cannot see them: nothing is sent."""
