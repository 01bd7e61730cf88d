"""Sending on the chat screen: one prompt at a time, the rest queued in the order typed.

Every prompt takes the same road, with or without attachments: Enter makes a
:class:`Queued` (its ``@path`` files and chips already taken, so the user can type
the next prompt and attach new files at once), and :meth:`SendQueue.submit` sends
it now or queues it while an answer is being written, a prompt is on its way or
the engine is still being detected. What depends on the model (does it see
images?) is checked when the prompt actually goes, as the model may have been
switched while it waited. A refusal then loses nothing: the prompt, its chips and
every prompt queued after it go back to the prompt box (they would otherwise go
out of order), with one line saying why; Esc does the same for the whole queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from offyai_tui.ui.host import offy

if TYPE_CHECKING:
    from offyai_tui.chat import Conversation
    from offyai_tui.chat.attachments import Attachment
    from offyai_tui.ui.screens.chat import ChatScreen


@dataclass
class Queued:
    """A prompt as Enter left it: its conversation, its words and its attachments."""

    conversation: Conversation
    text: str
    images: list[Attachment] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)


class SendQueue:
    """The prompts of one chat screen waiting for the answer being written."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen
        self.items: list[Queued] = []
        self.sending = False
        """A prompt is on its way (its vision check awaits the engine): later ones wait."""

    def _held(self) -> bool:
        """Whether a prompt must wait: an answer or a prompt is on its way, or the engine."""
        screen = self.screen
        detecting = screen.engine is None and not offy(screen.app).engine_reason
        return screen.generating or self.sending or detecting

    async def submit(self, item: Queued) -> None:
        """Send ``item`` now, or queue it behind the answer and the prompts before it."""
        if self._held() or self.items:
            # Behind prompts already queued, even if the answer just ended and
            # their drain is still on its way: prompts go out in the order typed.
            self.items.append(item)
            self.update_busy()
            if not self._held():
                self.screen.call_later(self.drain)
            return
        await self._deliver(item)

    async def drain(self) -> None:
        """Send the first queued prompt once nothing is being written and an engine is here."""
        screen = self.screen
        if self.items and not (screen.generating or self.sending) and screen.engine is not None:
            item = self.items.pop(0)
            self.update_busy()
            await self._deliver(item)

    async def _deliver(self, item: Queued) -> None:
        """Check what the model must see now, then send; a refusal returns the rest too."""
        screen = self.screen
        self.sending = True
        try:
            why = await screen.attachments.refusal(item.conversation, item.images)
            if why is None:
                await screen.send_message(item.conversation, item.text, item.images, item.files)
                return
        finally:
            self.sending = False
        after = len(self.items)
        self.items.insert(0, item)
        if after:
            why += (f"; the {after} prompt{'s' if after != 1 else ''} queued after it "
                    f"{'are' if after != 1 else 'is'} back in the prompt too")
        self.put_back()
        await screen.attachments.say(why)

    def put_back(self) -> None:
        """Every queued prompt back in the prompt box, before what is typed there, and
        their chips before the chips waiting there (Esc, a refusal, no engine)."""
        if not self.items:
            return
        items, self.items = self.items, []
        prompt = self.screen.prompt
        texts = [i.text for i in items if i.text.strip()]
        current = prompt.text
        prompt.load_text("\n\n".join([*texts, current] if current.strip() else texts))
        prompt.move_cursor(prompt.document.end)
        self.screen.attachments.put_back([a for i in items for a in (*i.images, *i.files)])
        self.update_busy()

    def update_busy(self) -> None:
        """The status bar's busy words and the queue note under the messages."""
        screen = self.screen
        parts = []
        if screen.generating:
            other = (screen.reply is not None
                     and screen.reply.conversation is not screen.conversation)
            parts.append("answering in another chat" if other else "answering")
        if self.items:
            parts.append(f"{len(self.items)} queued")
        screen.status.busy = " · ".join(parts)
        note = screen.query_one("#queue-note", Static)
        if self.items:
            waiting = ("the engine is ready" if screen.engine is None
                       else "the current answer ends")
            count = len(self.items)
            note.update(Content(
                f"⏳ {count} prompt{'s' if count != 1 else ''} queued: sent when {waiting}. "
                "Esc puts queued prompts back in the prompt."))
        note.set_class(bool(self.items), "-shown")
