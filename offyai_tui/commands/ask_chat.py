"""``offyai ask --continue`` (``-c``) and ``--chat ID``: a turn added to a saved conversation.

Without them ``offyai ask`` keeps its question in memory. With them the workspace's
conversation store is opened as the app opens it: the conversation's history (the
branch it shows) is sent with the question, and the prompt and answer are appended
to its transcript, so the app shows them in that conversation afterwards. ``-c``
takes the workspace's latest conversation (a new one when there is none, which the
next ``-c`` continues); ``--chat`` names one (the file name of its transcript).

A workspace open in the app is locked, and a second process may only read it:
``ask -c`` then refuses in one line before anything is sent, instead of answering
into a conversation it could not save.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from offyai_tui.chat import (
    ChatError,
    Conversation,
    ConversationNotFound,
    ConversationStore,
    WorkspaceLocked,
    load_modes,
)
from offyai_tui.commands import UserError
from offyai_tui.settings.workspace import Workspace

if TYPE_CHECKING:
    import argparse


def wants_saved_chat(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "chat", None) or getattr(args, "continue_chat", False))


@contextmanager
def saved_chat(args: argparse.Namespace, workspace: Workspace) -> Iterator[Conversation | None]:
    """The conversation ``-c``/``--chat`` name, with the store held open (and locked)
    until the turn is saved; ``None`` without those flags.

    Raises:
        UserError: the workspace is open in the app, or no conversation has that id.
    """
    if not wants_saved_chat(args):
        yield None
        return
    try:
        store = ConversationStore.open(workspace, modes=load_modes())
    except WorkspaceLocked as exc:
        raise UserError(f"{exc}; its conversations cannot be added to until it closes "
                        "(offyai ask without -c answers without saving)") from None
    except (ChatError, OSError) as exc:
        raise UserError(f"cannot open the conversations of {workspace.name!r}: {exc}") from None
    try:
        yield _pick(store, getattr(args, "chat", None))
    finally:
        store.close()


def _pick(store: ConversationStore, chat_id: str | None) -> Conversation:
    if chat_id:
        try:
            return store.load(chat_id)
        except ConversationNotFound as exc:
            raise UserError(str(exc)) from None
    latest = store.list()
    return store.load(latest[0].id) if latest else store.create()
