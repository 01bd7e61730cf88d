"""Format 1 (transcripts written before messages had parents).

Format 1 kept a conversation as a flat list: each ``message`` (or the first
``checkpoint`` of an answer) followed the message before it, and ``deleted``
took one out of the list. Format 2 gives every message a ``parent_id``; a
message line without that key is from format 1 (or from an older OffyAI that
appended to a newer file), and its parent is the message added last that is
still in the conversation: exactly where format 1 showed it.

Everything else in format 1 (``edit``, ``title``, ``mode``, ``params``,
``clear``, ``checkpoint`` offsets, statuses) means the same in format 2.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.chat.tree import MessageTree

VERSION = 1


def is_v1_line(event: dict[str, Any]) -> bool:
    """A ``message`` or ``checkpoint`` written without parent links."""
    return "parent_id" not in event


def derived_parent(tree: MessageTree) -> str | None:
    """The parent a format-1 message gets: the last message still in the conversation."""
    last = tree.last_added()
    return last.id if last is not None else None
