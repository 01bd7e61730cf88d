"""The chat screen: conversations, streaming answers, modes, slash commands.

The path of one message is a straight line: ``PromptInput.Submitted`` →
:meth:`ChatScreen._send` (user message and placeholder shown at once) →
the ``generate`` worker → ``Conversation.start_reply`` builds the context →
``Engine.stream_chat`` events → ``ReplyHandle.apply`` (transcript) and
``MessageView.write`` (screen). With documents on, the worker first searches
the workspace's documents (:mod:`offyai_tui.screens.chat_documents`): the
request carries the numbered passages, the answer shows them as sources.

One answer is generated at a time. A prompt sent meanwhile is queued and sent
when the answer ends; Esc stops the answer and returns queued prompts to the
prompt box. Every answer is bound to its conversation through its
``ReplyHandle``: if the user switches away, the answer keeps being written to
its own transcript and is shown again (still streaming) on return, but it is
never drawn into another conversation.
"""

from __future__ import annotations

import asyncio
import gc
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from offyai_tui import privacy
from offyai_tui.chat import (
    ChatError,
    ChatMessage,
    Conversation,
    ConversationStore,
    ReadOnlyWorkspace,
    ReplyHandle,
    SearchHit,
    TokenCounter,
    TranscriptError,
    slash,
)
from offyai_tui.chat.records import new_message_id
from offyai_tui.chat.runaway import guard_repetition
from offyai_tui.engines.base import Engine, TextDelta
from offyai_tui.engines.errors import EngineError, StreamInterrupted
from offyai_tui.screens.chat_commands import PENDING, ChatCommandsMixin
from offyai_tui.screens.engine_info import EngineInfo
from offyai_tui.screens.keys_first import KeysFirstScreen
from offyai_tui.widgets.conversation_list import ConversationSidebar, Entry, Titled
from offyai_tui.widgets.message_list import MessageList
from offyai_tui.widgets.message_view import MessageView
from offyai_tui.widgets.prompt_input import PromptInput
from offyai_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from offyai_tui.screens.chat_documents import Grounding

EMPTY_HINT = (
    "Ask anything.{privacy}\n"
    "{send} sends · {newline} new line · /help · {palette} commands · {help} keys"
)


