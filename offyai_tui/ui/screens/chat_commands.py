"""Chat screen actions that are not sending: slash commands, palette entries,
conversation management (new, rename, delete, export, search), copying, and
the documents toggle and sources.

The dialogs, search and code-block modules are imported on first use: the
chat's first frame does not need them.

Kept apart from :mod:`offyai_tui.ui.screens.chat` so that module reads as the
path of one message; these all act on ``self.conversation`` and the store.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from offyai_tui.chat import ChatError, ChatMessage, Mode, TranscriptError, slash
from offyai_tui.chat.records import new_message_id
from offyai_tui.engines.base import ModelInfo
from offyai_tui.engines.errors import EngineError
from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar
from offyai_tui.ui.widgets.chat.sources_panel import SourceList, SourcesPanel

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen

MODEL_LIST_TIMEOUT = 1.5
PENDING = "pending-"
"""Id prefix of an answer's placeholder before the chat core has created it."""


class ChatCommandsMixin:
    """Actions of :class:`ChatScreen` besides sending (see the module docstring)."""

    # ------------------------------------------------------------ slash commands

    async def _window_note(self: ChatScreen, name: str, value: Any) -> str:
        """`` The model ... window is N.`` when ``num_ctx`` exceeds the model's trained
        window (the request is clamped to it, see ``chat.context.resolve_budget``)."""
        engine = self.engine
        if name != "num_ctx" or engine is None:
            return ""
        try:
            model = await self.info.model_for(engine, self.conversation)
            trained = await self.info.model_window(engine, model)
        except Exception:  # the note is a courtesy; the clamp happens anyway
            return ""
        if not trained or value <= trained:
            return ""
        return (f" {model} was trained on {trained:,} tokens, so the window is {trained:,}"
                " (a larger one would only produce garbage).")

    async def _engine_defaults(self: ChatScreen) -> dict[str, Any] | None:
        """What the engine samples with where the conversation sets nothing, and why
        (the embedded engine: Ollama's defaults, the model file's advice, config)."""
        engine = self.engine
        defaults = getattr(engine, "sampling_defaults", None)
        if engine is None or defaults is None:
            return None
        try:
            model = await self.info.model_for(engine, self.conversation)
            return await asyncio.wait_for(defaults(model), MODEL_LIST_TIMEOUT)
        except Exception:  # /show still shows what the conversation sets
            return None

    async def run_command(self: ChatScreen, command: Any) -> None:
        """Execute a parsed slash command; its output appears as a note."""
        conversation = self.conversation
        messages = self.messages
        try:
            if isinstance(command, slash.SetSystem):
                conversation.set_system(command.text)
                await messages.add_note("System prompt set for this conversation.")
            elif isinstance(command, slash.SetParameter):
                value = conversation.set_parameter(command.name, command.value)
                shown = slash.format_value(value)
                await messages.add_note(f"Parameter {command.name} set to {shown}."
                                        + await self._window_note(command.name, value))
            elif isinstance(command, slash.Show):
                await messages.add_note(slash.show_text(command, conversation,
                                                        self.settings.chat,
                                                        await self._engine_defaults()))
            elif isinstance(command, slash.Clear):
                conversation.clear_context()
                await self.open_conversation(conversation)
                await messages.add_note("Context cleared: earlier messages stay visible "
                                        "but are no longer sent to the model.")
            elif isinstance(command, slash.Help):
                await messages.add_note(command.text)
            elif isinstance(command, slash.InvalidCommand):
                await messages.add_note(command.message, warning=True)
        except TranscriptError as exc:
            self.save_failed(exc)
        except (ChatError, ValueError) as exc:
            await messages.add_note(str(exc), warning=True)
        messages.follow()
        self.update_context()

    # -------------------------------------------------------------- palette

    async def palette_commands(self: ChatScreen) -> list[tuple[str, str, Any]]:
        """Entries for the command palette, reflecting the current state."""
        current = self.conversation
        commands: list[tuple[str, str, Any]] = []
        for mode in self.store.modes.modes:
            marker = " (current)" if mode.key == current.mode.key else ""
            commands.append((f"Mode: {mode.name}", f"{mode.description}{marker}",
                             lambda mode=mode: self.set_mode(mode)))
        for model in await self._palette_models():
            marker = " (current)" if model.name == self.status.model else ""
            where = f"{model.engine}{marker}"
            commands.append((f"Model: {model.name}", where,
                             lambda model=model: self.select_model(model)))
        chat = [
            ("new", "start a new conversation", self.action_new_chat),
            ("rename", "rename this conversation", self.action_rename),
            ("delete", "delete this conversation (asks first)", self.action_delete),
            ("export", "save this conversation as Markdown", self.action_export),
            ("search", "search every conversation", self.action_search),
            ("copy answer", "copy the last answer", self.action_copy_answer),
            ("copy code", "copy a code block of the last answer", self.action_copy_code),
            ("retry", "ask again after a failed answer", self.action_retry),
            ("stop", "stop the answer being written", self.action_stop),
            ("clear context", "earlier messages stay but are not sent",
             lambda: self.run_command(slash.Clear())),
        ]
        commands += [(f"Chat: {name}", help_text, action) for name, help_text, action in chat]
        now = "on" if current.documents else "off"
        commands.append((f"Documents: {'off' if current.documents else 'on'}",
                         f"answer from this workspace's indexed files (now {now})",
                         self.action_toggle_documents))
        return commands

    async def _palette_models(self: ChatScreen) -> list[ModelInfo]:
        engine = self.engine
        registry = getattr(self.app, "registry", None)
        try:
            if registry is not None:
                found = await asyncio.wait_for(registry.all_models(), MODEL_LIST_TIMEOUT)
            elif engine is not None:
                found = await asyncio.wait_for(engine.list_models(), MODEL_LIST_TIMEOUT)
            else:
                found = []
        except Exception:
            return []
        return [m for m in found if "chat" in m.capabilities]

    def set_mode(self: ChatScreen, mode: Mode) -> None:
        """Switch this conversation's mode (stored in its transcript)."""
        try:
            self.conversation.set_mode(mode)
        except TranscriptError as exc:
            self.save_failed(exc)
        self.status.mode = mode.name
        self.notify(f"Mode: {mode.name}", timeout=3, markup=False)
        self.update_context()

    def select_model(self: ChatScreen, model: ModelInfo) -> None:
        """Answer with ``model`` from now on (switching engine if it lives elsewhere)."""
        engine = self.engine
        registry = getattr(self.app, "registry", None)
        if engine is None or model.engine not in (engine.kind, engine.label):
            if registry is None:
                self.notify(f"{model.name} belongs to another engine", severity="warning",
                            markup=False)
                return
            try:
                new_engine = registry.engine(model.engine)
            except EngineError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.app.set_engine(new_engine, "chosen in the palette")  # type: ignore[attr-defined]
        self.conversation.model = model.name
        self.status.model = model.name
        self.update_context()

    # ------------------------------------------------------------- documents

    def action_toggle_documents(self: ChatScreen) -> None:
        """Turn answering from the workspace's documents on or off for this conversation."""
        conversation = self.conversation
        try:
            conversation.set_documents(not conversation.documents)
        except TranscriptError as exc:
            self.save_failed(exc)
        self.status.documents = conversation.documents
        if conversation.documents:
            from offyai_tui.ui.screens.remote_docs import forget_declined

            forget_declined(self.app, self.app.workspace)  # type: ignore[attr-defined]
            text = ("Documents on: each question searches this workspace's indexed files "
                    "and the answer lists its sources.")
        else:
            text = "Documents off: questions go to the model as typed."
        self.notify(text, timeout=4, markup=False)

    def action_focus_sources(self: ChatScreen) -> None:
        """Focus the sources of the newest answer; again: those of the answer before."""
        lists = list(self.messages.query(SourceList))
        if not lists:
            self.notify("No answer on screen has sources.", timeout=3)
            return
        focused = self.focused
        index = lists.index(focused) - 1 if focused in lists else len(lists) - 1
        target = lists[index % len(lists)]
        if target.highlighted is None:
            target.highlighted = 0
        target.focus()

    def on_sources_panel_opened(self: ChatScreen, event: SourcesPanel.Opened) -> None:
        from offyai_tui.ui.widgets.documents.chunk import ChunkScreen

        event.stop()
        self.app.push_screen(ChunkScreen(event.source))

    # ----------------------------------------------------------------- retry

    async def action_retry(self: ChatScreen) -> None:
        """Ask again for the last prompt whose answer failed."""
        if self.generating:
            self.notify("An answer is being written; wait or press Esc first.")
            return
        conversation = self.conversation
        for view in self.messages.views:
            if view.message.id.startswith(PENDING):
                await self.messages.remove_message(view.message.id)
        last = conversation.messages[-1] if conversation.messages else None
        if last is not None and last.role == "assistant" and last.status == "error":
            try:
                conversation.delete_message(last.id)
            except TranscriptError as exc:
                self.save_failed(exc)
            await self.messages.remove_message(last.id)
            last = conversation.messages[-1] if conversation.messages else None
        if last is None or last.role != "user":
            self.notify("Nothing to retry: the last answer did not fail.")
            return
        placeholder = ChatMessage(id=PENDING + new_message_id(), role="assistant", content="",
                                  status="streaming")
        await self.messages.add(placeholder)
        self.messages.follow()
        self._start_generation(conversation, placeholder.id)

    # --------------------------------------------------------- conversations

    async def action_new_chat(self: ChatScreen) -> None:
        if self.conversation.messages or self.conversation.saved:
            await self.open_conversation(self._new_conversation())
        self.prompt.focus()

    def action_rename(self: ChatScreen) -> None:
        conversation = self.conversation

        def done(title: str | None) -> None:
            if title is None:
                return
            try:
                conversation.rename(title)
            except TranscriptError as exc:
                self.save_failed(exc)
            except ValueError as exc:
                self.notify(str(exc), severity="warning", markup=False)
                return
            self.refresh_sidebar()

        from offyai_tui.ui.screens.dialogs import TextEntryScreen

        self.app.push_screen(TextEntryScreen("Rename conversation", conversation.title), done)

    def action_delete(self: ChatScreen) -> None:
        conversation = self.conversation
        title = conversation.title or "this conversation"

        async def done(yes: bool | None) -> None:
            if not yes:
                return
            if self.reply is not None and self.reply.conversation is conversation:
                self.workers.cancel_group(self, "generate")
                await asyncio.sleep(0)
            if conversation.saved:
                try:
                    self.store.delete(conversation.id)
                except ChatError as exc:
                    self.notify(str(exc), title=exc.title, severity="error", markup=False)
                    return
            self.notify(f"Deleted {title!r}", timeout=3, markup=False)
            await self.open_conversation(self._new_conversation())

        from offyai_tui.ui.screens.dialogs import ConfirmScreen

        self.app.push_screen(
            ConfirmScreen(f"Delete {title!r}? Its transcript is removed from disk."), done)

    def action_export(self: ChatScreen) -> None:
        conversation = self.conversation
        if not conversation.saved:
            self.notify("Nothing to export yet.", timeout=3)
            return
        try:
            path = self.store.export_markdown(conversation.id)
        except (OSError, ChatError) as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"Exported to {path}", title="Export", timeout=8, markup=False)

    def action_search(self: ChatScreen) -> None:
        from offyai_tui.ui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen(self.store), self.open_hit)

    # ----------------------------------------------------------------- copying

    def _last_answer(self: ChatScreen) -> str:
        for message in reversed(self.conversation.messages):
            if message.role == "assistant" and message.content.strip():
                return message.content
        return ""

    def action_copy_answer(self: ChatScreen) -> None:
        text = self._last_answer()
        if not text:
            self.notify("No answer to copy yet.", timeout=3)
            return
        self.app.copy_text(text, "the last answer")  # type: ignore[attr-defined]

    def action_copy_code(self: ChatScreen) -> None:
        """Copy the last code block; pressing again copies the one before it."""
        from offyai_tui.ui.widgets.chat.blocks import code_blocks

        blocks = code_blocks(self._last_answer())
        if not blocks:
            self.notify("The last answer has no code block.", timeout=3)
            return
        index = len(blocks) - 1 - (self._code_cursor % len(blocks))
        self._code_cursor += 1
        block = blocks[index]
        language = f" ({block.language})" if block.language else ""
        what = f"code block {index + 1} of {len(blocks)}{language}"
        self.app.copy_text(block.code, what)  # type: ignore[attr-defined]

    # -------------------------------------------------------------- navigation

    def action_toggle_sidebar(self: ChatScreen) -> None:
        sidebar = self.query_one(ConversationSidebar)
        sidebar.display = not sidebar.display

    async def action_focus_sidebar(self: ChatScreen) -> None:
        sidebar = self.query_one(ConversationSidebar)
        sidebar.display = True
        await sidebar.focus_list()

    def action_scroll_messages(self: ChatScreen, direction: int) -> None:
        if direction < 0:
            self.messages.scroll_page_up()
        else:
            self.messages.scroll_page_down()
