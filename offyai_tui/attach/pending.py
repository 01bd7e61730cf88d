"""The attachments chosen for the next message, before it is sent.

The chat screen shows them as chips under the prompt; ``offyai ask`` builds
one from ``--image``/``--file``. Keeping the list here, not in a widget,
gives both the same numbering (``[image 1: …]``, ``[file 2: …]``), the same
removal by number, the same "already attached" rule (by content, so one
file dropped twice, or the same bytes under two names, is sent once) and the
same count of what the files add to the context.
"""

from __future__ import annotations

from collections.abc import Iterator

from offyai_tui.attach.chips import chips
from offyai_tui.attach.prepare import by_kind, file_tokens
from offyai_tui.chat.attachments import Attachment


class Pending:
    """An ordered set of prepared attachments, numbered from 1 as their chips are."""

    def __init__(self) -> None:
        self._items: list[Attachment] = []

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Attachment]:
        return iter(self._items)

    @property
    def items(self) -> list[Attachment]:
        return list(self._items)

    @property
    def has_images(self) -> bool:
        """Whether the next message needs a model with vision."""
        return any(a.is_image for a in self._items)

    def add(self, item: Attachment) -> bool:
        """Add ``item``; ``False`` when the same content is already pending (nothing added)."""
        if any(a.sha256 == item.sha256 for a in self._items):
            return False
        self._items.append(item)
        return True

    def remove(self, number: int) -> Attachment:
        """Take out the ``number``-th chip (1-based); later chips are renumbered.

        Raises:
            ValueError: no such chip (one line naming the ones there are).
        """
        if not 1 <= number <= len(self._items):
            there = f"1-{len(self._items)}" if len(self._items) > 1 else "1"
            have = f"attachments are {there}" if self._items else "nothing is attached"
            raise ValueError(f"no attachment {number}; {have}")
        return self._items.pop(number - 1)

    def chips(self) -> list[str]:
        return chips(self._items)

    def file_tokens(self) -> int:
        """Tokens the pending files add to the next request (for the context meter)."""
        return file_tokens(self._items)

    def budget_left(self, room: int) -> int:
        """What another file may take, when ``room`` tokens are free for all of them."""
        return max(0, room - self.file_tokens())

    def take(self) -> tuple[list[Attachment], list[Attachment]]:
        """``(images, files)`` for ``Conversation.add_user``; the list is empty after."""
        images, files = by_kind(self._items)
        self._items.clear()
        return images, files

    def put_back(self, items: list[Attachment]) -> None:
        """``items`` (taken for a message that did not go) before the chips added since;
        one whose content is pending already is there once."""
        back = [a for i, a in enumerate(items)
                if all(b.sha256 != a.sha256 for b in [*items[:i], *self._items])]
        self._items[:0] = back

    def clear(self) -> None:
        self._items.clear()
