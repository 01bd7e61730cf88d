"""The chat screen's conversations: list, open, new, rename, delete, export, search.

Everything here acts on the workspace's :class:`~offyai_tui.chat.ConversationStore`
and on which conversation the screen shows; the path of one message stays in
:mod:`offyai_tui.ui.screens.chat`. The dialogs and the search screen are
imported on first use: the chat's first frame does not need them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from offyai_tui.chat import ChatError, Conversation, SearchHit, TranscriptError
from offyai_tui.ui.host import offy
from offyai_tui.ui.widgets.chat.conversation_list import ConversationSidebar, Entry, Titled

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen


class ConversationActions:
    """What the chat screen does with whole conversations (keys, palette, sidebar)."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen

    @property
    def sidebar(self) -> ConversationSidebar:
        return self.screen.query_one(ConversationSidebar)

    def create(self) -> Conversation:
        """A new, unsaved conversation in the configured mode."""
        screen = self.screen
        return screen.store.create(mode=offy(screen.app).settings.chat.mode)

    # ------------------------------------------------------------ the list

    def refresh(self) -> None:
        """Show the conversations; cheap once listed (only changed transcripts are rescanned).

        The first listing stats every transcript, so it runs in a thread after the
        first frame; the open conversation is shown alone until it is done.
        """
        screen = self.screen
        if not screen.store.listed:
            screen.run_worker(self._first_listing, thread=True, exclusive=True,
                              group="listing", exit_on_error=False)
            entries: list[Titled] = []
        else:
            entries = list(screen.store.list())  # summaries are rows as they are
        current = screen.conversation
        if not any(e.id == current.id for e in entries):
            entries.insert(0, Entry(current.id, current.title or "New chat"))
        self.sidebar.set_entries(entries, current.id)

    def _first_listing(self) -> None:
        """List every conversation, then index the ones search does not know yet."""
        from textual.worker import get_current_worker

        screen = self.screen
        screen.store.list()
        if not screen.is_attached:
            return
        screen.app.call_from_thread(self.refresh)
        worker = get_current_worker()
        screen.store.build_search_index(cancelled=lambda: worker.is_cancelled)

    async def select(self, conversation_id: str) -> None:
        """Open the conversation chosen in the sidebar and give the prompt focus."""
        screen = self.screen
        if conversation_id != screen.conversation.id:
            try:
                conversation = screen.store.load(conversation_id)
            except ChatError as exc:
                screen.notify(str(exc), title=exc.title, severity="error", markup=False)
                return
            await screen.open_conversation(conversation)
        screen.prompt.focus()

    async def open_hit(self, hit: SearchHit | None) -> None:
        """Open the conversation of a search hit and scroll to the message (its
        reasoning unfolded when that is where the match is)."""
        if hit is None:
            return
        screen = self.screen
        try:
            conversation = screen.store.load(hit.conversation_id)
        except ChatError as exc:
            screen.notify(str(exc), title=exc.title, severity="error", markup=False)
            return
        if conversation is not screen.conversation:
            await screen.open_conversation(conversation)
        view = await screen.messages.reveal(hit.message_id)
        if view is not None and view.thinking is not None and hit.role == "thinking":
            await view.thinking.set_open(True)  # the match is in the reasoning

    def toggle_sidebar(self) -> None:
        self.sidebar.display = not self.sidebar.display

    async def focus_sidebar(self) -> None:
        sidebar = self.sidebar
        sidebar.display = True
        await sidebar.focus_list()

    # --------------------------------------------------------- one conversation

    async def new(self) -> None:
        """Start a new conversation (the empty one shown stays if nothing was said)."""
        screen = self.screen
        if screen.conversation.messages or screen.conversation.saved:
            await screen.open_conversation(self.create())
        screen.prompt.focus()

    def rename(self) -> None:
        screen = self.screen
        conversation = screen.conversation

        def done(title: str | None) -> None:
            if title is None:
                return
            try:
                conversation.rename(title)
            except TranscriptError as exc:
                screen.save_failed(exc)
            except ValueError as exc:
                screen.notify(str(exc), severity="warning", markup=False)
                return
            self.refresh()

        from offyai_tui.ui.screens.dialogs import TextEntryScreen

        screen.app.push_screen(TextEntryScreen("Rename conversation", conversation.title), done)

    def delete(self) -> None:
        """Delete the conversation shown (asks first); an answer it is writing stops."""
        screen = self.screen
        conversation = screen.conversation
        title = conversation.title or "this conversation"

        async def done(yes: bool | None) -> None:
            if not yes:
                return
            if screen.reply is not None and screen.reply.conversation is conversation:
                screen.workers.cancel_group(screen, "generate")
                await asyncio.sleep(0)
            if conversation.saved:
                try:
                    screen.store.delete(conversation.id)
                except ChatError as exc:
                    screen.notify(str(exc), title=exc.title, severity="error", markup=False)
                    return
            screen.notify(f"Deleted {title!r}", timeout=3, markup=False)
            await screen.open_conversation(self.create())

        from offyai_tui.ui.screens.dialogs import ConfirmScreen

        screen.app.push_screen(
            ConfirmScreen(f"Delete {title!r}? Its transcript is removed from disk."), done)

    def export(self) -> None:
        screen = self.screen
        conversation = screen.conversation
        if not conversation.saved:
            screen.notify("Nothing to export yet.", timeout=3)
            return
        try:
            path = screen.store.export_markdown(conversation.id)
        except (OSError, ChatError) as exc:
            screen.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        screen.notify(f"Exported to {path}", title="Export", timeout=8, markup=False)

    def search(self) -> None:
        from offyai_tui.ui.screens.search import SearchScreen

        self.screen.app.push_screen(SearchScreen(self.screen.store), self.open_hit)

    def toggle_documents(self) -> None:
        """Turn answering from the workspace's documents on or off for this conversation."""
        screen = self.screen
        conversation = screen.conversation
        try:
            conversation.set_documents(not conversation.documents)
        except TranscriptError as exc:
            screen.save_failed(exc)
        screen.status.documents = conversation.documents
        if conversation.documents:
            from offyai_tui.ui.screens.remote_docs import forget_declined

            forget_declined(screen.app, offy(screen.app).workspace)
            text = ("Documents on: each question searches this workspace's indexed files "
                    "and the answer lists its sources.")
        else:
            text = "Documents off: questions go to the model as typed."
        screen.notify(text, timeout=4, markup=False)
