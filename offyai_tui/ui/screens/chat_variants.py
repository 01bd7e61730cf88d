"""The chat screen's versions of a turn: regenerate, cycle, edit, continue, delete.

The conversation does the work (:mod:`offyai_tui.chat.variants`: every change is new
events in the transcript, and ``conversation.messages`` is the branch shown); this
owner picks the message a key means, refuses in one line what cannot be done now,
and redraws the branch. Keys on the prompt mean the last answer; keys in the message
list mean the selected message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from offyai_tui.chat import ChatError, ChatMessage, TranscriptError
from offyai_tui.ui.host import offy
from offyai_tui.ui.widgets.chat.message_list import placeholder

if TYPE_CHECKING:
    from offyai_tui.chat import Conversation
    from offyai_tui.ui.screens.chat import ChatScreen

BUSY = "An answer is being written; wait or press Esc first."


def variant_label(conversation: Conversation, message_id: str) -> str:
    """``‹ 2/3 ›`` for a message with other versions, ``""`` otherwise."""
    try:
        index, count = conversation.variants(message_id)
    except ChatError:  # a placeholder, or a message gone with a deleted turn
        return ""
    return f"‹ {index + 1}/{count} ›" if count > 1 else ""


def snippet(text: str, width: int = 40) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


class VariantActions:
    """What the chat screen does with one turn's versions (keys, palette, message list)."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen
        self.editing: str | None = None
        """The id of the prompt being edited in the prompt box, if one is."""
        self._draft = ""

    @property
    def conversation(self) -> Conversation:
        return self.screen.conversation

    def _busy(self) -> bool:
        if self.screen.generating:
            self.screen.notify(BUSY, timeout=4)
            return True
        return False

    def _target(self, message_id: str | None) -> ChatMessage | None:
        """The message a key means: the one given, else the branch's last answer."""
        messages = self.conversation.messages
        if message_id is not None:
            return self.conversation.tree.get(message_id)
        return next((m for m in reversed(messages) if m.role == "assistant"), None)

    async def redraw(self, select: str | None = None) -> None:
        """Show the branch now shown by the conversation, optionally selecting a message."""
        screen = self.screen
        await screen.messages.show(self.conversation.messages)
        if select is not None and screen.messages.has_focus:
            screen.messages.select_message(select)
        screen.update_context()
        screen.conversations.refresh()

    # -------------------------------------------------------------- regenerate

    async def regenerate(self) -> None:
        """A new answer to the branch's last prompt; the old one stays as a version.

        After a failed send (no answer at all) it simply answers the prompt.
        """
        screen = self.screen
        if self._busy():
            return
        conversation = self.conversation
        messages = screen.messages
        await messages.remove_placeholders()
        last = conversation.messages[-1] if conversation.messages else None
        if last is None:
            screen.notify("Nothing to regenerate yet.", timeout=3)
            return
        again = last.role != "user"
        if again:
            try:
                prompt = conversation.regenerate_target()
            except ChatError as exc:
                screen.notify(str(exc), timeout=4, markup=False)
                return
            at = [m.id for m in conversation.messages].index(prompt.id)
            for later in conversation.messages[at + 1:]:
                await messages.remove_message(later.id)
        pending = placeholder(screen.info.preferred_model(conversation))
        await messages.add(pending)
        messages.follow()
        screen.start_generation(conversation, pending.id, regenerate=again)

    # ------------------------------------------------------------------- cycle

    async def cycle(self, step: int, message_id: str | None = None) -> None:
        """Show the previous or next version of a message, and the branch below it."""
        screen = self.screen
        if self._busy():
            return
        target = self._target(message_id)
        if message_id is None and (target is None
                                   or not variant_label(self.conversation, target.id)):
            # The last answer has one version: the last prompt may have more (an edit).
            target = next((m for m in reversed(self.conversation.messages)
                           if m.role == "user"), target)
        if target is None or not variant_label(self.conversation, target.id):
            screen.notify("This message has no other versions.", timeout=3)
            return
        try:
            shown = self.conversation.cycle(target.id, step)
        except TranscriptError as exc:
            screen.save_failed(exc)
            shown = self._target(message_id) or target
        except ChatError as exc:
            screen.notify(str(exc), timeout=4, markup=False)
            return
        await self.redraw(select=shown.id)

    # -------------------------------------------------------------------- edit

    def start_edit(self, message_id: str) -> None:
        """Open a prompt in the prompt box; sending makes a new version of it."""
        screen = self.screen
        message = self.conversation.tree.get(message_id)
        if message is None or message.role != "user":
            screen.notify("Only your own messages can be edited.", timeout=3)
            return
        if self._busy():
            return
        if self.editing is None:
            self._draft = screen.prompt.text
        self.editing = message_id
        screen.prompt.load_text(message.content)
        screen.prompt.move_cursor(screen.prompt.document.end)
        send, cancel = offy(screen.app).key_for("prompt.send"), offy(screen.app).key_for(
            "chat.stop")
        self._note(f"✎ Editing message “{snippet(message.content, 30)}”: {send} sends a new "
                   f"version (the old stays), {cancel} cancels.")
        screen.set_focus(screen.prompt)  # now: the rest of a burst is typed into it

    def cancel_edit(self) -> bool:
        """Esc while editing: the prompt gets back what was typed before. True if it was."""
        if self.editing is None:
            return False
        self.editing = None
        self.screen.prompt.load_text(self._draft)
        self.screen.prompt.move_cursor(self.screen.prompt.document.end)
        self._note("")
        return True

    async def send_edit(self, text: str) -> None:
        """The edited text becomes a new version of the prompt, and is answered."""
        screen = self.screen
        original, self.editing = self.editing, None
        self._note("")
        if original is None:
            return
        if self._busy():
            screen.prompt.load_text(text)
            self.editing = original
            return
        conversation = self.conversation
        try:
            conversation.edit_prompt(original, text)
        except TranscriptError as exc:
            screen.save_failed(exc)
        except ChatError as exc:
            screen.notify(str(exc), timeout=4, markup=False)
            return
        screen.prompt.load_text(self._draft)
        await self.redraw()
        pending = placeholder(screen.info.preferred_model(conversation))
        await screen.messages.add(pending)
        screen.messages.follow()
        screen.start_generation(conversation, pending.id)

    def _note(self, text: str) -> None:
        note = self.screen.query_one("#edit-note", Static)
        note.update(Content(text))
        note.set_class(bool(text), "-shown")

    # ---------------------------------------------------------------- continue

    async def continue_answer(self, message_id: str | None = None) -> None:
        """Grow a stopped or length-cut answer in place, where the engine can."""
        screen = self.screen
        if self._busy():
            return
        conversation = self.conversation
        target = conversation.messages[-1] if message_id is None and conversation.messages \
            else self._target(message_id)
        engine = screen.engine
        if target is None:
            screen.notify("There is no answer to continue.", timeout=3)
            return
        if problem := conversation.continue_problem(target.id):
            screen.notify(f"Cannot continue: {problem}.", timeout=5, markup=False)
            return
        if engine is None or not getattr(engine, "IMPLEMENTS_CONTINUE", False):
            name = engine.label if engine is not None else "No engine"
            screen.notify(f"{name} cannot continue an answer in place; regenerate it "
                          f"instead ({offy(screen.app).key_for('chat.retry')}).",
                          timeout=6, markup=False)
            return
        messages = screen.messages
        view = messages.view_for(target.id)
        if view is None:
            await messages.action_scroll_end()
            view = messages.view_for(target.id)
        if view is not None:
            await view.reopen()
        messages.follow()
        screen.start_generation(conversation, target.id, continuing=target.id)

    # ------------------------------------------------------------------ delete

    def delete_turn(self, message_id: str) -> None:
        """Delete a prompt and all its answers, after a yes in a dialog."""
        screen = self.screen
        conversation = self.conversation
        prompt = conversation.tree.get(message_id)
        while prompt is not None and prompt.role != "user":
            prompt = conversation.tree.get(prompt.parent_id) if prompt.parent_id else None
        if prompt is None:
            screen.notify("This message belongs to no prompt to delete.", timeout=3)
            return
        if self._busy():
            return
        doomed = prompt

        async def done(yes: bool | None) -> None:
            if not yes:
                return
            ids = [m.id for m in conversation.messages]
            at = ids.index(doomed.id) if doomed.id in ids else len(ids)
            try:
                conversation.delete_turn(doomed.id)
            except TranscriptError as exc:
                screen.save_failed(exc)
            except ChatError as exc:
                screen.notify(str(exc), timeout=4, markup=False)
                return
            if conversation is not screen.conversation:
                return
            left = conversation.messages
            await self.redraw(select=left[min(at, len(left) - 1)].id if left else None)
            if not left:
                screen.prompt.focus()
            screen.notify("Deleted the prompt and its answers.", timeout=3)

        from offyai_tui.ui.screens.dialogs import ConfirmScreen

        others = len(conversation.turn_versions(doomed.id)) - 1
        also = f" (and its {others} other version{'s' * (others > 1)})" if others else ""
        screen.app.push_screen(ConfirmScreen(
            f"Delete your message “{snippet(doomed.content)}”{also} and every answer to it? "
            "Later messages stay."), done)
