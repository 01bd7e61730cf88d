"""The messages of a conversation as a tree: every variant kept, one branch shown.

Each message names its parent (the message it answers or follows). A
regenerated answer is a second child of the same question; an edited question
a second child of whatever preceded it. Nothing is ever removed to make room
for a variant, so the append-only transcript can hold them all, and the
*current branch* (the path from the first message down to one leaf) is what
the chat shows and what the model is sent.

Which branch is current: the one ending in the message appended last, unless
a later ``shown`` event pointed elsewhere. Below the pointed message the branch
follows, at each step, the reply last shown there (the child last added, or
the one a ``shown`` event went through), so going back to an earlier variant
brings back the conversation that was last seen below it, not merely the
newest. Every event changes that memory the same way whether it happens live
or is replayed from the transcript, so a reopened conversation cycles alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from offyai_tui.chat.records import ChatMessage


class MessageTree:
    """Messages linked by ``parent_id``; insertion order is remembered per message."""

    def __init__(self) -> None:
        self._nodes: dict[str, ChatMessage] = {}
        self._children: dict[str | None, list[str]] = {None: []}
        self._order: dict[str, int] = {}
        self._next = 0
        self._shown: dict[str | None, str] = {}
        """For a message (``None``: the start), the reply the branch last went through."""

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[ChatMessage]:
        """Every message, in the order they were added."""
        return iter(self._nodes.values())

    def get(self, message_id: str) -> ChatMessage | None:
        return self._nodes.get(message_id)

    def add(self, message: ChatMessage, parent_id: str | None) -> None:
        """Add ``message`` below ``parent_id`` (``None``: a first message).

        Raises:
            ValueError: the id is already in the tree, or the parent is not.
        """
        if message.id in self._nodes:
            raise ValueError(f"message {message.id!r} is already in the conversation")
        if parent_id is not None and parent_id not in self._nodes:
            raise ValueError(f"parent {parent_id!r} is not in the conversation")
        message.parent_id = parent_id
        self._nodes[message.id] = message
        self._children.setdefault(parent_id, []).append(message.id)
        self._children[message.id] = []
        self._order[message.id] = self._next
        self._next += 1
        self._shown[parent_id] = message.id

    def replace(self, message: ChatMessage) -> None:
        """Put ``message`` in the place of the message with its id (same parent, same order)."""
        old = self._nodes[message.id]
        message.parent_id = old.parent_id
        self._nodes[message.id] = message

    def remove(self, message_id: str) -> ChatMessage | None:
        """Take one message out; its children move up to its parent, in its place.

        That keeps a conversation whole when a message in the middle is deleted
        (what deleting meant before messages had parents).
        """
        message = self._nodes.pop(message_id, None)
        if message is None:
            return None
        parent = message.parent_id
        siblings = self._children[parent]
        at = siblings.index(message_id)
        moved = self._children.pop(message_id)
        for child in moved:
            self._nodes[child].parent_id = parent
        siblings[at : at + 1] = moved
        del self._order[message_id]
        below = self._shown.pop(message_id, None)
        if self._shown.get(parent) == message_id:  # the branch goes on through its reply
            if below is None:
                del self._shown[parent]
            else:
                self._shown[parent] = below
        return message

    def children(self, message_id: str | None) -> list[ChatMessage]:
        """The replies to ``message_id`` (``None``: the first messages), oldest first."""
        return [self._nodes[c] for c in self._children.get(message_id, [])]

    def last_added(self) -> ChatMessage | None:
        """The message added most recently that is still in the tree."""
        if not self._order:
            return None
        return self._nodes[max(self._order, key=self._order.__getitem__)]

    def siblings(self, message_id: str) -> list[ChatMessage]:
        """``message_id`` and its variants (the replies to the same parent), oldest first."""
        return self.children(self._nodes[message_id].parent_id)

    def follow(self, message_id: str | None) -> str | None:
        """The leaf the branch reaches from ``message_id``: at each step the reply last
        shown there, else the newest one."""
        current = message_id
        while kids := self._children.get(current):
            pick = self._shown.get(current)
            current = pick if pick is not None else max(kids, key=self._order.__getitem__)
        return current

    def select(self, message_id: str) -> str | None:
        """Make the branch go through ``message_id`` (remembered at every step above
        it); returns the leaf it then reaches."""
        current: str | None = message_id
        while current is not None:
            parent = self._nodes[current].parent_id
            self._shown[parent] = current
            current = parent
        return self.follow(message_id)

    def branch(self, leaf_id: str | None) -> list[ChatMessage]:
        """The messages from the first one down to ``leaf_id``, in conversation order."""
        path: list[ChatMessage] = []
        current = leaf_id
        while current is not None:
            message = self._nodes[current]
            path.append(message)
            current = message.parent_id
        path.reverse()
        return path
