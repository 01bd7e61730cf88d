"""The chat screen's side of a turn: draw the runner's events, answer its questions.

:class:`~offyai_tui.turn.TurnRunner` does the work (documents, context, stream,
transcript, tools); this module only turns its events into views, notes and
dialogs. Every answer stays bound to its conversation: when the user switches
away, events keep updating the transcript and nothing is drawn into the chat
now shown; on return the answer is shown from the transcript, still streaming.
"""

from __future__ import annotations

import contextlib
import gc
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.css.query import NoMatches

from offyai_tui.chat import ChatMessage, Conversation, ReplyHandle, TranscriptError
from offyai_tui.engines.base import Engine
from offyai_tui.rag.service import Documents
from offyai_tui.turn import (
    AnswerEnded,
    AnswerStarted,
    AnswerText,
    ContextPlanned,
    Notice,
    NotSaved,
    Searching,
    SourcesFound,
    ThinkingText,
    ToolFinished,
    ToolRequested,
    TurnEvent,
    TurnFailed,
    TurnRunner,
)
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.documents_job import documents_job
from offyai_tui.ui.screens.remote_docs import documents_allowed
from offyai_tui.ui.screens.tool_approval import ToolApprovalScreen
from offyai_tui.ui.widgets.chat.message_view import MessageView

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen

TICK_S = 0.5