class ChatScreen(ChatCommandsMixin, KeysFirstScreen[None]):
    """Sidebar, messages, prompt and status bar for one workspace."""

    DEFAULT_CSS = """
    ChatScreen #body { height: 1fr; }
    ChatScreen #main { width: 1fr; }
    ChatScreen #banner { display: none; background: $error 25%; color: $text; padding: 0 1; }
    ChatScreen #banner.-shown { display: block; }
    ChatScreen #queue-note { display: none; color: $text-warning; padding: 0 2; }
    ChatScreen #queue-note.-shown { display: block; }
    """

    BINDINGS = [
        Binding("escape", "stop", "Stop", id="chat.stop"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat.new"),
        Binding("ctrl+f", "search", "Search", id="chat.search"),
        Binding("f2", "rename", "Rename", id="chat.rename", show=False),
        Binding("f8", "delete", "Delete chat", id="chat.delete", show=False),
        Binding("ctrl+s", "export", "Export", id="chat.export", show=False),
        Binding("ctrl+r", "retry", "Retry", id="chat.retry", show=False),
        Binding("alt+c", "copy_answer", "Copy answer", id="chat.copy_answer", show=False),
        Binding("alt+b", "copy_code", "Copy code block", id="chat.copy_code", show=False),
        Binding("alt+d", "toggle_documents", "Documents on/off", id="chat.documents",
                show=False),
        Binding("alt+s", "focus_sources", "Sources of an answer", id="chat.sources",
                show=False),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", id="chat.sidebar", show=False),
        # A priority binding runs as the key arrives, so keys typed right after
        # it are routed to the list it focuses (see ConversationSidebar).
        Binding("ctrl+l", "focus_sidebar", "Conversations", id="chat.conversations",
                show=False, priority=True),
        Binding("shift+pageup", "scroll_messages(-1)", "Scroll up", id="chat.scroll_up",
                show=False),
        Binding("shift+pagedown", "scroll_messages(1)", "Scroll down", id="chat.scroll_down",
                show=False),
    ]

    def __init__(self, store: ConversationStore) -> None:
        super().__init__()
        self.store = store
        self.conversation: Conversation = self._new_conversation()
        self.reply: ReplyHandle | None = None
        """The answer being generated (possibly in another conversation)."""
        self.generating = False
        self.queue: list[tuple[Conversation, str]] = []
        self._info: EngineInfo | None = None
        self._code_cursor = 0
        self._ready = False
        self.keys_ready = False
        """True once the prompt has focus: the app holds keys typed before that."""

    # ---------------------------------------------------------------- layout

    @property
    def settings(self):
        return self.app.settings  # type: ignore[attr-defined]

    @property
    def engine(self) -> Engine | None:
        return self.app.engine  # type: ignore[attr-defined]

    @property
    def info(self) -> EngineInfo:
        if self._info is None:
            self._info = EngineInfo(self.settings)
        return self._info

    @property
    def messages(self) -> MessageList:
        return self.query_one("#messages", MessageList)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield ConversationSidebar(id="sidebar")
            with Vertical(id="main"):
                yield Static(id="banner")
                yield MessageList(id="messages", empty_hint=self._empty_hint())
                yield Static(id="queue-note")
                yield PromptInput(id="prompt",
                                  placeholder="Message OffyAI (Enter sends, / for commands)")
        yield StatusBar(id="status")
        # The key bar is mounted after the first frame (see on_mount): the chat shows sooner.

    async def on_mount(self) -> None:
        if self.store.read_only:
            pid = self.store.lock_holder_pid
            holder = f" (pid {pid})" if pid else ""
            banner = self.query_one("#banner", Static)
            why = (self.store.read_only_reason
                   or f"workspace {self.store.workspace.name!r} is open in another "
                      f"OffyAI instance{holder}")
            banner.update(Content(
                f"Read-only: {why}. You can read and chat, but nothing is saved."
            ))
            banner.add_class("-shown")
            self.status.read_only = True
        self._ready = True
        await self.open_conversation(self.conversation)
        self.engine_changed()
        self.prompt.focus()
        self.app.call_later(self._open_keys)  # after the focus, which is queued too
        # Through the app's queue: that runs after Textual's startup batch, so
        # "after refresh" then means after the first frame is on the terminal.
        self.app.call_later(self.call_after_refresh, self._mount_footer)

    def _open_keys(self) -> None:
        """The prompt has focus: keys typed since launch are replayed into it, in order."""
        self.keys_ready = True
        open_keys = getattr(self.app, "open_keys", None)
        if open_keys is not None:
            open_keys()

    async def _mount_footer(self) -> None:
        await self.mount(Footer())
        self.refresh_bindings()  # a footer mounted late shows keys once told to

    # --------------------------------------------------------- conversations

    def _new_conversation(self) -> Conversation:
        return self.store.create(mode=self.app.settings.chat.mode)  # type: ignore[attr-defined]

    async def open_conversation(self, conversation: Conversation) -> None:
        """Show ``conversation`` (the previous one keeps any answer it is writing)."""
        self.conversation = conversation
        self._code_cursor = 0
        await self.messages.show(conversation.messages, self._empty_hint())
        self.prompt.prompt_history = [m.content for m in conversation.messages if m.role == "user"]
        self.status.mode = conversation.mode.name
        self.status.documents = conversation.documents
        self.refresh_sidebar()
        for warning in conversation.warnings:
            self.notify(warning, severity="warning", markup=False)
        conversation.warnings = []
        self._update_busy()
        self.update_context()

    def _empty_hint(self) -> str:
        key = self.app.key_for  # type: ignore[attr-defined]
        where = privacy.where_it_goes(self.engine)
        return EMPTY_HINT.format(
            privacy=f" {where}" if where else "", send=key("prompt.send", "enter"),
            newline=key("prompt.newline", "ctrl+j"),
            palette=key("app.palette", "ctrl+p"), help=key("app.help", "f1"))

    def refresh_sidebar(self) -> None:
        """Show the conversations; cheap once listed (only changed transcripts are rescanned).

        The first listing stats every transcript, so it runs in a thread after the
        first frame; the open conversation is shown alone until it is done.
        """
        if not self.store.listed:
            self._first_listing()
            entries: list[Titled] = []
        else:
            entries = list(self.store.list())  # summaries are rows as they are
        if not any(e.id == self.conversation.id for e in entries):
            entries.insert(0, Entry(self.conversation.id, self.conversation.title or "New chat"))
        self.query_one(ConversationSidebar).set_entries(entries, self.conversation.id)

    @work(thread=True, exclusive=True, group="listing", exit_on_error=False)
    def _first_listing(self) -> None:
        """List every conversation, then index the ones search does not know yet."""
        self.store.list()
        if not self.is_attached:
            return
        self.app.call_from_thread(self.refresh_sidebar)
        worker = get_current_worker()
        self.store.build_search_index(cancelled=lambda: worker.is_cancelled)

    @on(ConversationSidebar.Selected)
    async def _sidebar_selected(self, event: ConversationSidebar.Selected) -> None:
        if event.conversation_id == self.conversation.id:
            self.prompt.focus()
            return
        try:
            conversation = self.store.load(event.conversation_id)
        except ChatError as exc:
            self.notify(str(exc), title=exc.title, severity="error", markup=False)
            return
        await self.open_conversation(conversation)
        self.prompt.focus()

    async def open_hit(self, hit: SearchHit | None) -> None:
        """Open the conversation of a search hit and scroll to the message."""
        if hit is None:
            return
        try:
            conversation = self.store.load(hit.conversation_id)
        except ChatError as exc:
            self.notify(str(exc), title=exc.title, severity="error", markup=False)
            return
        if conversation is not self.conversation:
            await self.open_conversation(conversation)
        await self.messages.reveal(hit.message_id)

    # ------------------------------------------------------------ the engine

    def engine_changed(self) -> None:
        """The app's engine was detected or switched."""
        if not self._ready:
            return
        engine = self.engine
        reason = getattr(self.app, "engine_reason", "")
        self.status.engine = engine.label if engine is not None else (
            "detecting engine…" if not reason else "no engine")
        self.status.remote = bool(engine is not None and engine.is_remote)
        self.call_later(self._refresh_empty_hint)
        self.status.model = self.info.preferred_model(self.conversation)
        if engine is None and reason:
            self.notify(reason, title="No engine", severity="error", markup=False)
            if self.queue:  # nothing will send them: back into the prompt, not queued forever
                self.action_stop()
        self.update_context()
        self.call_later(self._drain_queue)

    async def _refresh_empty_hint(self) -> None:
        """An empty chat's privacy line follows the engine: never "stays" for a remote one."""
        if not self.conversation.messages and self.is_attached:
            await self.messages.show([], self._empty_hint())

    @work(exclusive=True, group="context")
    async def update_context(self) -> None:
        """Refresh the model name and the context meter for the open conversation."""
        engine, conversation = self.engine, self.conversation
        if engine is None:
            return
        try:
            model = await self.info.model_for(engine, conversation)
            plan = await conversation.plan_context(
                await self.info.meter_counter(engine, model), settings=self.settings.chat,
                model_window=await self.info.model_window(engine, model),
                engine_window=self.info.engine_window(engine))
        except Exception as exc:
            model, plan = f"no model ({getattr(exc, 'title', 'error')})", None
        try:
            status = self.status
        except NoMatches:  # the screen was torn down while the meter was worked out
            return
        status.model = model
        if plan is not None:
            self._show_meter(plan)

    def _show_meter(self, plan) -> None:
        self.status.context_used = plan.used
        self.status.context_window = plan.window
        self.status.context_exact = plan.exact

    # ---------------------------------------------------------------- sending

    @on(PromptInput.Submitted)
    async def _prompt_submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text
        if not text.strip():
            return
        self.prompt.remember(text)  # the prompt emptied itself as Enter was applied
        command = slash.parse(text)
        if not isinstance(command, slash.Prompt):
            await self.run_command(command)
            return
        await self.submit(self.conversation, command.text)

    async def submit(self, conversation: Conversation, text: str) -> None:
        """Send now, or queue if an answer is being written or no engine is ready."""
        detecting = self.engine is None and not getattr(self.app, "engine_reason", "")
        if self.generating or detecting or self.queue:
            # Behind prompts already queued, even if the answer just ended and
            # their drain is still on its way: prompts go out in the order typed.
            self.queue.append((conversation, text))
            self._update_busy()
            if not (self.generating or detecting):
                self.call_later(self._drain_queue)
            return
        await self._send(conversation, text)

    async def _send(self, conversation: Conversation, text: str) -> None:
        try:
            message = conversation.add_user(text)
        except TranscriptError as exc:
            self.save_failed(exc)
            message = conversation.messages[-1]
        placeholder = ChatMessage(id=PENDING + new_message_id(), role="assistant", content="",
                                  status="streaming",
                                  model=self.info.preferred_model(conversation))
        if conversation is self.conversation:
            await self.messages.add(message)
            await self.messages.add(placeholder)
            self.messages.follow()
        self.refresh_sidebar()
        self._start_generation(conversation, placeholder.id)

    def _start_generation(self, conversation: Conversation, placeholder_id: str) -> None:
        self.generating = True
        self._code_cursor = 0
        self._update_busy()
        self._generate(conversation, placeholder_id)

    @work(exclusive=True, group="generate")
    async def _generate(self, conversation: Conversation, placeholder_id: str) -> None:
        engine = self.engine
        handle: ReplyHandle | None = None
        grounding: Grounding | None = None
        try:
            try:
                if engine is None:
                    reason = getattr(self.app, "engine_reason", "")
                    raise EngineError(f"no engine is available ({reason})" if reason
                                      else "no engine is available")
                model = await self.info.model_for(engine, conversation)
                counter = self.info.counter(engine, model)
                window = {"settings": self.settings.chat,
                          "model_window": await self.info.model_window(engine, model),
                          "engine_window": self.info.engine_window(engine)}
                if conversation.documents:
                    grounding = await self._ground(
                        conversation, placeholder_id, counter, window, engine)
                handle = await conversation.start_reply(
                    counter, model=model,
                    extra_tokens=grounding.extra_tokens if grounding else 0, **window)
            except (EngineError, ChatError, asyncio.TimeoutError, OSError) as exc:
                await self._placeholder_failed(conversation, placeholder_id, exc)
                return
            self.reply = handle
            if grounding is not None:
                grounding.apply(handle)
            view = self.messages.rebind(placeholder_id, handle.message)
            if view is not None and grounding is not None:
                await view.show_sources()
            self._show_plan(handle, view)
            await self._stream(engine, handle)
        finally:
            if handle is not None:
                if not handle.done:
                    self._end_safely(handle.stop)
                await self._reconcile(handle)
            else:
                await self._placeholder_stopped(placeholder_id)
            self.reply = None
            self.generating = False
            self._update_busy()
            self.call_later(self._drain_queue)

    async def _ground(self, conversation: Conversation, placeholder_id: str,
                      counter: TokenCounter, window: dict[str, Any],
                      engine: Engine) -> Grounding:
        """Search the documents for the question; the placeholder says so meanwhile.

        The documents pipeline is imported on the first search, not at startup.
        """
        from offyai_tui.screens.chat_documents import ground, question_of

        view = self._view_of(conversation, placeholder_id)
        if view is not None:
            view.set_note("Searching your documents…")
        plan = await conversation.plan_context(counter, **window)
        grounding = await ground(self.app, question_of(conversation.messages), plan,
                                 counter.count_message, engine=engine)
        if view is not None:
            view.set_note("")
        return grounding

    def _view_of(self, conversation: Conversation, message_id: str) -> MessageView | None:
        if conversation is not self.conversation:
            return None
        return self.messages.view_for(message_id)

    async def _stream(self, engine: Engine, handle: ReplyHandle) -> None:
        timer = self.set_interval(0.5, partial(self._tick, handle))
        gc.freeze()
        try:
            stream = guard_repetition(engine.stream_chat(handle.messages, handle.options),
                                      self.settings.chat.repeat_guard, handle.options.model)
            async for event in stream:
                ended = self._end_safely(partial(handle.apply, event))
                if isinstance(event, TextDelta):
                    view = self._view(handle)
                    if view is not None:
                        await view.write(event.text)
                if ended or handle.done:
                    break
            if handle.done and handle.message.status == "complete":
                self._record_speed(engine, handle)
            if not handle.done:
                error = StreamInterrupted("the engine ended the answer without finishing it")
                self._end_safely(partial(handle.fail, error))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._end_safely(partial(handle.fail, exc))
        finally:
            timer.stop()
            gc.unfreeze()

    def _record_speed(self, engine: Engine, handle: ReplyHandle) -> None:
        """Log the answer's speeds for the Models screen, in the background."""
        from offyai_tui.manage.speed_record import record_answer, stats_from_dict

        stats = stats_from_dict(handle.message.stats)
        if stats is not None:
            self.run_worker(record_answer(engine, stats), group="speedlog", exit_on_error=False)

    @staticmethod
    def _tick(handle: ReplyHandle) -> None:
        """Twice a second while streaming: checkpoint, and keep collections short.

        Objects older than half a second are moved out of the collector's
        reach until the answer ends: a full collection over a large screen
        pauses the app (and the keyboard) for a tenth of a second or more.
        """
        handle.checkpoint_if_due()
        gc.freeze()

    def _end_safely(self, action) -> bool:
        """Run a ``ReplyHandle`` call whose final transcript write may fail."""
        try:
            return bool(action())
        except TranscriptError as exc:
            self.save_failed(exc)
            return True

    def _view(self, handle: ReplyHandle) -> MessageView | None:
        if handle.conversation is not self.conversation:
            return None
        return self.messages.view_for(handle.message_id)

    def _show_plan(self, handle: ReplyHandle, view: MessageView | None) -> None:
        plan = handle.plan
        if plan is None:
            return
        if handle.conversation is self.conversation:
            self._show_meter(plan)
        note = ""
        if plan.overflow:
            note = plan.note()
        elif plan.dropped_messages:
            n = plan.dropped_messages
            note = (f"{n} earlier message{'s' if n != 1 else ''} not sent: they do not fit "
                    f"the {plan.window:,}-token context window")
        if view is not None and note:
            view.set_note(note)

    async def _reconcile(self, handle: ReplyHandle) -> None:
        """Bring the view to the answer's final state, whatever ended it."""
        view = self._view(handle)
        if view is not None and view.is_attached:
            try:
                await view.finish(handle.message)
            except Exception as exc:  # the screen is closing: the transcript has it all
                self.log.warning(f"answer view not finalised: {exc!r}")
        speed = handle.message.stats.get("tokens_per_s")
        if isinstance(speed, (int, float)) and speed:
            self.status.tokens_per_s = float(speed)
        if self.is_attached:
            self.refresh_sidebar()
            self.update_context()

    async def _placeholder_failed(
        self, conversation: Conversation, placeholder_id: str, exc: BaseException
    ) -> None:
        """No answer could start (no model, engine down): the placeholder shows why."""
        title = getattr(exc, "title", "Error")
        text = str(exc) or type(exc).__name__
        if conversation is not self.conversation:
            self.notify(text, title=title, severity="error", markup=False)
            return
        view = self.messages.view_for(placeholder_id)
        if view is not None:
            view.message.status = "error"
            view.message.error = f"{title}: {text}"
            await view.finish(view.message)

    async def _placeholder_stopped(self, placeholder_id: str) -> None:
        """Esc before the answer started (e.g. while searching documents)."""
        view = self.messages.view_for(placeholder_id) if self.is_attached else None
        if view is not None and view.is_attached and view.message.status == "streaming":
            view.message.status = "stopped"
            await view.finish(view.message)

    async def _drain_queue(self) -> None:
        if self.queue and not self.generating and self.engine is not None:
            conversation, text = self.queue.pop(0)
            self._update_busy()
            await self._send(conversation, text)

    def _update_busy(self) -> None:
        if not self._ready:
            return
        parts = []
        if self.generating:
            other = self.reply is not None and self.reply.conversation is not self.conversation
            parts.append("answering in another chat" if other else "answering")
        if self.queue:
            parts.append(f"{len(self.queue)} queued")
        self.status.busy = " · ".join(parts)
        note = self.query_one("#queue-note", Static)
        if self.queue:
            waiting = "the engine is ready" if self.engine is None else "the current answer ends"
            count = len(self.queue)
            note.update(Content(
                f"⏳ {count} prompt{'s' if count != 1 else ''} queued: sent when {waiting}. "
                "Esc puts queued prompts back in the prompt."))
        note.set_class(bool(self.queue), "-shown")

    def save_failed(self, exc: TranscriptError) -> None:
        """Tell the user a change was not saved (once per change; quiet when read-only)."""
        if isinstance(exc, ReadOnlyWorkspace) and self.store.read_only:
            return
        self.notify(str(exc), title=exc.title, severity="error", timeout=10, markup=False)

    # ------------------------------------------------------------- stopping

    def action_stop(self) -> None:
        """Esc: stop the answer (partial text kept) and return queued prompts."""
        if self.generating:
            self.workers.cancel_group(self, "generate")
        if self.queue:
            texts = [text for _, text in self.queue]
            self.queue.clear()
            current = self.prompt.text
            self.prompt.load_text("\n\n".join([*texts, current] if current else texts))
            self.prompt.move_cursor(self.prompt.document.end)
            self._update_busy()
        self.prompt.focus()
