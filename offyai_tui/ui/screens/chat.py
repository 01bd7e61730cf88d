"""The chat screen: the path of one message, and the parts that own the rest.

The path of one message is a straight line: ``PromptInput.Submitted`` →
:class:`~offyai_tui.ui.screens.chat_send.SendQueue` (now, or when the answer
being written ends) → :meth:`ChatScreen.send_message` (user message and
placeholder shown at once) → the ``generate`` worker →
:class:`offyai_tui.turn.TurnRunner` (documents, context plan, engine stream,
transcript, tools: the same runner ``offyai ask`` drives) → its events drawn by
:class:`offyai_tui.ui.screens.chat_turn.TurnView`.

One answer is generated at a time. A prompt sent meanwhile, with its
attachments, is queued and sent when the answer ends; Esc stops the answer and
returns queued prompts, and their chips, to the prompt box. Every answer is
bound to its conversation through its ``ReplyHandle``: if the user switches
away, the answer keeps being written to its own transcript and is shown again
(still streaming) on return, but it is never drawn into another conversation.

What is not sending has an owner the screen holds: whole conversations
(:class:`~offyai_tui.ui.screens.chat_conversations.ConversationActions`),
slash commands (:class:`~offyai_tui.ui.screens.chat_slash.SlashCommands`),
palette entries (:class:`~offyai_tui.ui.screens.chat_palette.ChatPalette`) and
the messages' own actions (:class:`~offyai_tui.ui.widgets.chat.message_list.MessageList`).
The screen's key actions (:mod:`offyai_tui.ui.bindings`, scope ``chat``) hand
each key to its owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import Footer, Static

from offyai_tui.chat import (
    Conversation,
    ConversationStore,
    ReadOnlyWorkspace,
    ReplyHandle,
    TranscriptError,
    slash,
)
from offyai_tui.engines.base import Engine
from offyai_tui.engines.thinking import think_word
from offyai_tui.settings import privacy
from offyai_tui.turn import EngineInfo, TurnRunner
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.host import offy
from offyai_tui.ui.screens.chat_attach import ChatAttachments, bar_wiring
from offyai_tui.ui.screens.chat_conversations import ConversationActions
from offyai_tui.ui.screens.chat_palette import ChatPalette, PaletteEntry
from offyai_tui.ui.screens.chat_send import Queued, SendQueue
from offyai_tui.ui.screens.chat_slash import SlashCommands
from offyai_tui.ui.screens.chat_variants import VariantActions, variant_label
from offyai_tui.ui.screens.chat_voice import ChatVoice
from offyai_tui.ui.screens.keys_first import KeysFirstScreen
from offyai_tui.ui.widgets.chat.attach_bar import AttachBar
from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar
from offyai_tui.ui.widgets.chat.message_cursor import MessageAction
from offyai_tui.ui.widgets.chat.message_list import MessageList, placeholder
from offyai_tui.ui.widgets.chat.prompt_input import PromptInput
from offyai_tui.ui.widgets.chat.status_bar import StatusBar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from offyai_tui.chat import ContextPlan
    from offyai_tui.chat.attachments import Attachment
    from offyai_tui.settings.config import Settings


EMPTY_HINT = (
    "Ask anything.{privacy}\n"
    "{send} sends · {newline} new line · /help · {palette} commands · {help} keys"
)


class ChatScreen(KeysFirstScreen[None]):
    """Sidebar, messages, prompt and status bar for one workspace."""

    DEFAULT_CSS = """
    ChatScreen #body { height: 1fr; }
    ChatScreen #main { width: 1fr; }
    ChatScreen #banner { display: none; background: $error 25%; color: $text; padding: 0 1; }
    ChatScreen #banner.-shown { display: block; }
    ChatScreen #queue-note { display: none; color: $text-warning; padding: 0 2; }
    ChatScreen #queue-note.-shown { display: block; }
    ChatScreen #edit-note { display: none; color: $text-accent; padding: 0 2; }
    ChatScreen #edit-note.-shown { display: block; }
    """

    BINDINGS = bindings("chat")

    def __init__(self, store: ConversationStore) -> None:
        super().__init__()
        self.store = store
        self.conversations = ConversationActions(self)
        self.slash_commands = SlashCommands(self)
        self.palette = ChatPalette(self)
        self.variants = VariantActions(self)
        self.attachments = ChatAttachments(self)
        self.voice = ChatVoice(self)
        self.sending = SendQueue(self)
        self.conversation: Conversation = self.conversations.create()
        self.reply: ReplyHandle | None = None
        """The answer being generated (possibly in another conversation)."""
        self.generating = False
        self._info: EngineInfo | None = None
        self._ready = False
        self.keys_ready = False
        """True once the prompt has focus: the app holds keys typed before that."""

    # ---------------------------------------------------------------- layout

    @property
    def queue(self) -> list[Queued]:
        """The prompts waiting for the answer being written, oldest first."""
        return self.sending.items

    @property
    def settings(self) -> Settings:
        return offy(self.app).settings

    @property
    def engine(self) -> Engine | None:
        return offy(self.app).engine

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
                yield Static(id="edit-note")
                yield PromptInput(id="prompt",
                                  placeholder="Message OffyAI (Enter sends, / for commands)")
                yield AttachBar(id="attachments")
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
        bar_wiring(self, self.attachments)
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
        offy(self.app).open_keys()

    async def _mount_footer(self) -> None:
        await self.mount(Footer())
        self.refresh_bindings()  # a footer mounted late shows keys once told to

    # --------------------------------------------------------- conversations

    async def open_conversation(self, conversation: Conversation) -> None:
        """Show ``conversation`` (the previous one keeps any answer it is writing)."""
        self.conversation = conversation
        self.variants.cancel_edit()
        self.messages.variant_label = lambda message_id: variant_label(conversation, message_id)
        self.messages.on_action = self._message_action
        await self.messages.show(conversation.messages, self._empty_hint())
        self.prompt.prompt_history = [m.content for m in conversation.messages if m.role == "user"]
        self.status.mode = conversation.mode.name
        self.status.documents = conversation.documents
        self.status.think = think_word(conversation.think)
        self.conversations.refresh()
        for warning in conversation.warnings:
            self.notify(warning, severity="warning", markup=False)
        conversation.warnings = []
        self._update_busy()
        self.update_context()

    def _empty_hint(self) -> str:
        key = offy(self.app).key_for
        where = privacy.where_it_goes(self.engine)
        return EMPTY_HINT.format(
            privacy=f" {where}" if where else "", send=key("prompt.send"),
            newline=key("prompt.newline"), palette=key("app.palette"), help=key("app.help"))

    @on(ConversationSidebar.Selected)
    async def _sidebar_selected(self, event: ConversationSidebar.Selected) -> None:
        await self.conversations.select(event.conversation_id)

    # ------------------------------------------------------------ the engine

    def engine_changed(self) -> None:
        """The app's engine was detected or switched."""
        if not self._ready:
            return
        engine = self.engine
        reason = offy(self.app).engine_reason
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
        self.call_later(self.sending.drain)

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
            self.show_meter(plan)

    def show_meter(self, plan: ContextPlan) -> None:
        self.status.context_used = plan.used + self.attachments.file_tokens()
        self.status.context_window = plan.window
        self.status.context_exact = plan.exact

    # ---------------------------------------------------------------- sending

    @on(PromptInput.Submitted)
    async def _prompt_submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text
        if not text.strip() and not self.attachments.waiting:
            return
        self.prompt.remember(text)  # the prompt emptied itself as Enter was applied
        if self.variants.editing is not None:  # the new version of a prompt, sent as typed
            await self.variants.send_edit(text)
            return
        command = slash.parse(text)
        if not isinstance(command, slash.Prompt):
            await self.slash_commands.run(command)
            return
        if self.attachments.involved(command.text):
            await self.attachments.send(self.conversation, command.text)
            return
        await self.submit(self.conversation, command.text)

    async def submit(self, conversation: Conversation, text: str) -> None:
        """Send ``text`` now, or queue it if an answer is being written or no engine is ready."""
        await self.sending.submit(Queued(conversation, text))

    async def send_message(self, conversation: Conversation, text: str,
                           images: Sequence[Attachment] = (),
                           files: Sequence[Attachment] = ()) -> None:
        """Add the user's message (with its attachments) and start the answer."""
        try:
            message = conversation.add_user(text, images, files)
        except TranscriptError as exc:
            self.save_failed(exc)
            message = conversation.messages[-1]
        pending = placeholder(self.info.preferred_model(conversation))
        if conversation is self.conversation:
            await self.messages.add(message)
            await self.messages.add(pending)
            self.messages.follow()
        self.conversations.refresh()
        self.start_generation(conversation, pending.id)

    def start_generation(self, conversation: Conversation, placeholder_id: str, *,
                         regenerate: bool = False, continuing: str | None = None) -> None:
        """Answer in the view ``placeholder_id``: a new answer, a new version of the last
        one (``regenerate``), or more of the answer ``continuing`` (its own view)."""
        self.generating = True
        self._update_busy()
        self._generate(conversation, placeholder_id, regenerate, continuing)

    @work(exclusive=True, group="generate")
    async def _generate(self, conversation: Conversation, placeholder_id: str,
                        regenerate: bool = False, continuing: str | None = None) -> None:
        """One turn, run by the shared runner; this screen only draws its events."""
        from offyai_tui.ui.screens.chat_turn import ScreenDocuments, TurnView

        host = offy(self.app)
        runner = TurnRunner(
            self.engine, self.settings, info=self.info,
            documents=ScreenDocuments(self.app) if conversation.documents else None,
            tools=host.toolbox(), reported=host.reported_notices, reason=host.engine_reason)
        try:
            await TurnView(self, conversation, placeholder_id).play(
                runner, regenerate=regenerate, continuing=continuing)
        finally:
            self.reply = None
            self.generating = False
            try:
                if self.is_attached:  # else the app is closing: nothing left to update
                    self._update_busy()
                    self.conversations.refresh()
                    self.update_context()
                    self.call_later(self.sending.drain)
            except NoMatches:  # closing: its widgets went before the screen was detached
                pass

    def _update_busy(self) -> None:
        if self._ready:
            self.sending.update_busy()

    def save_failed(self, exc: TranscriptError) -> None:
        """Tell the user a change was not saved (once per change; quiet when read-only)."""
        if isinstance(exc, ReadOnlyWorkspace) and self.store.read_only:
            return
        self.notify(str(exc), title=exc.title, severity="error", timeout=10, markup=False)

    # ------------------------------------------------------------- stopping

    def action_stop(self) -> None:
        """Esc: stop the answer (partial text kept) and return queued prompts with chips."""
        if self.voice.stop_reading() and not self.generating:
            return
        if self.generating:
            self.workers.cancel_group(self, "generate")
        elif self.variants.cancel_edit():
            return
        self.sending.put_back()
        self.prompt.focus()

    # ------------------------------------------- keys, each handed to its owner

    async def action_retry(self) -> None:
        await self.variants.regenerate()

    async def action_cycle_variant(self, step: int) -> None:
        await self.variants.cycle(step, self._selected())

    async def action_continue_answer(self) -> None:
        await self.variants.continue_answer(self._selected())

    def action_attach_file(self) -> None:
        self.attachments.open_picker()

    def action_voice_input(self) -> None:
        self.voice.push_to_talk()

    def action_read_aloud(self) -> None:
        self.voice.read_aloud(self._selected())

    def action_focus_attachments(self) -> None:
        if self.attachments.waiting:
            self.set_focus(self.attachments.bar)

    def action_focus_messages(self) -> None:
        self.messages.focus_messages()

    def _selected(self) -> str | None:
        """The message the keys mean: the selected one while the list has focus."""
        return self.messages.selected if self.messages.has_focus else None

    async def _message_action(self, event: MessageAction) -> None:
        """A key in the message list, for the message selected there."""
        if event.action == "leave":
            self.set_focus(self.prompt)
        elif event.action == "cycle":
            await self.variants.cycle(event.step, event.message_id)
        elif event.action == "edit":
            self.variants.start_edit(event.message_id)
        elif event.action == "preview":
            self.attachments.preview_message(event.message_id)
        elif event.action == "delete":
            self.variants.delete_turn(event.message_id)

    async def action_new_chat(self) -> None:
        await self.conversations.new()

    def action_rename(self) -> None:
        self.conversations.rename()

    def action_delete(self) -> None:
        self.conversations.delete()

    def action_export(self) -> None:
        self.conversations.export()

    def action_search(self) -> None:
        self.conversations.search()

    def action_toggle_documents(self) -> None:
        self.conversations.toggle_documents()

    def action_toggle_sidebar(self) -> None:
        self.conversations.toggle_sidebar()

    async def action_focus_sidebar(self) -> None:
        await self.conversations.focus_sidebar()

    def action_copy_answer(self) -> None:
        self.messages.copy_answer(self.conversation.messages)

    def action_copy_code(self) -> None:
        self.messages.copy_code(self.conversation.messages)

    async def action_toggle_thinking(self) -> None:
        await self.messages.toggle_thinking(self._selected())

    def action_focus_sources(self) -> None:
        self.messages.focus_sources()

    def action_scroll_messages(self, direction: int) -> None:
        self.messages.scroll_pages(direction)

    async def palette_commands(self) -> list[PaletteEntry]:
        """This screen's command palette entries (the app adds screens and themes)."""
        return await self.palette.commands()
