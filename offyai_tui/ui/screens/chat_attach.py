"""Attachments on the chat screen: from a path to a chip, and from chips to the message.

Everything that decides is headless (:mod:`offyai_tui.attach`: ``prepare``,
``Pending``, ``at_paths``, ``vision_support``); this owner runs it for the
screen. Preparing reads, decodes and stores files, so it runs in a thread and
the prompt stays live. Every refusal is one line under the messages and
loses nothing: a file that cannot be attached leaves the chips as they were,
and a message that cannot go (an ``@path`` that leads out of the folder at
Enter; an image for a model without vision when it is sent, perhaps after
waiting in the queue) is put back in the prompt with its chips pending again.

``offyai_tui.attach`` loads Pillow and the documents loaders, so it is
imported on first use, never when the chat screen is.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offyai_tui.ui.widgets.chat.attach_bar import AttachBar

if TYPE_CHECKING:
    from offyai_tui.attach import Pending
    from offyai_tui.chat import Conversation
    from offyai_tui.chat.attachments import Attachment
    from offyai_tui.ui.screens.chat import ChatScreen


class ChatAttachments:
    """The chips waiting under the prompt of one chat screen."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen
        self._pending: Pending | None = None
        self.busy = 0
        """Files being prepared right now (a send waits for none: it says so)."""

    @property
    def pending(self) -> Pending:
        if self._pending is None:
            from offyai_tui.attach import Pending

            self._pending = Pending()
        return self._pending

    @property
    def waiting(self) -> bool:
        """Whether chips wait under the prompt (Enter then sends even with no text)."""
        return bool(self._pending)

    def file_tokens(self) -> int:
        """What the pending files add to the next request (the context meter counts it)."""
        return self._pending.file_tokens() if self._pending else 0

    @property
    def bar(self) -> AttachBar:
        return self.screen.query_one("#attachments", AttachBar)

    def cwd(self) -> Path:
        return Path(os.getcwd())

    # ------------------------------------------------------------- attaching

    async def add(self, source: str | os.PathLike[str], want: str | None = None) -> bool:
        """Prepare ``source`` (in a thread) and show it as a chip; one line when refused."""
        from offyai_tui.attach import AttachmentError, image_limits, prepare

        screen = self.screen
        root = screen.conversation.attachments_root
        if screen.store.read_only or root is None:
            await self.say("This workspace is read-only here (open in another OffyAI "
                           "instance): attachments cannot be stored; nothing attached")
            return False
        engine, settings = screen.engine, screen.settings
        limits = image_limits(engine.kind if engine is not None else "",
                              settings.attachments.max_image_side,
                              settings.attachments.max_image_mb)
        budget = await self._room()
        path = Path(os.path.expanduser(os.fspath(source)))
        if not path.is_absolute():
            path = self.cwd() / path
        self.busy += 1
        try:
            item = await asyncio.to_thread(prepare, root, path, want=want,  # type: ignore[arg-type]
                                           limits=limits, budget=budget)
        except AttachmentError as exc:
            await self.say(str(exc))
            return False
        finally:
            self.busy -= 1
        if not self.pending.add(item):
            await self.say(f"{item.name} is already attached")
            return True
        self.refresh()
        return True

    async def add_all(self, paths: Sequence[Path]) -> None:
        """Dropped or pasted files, in order; each refusal is its own line."""
        for path in paths:
            await self.add(path)

    async def _room(self) -> int | None:
        """Tokens a new file may take: what the context plan leaves, less the pending files.

        ``None`` (no limit known) when no engine or model answers yet: the
        send is then checked by the context plan as any long prompt is.
        """
        screen = self.screen
        engine = screen.engine
        if engine is None:
            return None
        try:
            model = await screen.info.model_for(engine, screen.conversation)
            plan = await screen.conversation.plan_context(
                await screen.info.meter_counter(engine, model), settings=screen.settings.chat,
                model_window=await screen.info.model_window(engine, model),
                engine_window=screen.info.engine_window(engine))
        except Exception:
            return None
        return self.pending.budget_left(plan.documents_budget(1.0))

    def remove(self, number: int) -> None:
        try:
            self.pending.remove(number)
        except ValueError as exc:
            self.screen.notify(str(exc), severity="warning", markup=False)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the chips, their notes and the remote notice; the meter counts the files."""
        from offyai_tui.attach import notes, remote_notice

        items = self.pending.items
        self.bar.show(self.pending.chips(), notes(items), remote_notice(self.screen.engine, items))
        self.screen.update_context()

    # ------------------------------------------------------------- previews

    def preview(self, number: int) -> None:
        """Enter on a chip: the picture it holds."""
        items = self.pending.items
        if not 1 <= number <= len(items):
            return
        self._open_preview(items, number - 1)

    def preview_message(self, message_id: str) -> None:
        """The preview key on a message: the pictures sent with it."""
        message = next((m for m in self.screen.conversation.messages if m.id == message_id),
                       None)
        if message is None or not message.images:
            self.screen.notify("This message has no images.", timeout=3)
            return
        self._open_preview([*message.images, *message.files], 0)

    def _open_preview(self, items: list[Attachment], index: int) -> None:
        from offyai_tui.attach import chips
        from offyai_tui.ui.screens.image_preview import ImagePreview

        root = self.screen.conversation.attachments_root or Path(".")
        labels = chips(items)
        pictures = [(a.path(root), labels[i]) for i, a in enumerate(items) if a.is_image]
        if not items[index].is_image:
            self.screen.notify(f"{items[index].name} is a text file: its text goes in the "
                               "message; only images have a preview", timeout=4, markup=False)
            return
        first = sum(1 for a in items[:index] if a.is_image)
        self.screen.app.push_screen(ImagePreview(pictures, first))

    def open_picker(self) -> None:
        """The attach key: choose a file under the folder OffyAI runs in."""
        from offyai_tui.ui.screens.file_picker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.screen.run_worker(self.add(path), group="attach")

        self.screen.app.push_screen(FilePicker(self.cwd()), chosen)

    async def bar_action(self, action: str, number: int) -> None:
        """A key on the chip bar (``remove``, ``preview``, ``leave``)."""
        if action == "remove":
            self.remove(number)
        elif action == "preview":
            self.preview(number)
        if action == "leave" or not self.waiting:
            self.screen.set_focus(self.screen.prompt)

    def dropped(self, paths: list[Path]) -> None:
        """A paste that was only existing paths: each becomes a chip."""
        self.screen.run_worker(self.add_all(paths), group="attach")

    # --------------------------------------------------------------- sending

    def involved(self, text: str) -> bool:
        """Whether Enter must take attachments with this prompt (chips, ``@path``)."""
        return self.waiting or "@" in text

    async def send(self, conversation: Conversation, text: str) -> None:
        """Take the ``@path`` files and the chips with the prompt, then send or queue it.

        They are taken at Enter, so the next prompt can be typed with new chips
        while this one waits; the vision check comes when it goes
        (:meth:`SendQueue.submit <offyai_tui.ui.screens.chat_send.SendQueue.submit>`).
        Refused here (a file still being attached, an ``@path`` that cannot be
        attached): one line, and the prompt goes back with its chips still there.
        """
        from offyai_tui.ui.screens.chat_send import Queued

        if self.busy:
            await self._refuse(text, "a file is still being attached: the message and its "
                                     "attachments wait in the prompt; press Enter again "
                                     "when it is done")
            return
        text = await self._at_paths(text)
        if text is None:
            return
        images, files = self.pending.take()
        self.refresh()
        await self.screen.sending.submit(Queued(conversation, text, images, files))

    def put_back(self, items: list[Attachment]) -> None:
        """The chips of prompts that did not go, back before the ones added since."""
        if items:
            self.pending.put_back(items)
            self.refresh()

    async def _at_paths(self, text: str) -> str | None:
        """``text`` without its ``@path`` tokens, their files now chips; ``None`` if refused."""
        if "@" not in text:
            return text
        from offyai_tui.attach import at_paths

        found = await asyncio.to_thread(at_paths, text, self.cwd())
        if found.refused:
            await self._refuse(text, "; ".join(found.refused))
            return None
        for path in found.paths:
            if not await self.add(path):
                await self._refuse(text, "")
                return None
        return found.text

    async def refusal(self, conversation: Conversation,
                      images: Sequence[Attachment]) -> str | None:
        """Why a message with ``images`` cannot go to the model now (``None``: it can).

        Earlier images of the conversation are sent again, so they count too. A
        conversation that never had one is answered without importing the
        attachments code (it loads Pillow): most prompts are words only.
        """
        if not images and not any(m.images for m in conversation.messages if m.in_context):
            return None
        from offyai_tui.attach import carries_images, vision_support

        screen = self.screen
        earlier = carries_images(conversation.history())
        if not (images or earlier):
            return None
        engine = screen.engine
        if engine is None:
            return "no engine is ready to look at the images; nothing sent"
        try:
            model = await screen.info.model_for(engine, conversation)
        except Exception as exc:
            return f"no model to send to ({exc}); nothing sent"
        check = await vision_support(engine, model, screen.settings)
        if check.ok:
            return None
        if earlier and not images:
            return f"earlier messages of this conversation carry images: {check.reason}"
        return check.reason

    async def _refuse(self, text: str, line: str) -> None:
        """Say ``line`` and put ``text`` back in the prompt (before anything typed since)."""
        prompt = self.screen.prompt
        typed = prompt.text
        prompt.load_text(f"{text}\n{typed}" if typed.strip() else text)
        prompt.move_cursor(prompt.document.end)
        if line:
            await self.say(line)

    async def say(self, line: str) -> None:
        """One line under the messages (a refusal, a file that cannot be attached)."""
        await self.screen.messages.add_note(line, warning=True)
        self.screen.messages.follow()


def bar_wiring(screen: Any, attachments: ChatAttachments) -> None:
    """Connect the chip bar's keys and the prompt's dropped paths to ``attachments``."""
    screen.query_one("#attachments", AttachBar).on_action = attachments.bar_action
    screen.prompt.on_paths_dropped = attachments.dropped
