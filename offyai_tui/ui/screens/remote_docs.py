"""Asking once before a workspace's documents go to an engine not on this machine.

With Documents on, a question carries passages of the workspace's documents
(and with a remote embedding engine, the question and, on indexing, the
documents themselves go to that engine). The first time that would reach a
remote host in a workspace, :func:`documents_allowed` shows
:class:`RemoteDocumentsScreen`, which says what would be sent and where. Yes is
stored in the workspace for those hosts (:class:`offyai_tui.settings.privacy.Consent`);
No sends the question without documents and is remembered until the app quits
or Documents is turned on again, so the user is not asked before every question.
Indexing with a remote embedding engine (the Documents screen) asks the same
way before the run sends anything; No there stops that run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import App

from offyai_tui.engines.base import Engine
from offyai_tui.settings import privacy
from offyai_tui.settings.privacy import Consent, Destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.dialogs import DIALOG_CSS, YesNoScreen

INSTEAD = "sent without documents"
HOW = "turn Documents off and on to be asked again"
NO_CHAT = "No: this question is sent without documents."
NO_INDEX = "No: nothing is indexed."


class RemoteDocumentsScreen(YesNoScreen):
    """Yes/No: may this workspace's documents go to these remote engines?

    No is focused and Esc answers No: the safe answer takes no thought.
    """

    DEFAULT_CSS = DIALOG_CSS.format(name="RemoteDocumentsScreen") + """
    RemoteDocumentsScreen > Vertical { width: 76; border: round $warning; }
    """
    BINDINGS = bindings("remote_docs")

    def __init__(self, workspace: Workspace, chat: list[Destination],
                 embedding: list[Destination], no: str = NO_CHAT) -> None:
        self.text = question(workspace, chat, embedding, no)
        super().__init__(self.text, yes="Yes, allow", no="No, send without documents",
                         yes_variant="warning", question_id="remote-question",
                         multiline=True)


def question(workspace: Workspace, chat: list[Destination], embedding: list[Destination],
             no: str = NO_CHAT) -> str:
    """The dialog's text: what would be sent, where, and what each answer does."""
    lines = ["Send documents to an engine that is not on this machine?", ""]
    for dest in chat:
        lines.append(f"• {dest.describe()} (chat) would get {privacy.WHAT}: those "
                     "that match each question, sent with it.")
    for dest in embedding:
        lines.append(f"• {dest.describe()} (embeddings) would get each question and, "
                     "when documents are indexed, their full text.")
    hosts = ", ".join(sorted({d.host for d in [*chat, *embedding]}))
    lines += [
        "",
        f"Yes: allowed for workspace {workspace.name!r} and {hosts} from now on "
        f"(stored in {privacy.CONSENT_FILE} of the workspace).",
        no,
    ]
    return "\n".join(lines)


def _pending(engines: Iterable[Engine | None], consent: Consent) -> list[Destination]:
    found: dict[str, Destination] = {}
    for engine in engines:
        dest = privacy.destination(engine)
        if dest is not None and dest.origin not in found and not consent.allows(dest):
            found[dest.origin] = dest
    return list(found.values())


def declined(app: App[Any]) -> set[tuple[str, str]]:
    """This session's No answers, kept on the app."""
    return offy(app).declined_documents


def forget_declined(app: App[Any], workspace: Workspace) -> None:
    """Ask again in ``workspace`` (Documents was turned on again)."""
    answers = declined(app)
    for key in [k for k in answers if k[0] == workspace.name]:
        answers.discard(key)


async def documents_allowed(
    app: App[Any], workspace: Workspace, chat: Engine | None, embedding: Engine | None,
    *, indexing: bool = False,
) -> str:
    """``""`` if documents may go to every remote engine involved, else one line why not.

    Must run in a worker (the dialog is awaited). Engines on this machine and
    hosts the workspace already allowed pass without a question.

    Args:
        app: The app (shows the dialog, keeps this session's No answers).
        workspace: Whose documents.
        chat: The engine that answers (gets the passages).
        embedding: The engine that embeds (gets the question; on indexing, the documents).
        indexing: The user asked to index: a No stops that run and is not
            remembered (each request to index is asked about).
    """
    consent = Consent(workspace)
    chat_dests = _pending([chat], consent)
    embed_dests = [d for d in _pending([embedding], consent)
                   if d.origin not in {c.origin for c in chat_dests}]
    pending = [*chat_dests, *embed_dests]
    if not pending:
        return ""
    answers = declined(app)
    if not indexing and any((workspace.name, d.origin) in answers for d in pending):
        return _refused(workspace, pending)
    allowed = await app.push_screen_wait(RemoteDocumentsScreen(
        workspace, chat_dests, embed_dests, NO_INDEX if indexing else NO_CHAT))
    if not allowed and indexing:
        return _refused(workspace, pending, "nothing was indexed", "add them again to be asked")
    if not allowed:
        answers.update((workspace.name, d.origin) for d in pending)
        return _refused(workspace, pending)
    try:
        for dest in pending:
            consent.grant(dest)
    except OSError as exc:  # the answer was Yes: honoured for this question, asked again later
        app.notify(f"The permission could not be saved in workspace {workspace.name!r} ({exc}); "
                   "you will be asked again.", severity="warning", markup=False)
    return ""


def _refused(workspace: Workspace, pending: list[Destination], instead: str = INSTEAD,
             how: str = HOW) -> str:
    where = ", ".join(d.describe() for d in pending)
    return (f"documents not sent: {where} is not on this machine and workspace "
            f"{workspace.name!r} has not allowed its documents to go there; {instead} ({how})")
