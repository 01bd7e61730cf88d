"""What screens and widgets may ask of the app that runs them, as one typed surface.

Textual types ``self.app`` as a plain ``App``; reading ``self.app.settings``
there says nothing about what exists. :class:`OffyHost` names everything the
app provides to the rest of the UI (:class:`~offyai_tui.ui.app.OffyApp`
implements it, ``tests/ui/test_bindings.py`` checks that), and :func:`offy`
gives it a type without importing the app, which sits above every screen.

A test may run a screen under a smaller app that sets only the members that
screen reads (the Documents screen: settings, workspace, engine, registry,
``documents_job`` and ``declined_documents``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from offyai_tui.chat import ConversationStore
    from offyai_tui.engines.base import Engine
    from offyai_tui.engines.registry import EngineRegistry
    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.tools import ToolBox
    from offyai_tui.ui.screens.documents_job import DocumentsJob


class OffyHost(Protocol):
    """The app as screens see it: what lives as long as the process, and its services."""

    settings: Settings
    workspace: Workspace
    registry: EngineRegistry | None
    """Every engine that can be reached; ``None`` when the caller gave one engine."""
    engine: Engine | None
    """The engine answering now; ``None`` while detection runs or when none answers."""
    engine_reason: str
    """Why that engine (or why none): empty while detection runs."""
    store: ConversationStore | None
    documents_job: DocumentsJob | None
    """The workspace's documents and indexing run, created on first use."""
    declined_documents: set[tuple[str, str]]
    """This session's No answers to sending documents to a remote engine:
    ``(workspace, origin)``."""
    reported_notices: set[str]
    """Lines turns have shown once (a tool server that would not start)."""

    def key_for(self, binding_id: str, default: str = "") -> str:
        """How the key of ``binding_id`` (after the user's keymap) is shown, e.g. ``^r``."""
        ...

    def copy_text(self, text: str, what: str) -> None:
        """Copy to the clipboard and say so."""
        ...

    def set_engine(self, engine: Engine | None, reason: str) -> None:
        """Switch the engine answering new requests."""
        ...

    def toolbox(self) -> ToolBox:
        """The workspace's tools."""
        ...

    def open_keys(self) -> None:
        """The chat's prompt has focus: keys typed since launch go to it, in order."""
        ...


def offy(app: App[Any]) -> OffyHost:
    """``app`` as the OffyAI host it is (a cast: no check, no cost)."""
    return cast("OffyHost", app)