class ScreenDocuments:
    """Documents for a turn from the chat screen: the app's shared index, asked in a dialog."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.docs: Documents = documents_job(app).docs
        self.top_k: int = offy(app).settings.rag.top_k
        key = offy(app).key_for("app.documents")
        self.how_to_add = f"add files on the Documents screen, {key}"

    async def allowed(self, chat: Engine | None, embedding: Engine | None) -> str:
        return await documents_allowed(self.app, self.docs.workspace, chat, embedding)


class TurnView:
    """Draws one turn of ``conversation`` on ``screen``, starting from a placeholder."""

    def __init__(self, screen: ChatScreen, conversation: Conversation, placeholder_id: str):
        self.screen = screen
        self.conversation = conversation
        self.view_id = placeholder_id
        """The message view the next events go to (the placeholder, then each answer)."""
        self.handle: ReplyHandle | None = None
        self.failed = False
        self._sources = False
        self._finished: set[str] = set()
        self.continuing: str | None = None
        self.regenerating = False

    async def play(self, runner: TurnRunner, *, regenerate: bool = False,
                   continuing: str | None = None) -> None:
        """Run the turn to its end (or until the worker is cancelled: Esc).

        ``regenerate`` and ``continuing`` are the runner's; a continued answer's view
        is the answer's own, so a turn that fails before it starts leaves it as it was.
        """
        self.continuing = continuing
        self.regenerating = regenerate
        timer = self.screen.set_interval(TICK_S, self._tick)
        gc.freeze()
        try:
            async with aclosing(runner.run(self.conversation, regenerate=regenerate,
                                           continuing=continuing)) as events:
                async for event in events:
                    await self._draw(event)
        finally:
            timer.stop()
            gc.unfreeze()
            if self.handle is None and not self.failed:
                await self._placeholder_stopped()
            elif self.handle is not None and self.handle.message_id not in self._finished:
                await self._reconcile(self.handle.message)  # stopped mid-answer

    def _tick(self) -> None:
        """Twice a second: checkpoint, and keep collections short.

        Objects older than half a second are moved out of the collector's reach
        until the answer ends: a full collection over a large screen pauses the
        app (and the keyboard) for a tenth of a second or more.
        """
        if self.handle is not None:
            self.handle.checkpoint_if_due()
        gc.freeze()

    @property
    def shown(self) -> bool:
        return self.conversation is self.screen.conversation and self.screen.is_attached

    def _view(self) -> MessageView | None:
        return self.screen.messages.view_for(self.view_id) if self.shown else None

    async def _draw(self, event: TurnEvent) -> None:
        screen = self.screen
        view = self._view()
        if isinstance(event, AnswerText):
            if view is not None:
                await view.write(event.text)
                screen.voice.answer_text(event.text)
        elif isinstance(event, ThinkingText):
            if view is not None:
                await view.think(event.text)
        elif isinstance(event, AnswerStarted):
            await self._started(event)
        elif isinstance(event, ContextPlanned):
            if self.shown:
                with contextlib.suppress(NoMatches):
                    screen.show_meter(event.plan)
            if view is not None and event.note:
                view.set_note(event.note)
        elif isinstance(event, Searching):
            if view is not None:
                view.set_note("Searching your documents…")
        elif isinstance(event, SourcesFound):
            self._sources = True
            if view is not None:
                view.set_note("")
        elif isinstance(event, ToolRequested):
            decision = await screen.app.push_screen_wait(
                ToolApprovalScreen(event.call, event.server, event.description))
            event.respond(decision or "deny")
        elif isinstance(event, ToolFinished):
            await self._show_message(event.message)
        elif isinstance(event, AnswerEnded):
            screen.voice.answer_ended()
            if event.withdrawn:  # the regenerate never began: the old answer comes back
                self._finished.add(event.message.id)
                await self._restore_shown()
            else:
                await self._reconcile(event.message)
            kept = event.withdrawn or (self.continuing is not None
                                       and event.message.status != "error")
            if event.error and kept and self.shown:  # the answer shown is the old one
                title = "Not regenerated" if event.withdrawn else "Not continued"
                screen.notify(event.error, title=title, severity="error", markup=False)
        elif isinstance(event, Notice):
            screen.notify(event.text, title="Tools", severity="warning", timeout=10,
                          markup=False)
        elif isinstance(event, NotSaved):
            if isinstance(event.error, TranscriptError):
                screen.save_failed(event.error)
        elif isinstance(event, TurnFailed):
            self.failed = True
            await self._placeholder_failed(event.error, event.title)

    async def _started(self, event: AnswerStarted) -> None:
        self.handle = event.handle
        self.screen.reply = event.handle
        if event.round == 0:
            view = (self.screen.messages.rebind(self.view_id, event.handle.message)
                    if self.shown else None)
        else:
            view = await self._show_message(event.handle.message)
        self.view_id = event.handle.message_id
        if self.shown:
            self.screen.messages.refresh_variants()  # a new version: ‹ n/n ›
        if view is not None and self._sources:
            await view.show_sources()

    async def _show_message(self, message: ChatMessage) -> MessageView | None:
        if not self.shown:
            return None
        view = await self.screen.messages.add(message)
        self.screen.messages.follow()
        return view

    async def _reconcile(self, message: ChatMessage) -> None:
        """Bring the view to the answer's final state, whatever ended it."""
        self._finished.add(message.id)
        view = self.screen.messages.view_for(message.id) if self.shown else None
        if view is not None and view.is_attached:
            try:
                await view.finish(message)
            except Exception as exc:  # the screen is closing: the transcript has it all
                self.screen.log.warning(f"answer view not finalised: {exc!r}")
        speed = message.stats.get("tokens_per_s")
        if isinstance(speed, (int, float)) and speed and self.screen.is_attached:
            with contextlib.suppress(NoMatches):  # the screen is being torn down
                self.screen.status.tokens_per_s = float(speed)

    async def _placeholder_failed(self, exc: BaseException, title: str) -> None:
        """No answer could start (no model, engine down): the placeholder shows why."""
        text = str(exc) or type(exc).__name__
        view = self._view()
        if view is None or self.continuing is not None or self.regenerating:
            if self.regenerating:  # the answer it was to replace is shown again
                await self._restore_shown()
            elif view is not None:  # the answer stays as it was
                await view.finish(view.message)
            self.screen.notify(text, title=title, severity="error", markup=False)
            return
        view.message.status = "error"
        view.message.error = f"{title}: {text}"
        await view.finish(view.message)

    async def _restore_shown(self) -> None:
        """Draw the branch the conversation shows (a regenerate that did not begin)."""
        if self.shown:
            await self.screen.variants.redraw()

    async def _placeholder_stopped(self) -> None:
        """Esc before the answer started (e.g. while searching documents)."""
        view = self._view()
        if view is not None and view.is_attached and view.status == "streaming":
            if view.message.status == "streaming":  # a placeholder; a continued answer stays
                view.message.status = "stopped"
            await view.finish(view.message)
