"""The one-line labels attachments are shown as, before sending and in the transcript.

``[image 1: photo.png 1200×800 210 KB]`` and ``[file 2: notes.txt 1,234 tokens]``:
the facts that tell whether the right thing is about to go (which file, how
big for the model), numbered in the order attached so a chip can be named
when removed. Names are from outside and go through
:func:`~offyai_tui.util.textsafe.visible`: a file named with an escape
sequence cannot redraw the screen. The labels are plain text; widgets put
them in ``Content``/``Text``, never in markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from offyai_tui.attach.limits import human_bytes
from offyai_tui.chat.attachments import Attachment
from offyai_tui.util.textsafe import visible


def chip(attachment: Attachment, number: int) -> str:
    """The label of one attachment, the ``number``-th of its message."""
    name = visible(attachment.name or "unnamed")
    if attachment.is_image:
        facts = [name]
        if attachment.width and attachment.height:
            facts.append(f"{attachment.width}×{attachment.height}")
        if attachment.size:
            facts.append(human_bytes(attachment.size))
        return f"[image {number}: {' '.join(facts)}]"
    tokens = f" {attachment.tokens:,} tokens" if attachment.tokens else ""
    return f"[file {number}: {name}{tokens}]"


def chips(attachments: Sequence[Attachment]) -> list[str]:
    """Labels for a message's attachments, numbered from 1 in the order given."""
    return [chip(a, n) for n, a in enumerate(attachments, 1)]


def message_chips(images: Sequence[Attachment], files: Sequence[Attachment]) -> list[str]:
    """Labels for a stored message (``ChatMessage.images`` then ``.files``)."""
    return chips([*images, *files])


def notes(attachments: Sequence[Attachment]) -> list[str]:
    """One line per attachment that was changed on the way (downscaled, first frame)."""
    return [
        f"{visible(a.name or 'unnamed')}: {visible(a.note)}" for a in attachments if a.note
    ]
