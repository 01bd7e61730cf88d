"""Slash commands on the chat screen: one method per command, found by its type.

:func:`offyai_tui.chat.slash.parse` turns the prompt into a typed command;
:class:`SlashCommands` carries it out on the conversation shown and writes the
outcome as a note under the messages. A new command is a dataclass (and one
line of help) in ``chat/slash.py`` plus one method here, named in
:attr:`SlashCommands.HANDLERS`; the chat screen does not change. A command
that changes the conversation calls a ``Conversation`` method, so the change
is stored in the transcript.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from offyai_tui.chat import ChatError, TranscriptError, slash
from offyai_tui.engines.thinking import CAPABILITY, THINK_OFF_HINT, Think, think_word
from offyai_tui.ui.host import offy

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen

ENGINE_TIMEOUT = 1.5
"""``/show`` waits this long at most for the engine's sampling defaults."""


class SlashCommands:
    """Runs the slash commands typed on a chat screen."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen

    async def run(self, command: Any) -> None:
        """Execute a parsed slash command; its output appears as a note."""
        screen = self.screen
        handler = self.HANDLERS.get(type(command))
        try:
            if handler is not None:
                await handler(self, command)
        except TranscriptError as exc:
            screen.save_failed(exc)
        except (ChatError, ValueError) as exc:
            await screen.messages.add_note(str(exc), warning=True)
        screen.messages.follow()
        screen.update_context()

    async def note(self, text: str, *, warning: bool = False) -> None:
        await self.screen.messages.add_note(text, warning=warning)

    # ------------------------------------------------------------ the commands

    async def set_system(self, command: slash.SetSystem) -> None:
        self.screen.conversation.set_system(command.text)
        await self.note("System prompt set for this conversation.")

    async def set_parameter(self, command: slash.SetParameter) -> None:
        value = self.screen.conversation.set_parameter(command.name, command.value)
        shown = slash.format_value(value)
        await self.note(f"Parameter {command.name} set to {shown}."
                        + await self._window_note(command.name, value))

    async def set_think(self, command: slash.SetThink) -> None:
        screen = self.screen
        value = screen.conversation.set_think(command.value)
        word = think_word(value)
        screen.status.think = word
        text = ("Think: default (the model decides; nothing is sent)." if value is None
                else f"Think set to {word} for this conversation.")
        await self.note(text + await self._think_note(value))

    async def show(self, command: slash.Show) -> None:
        screen = self.screen
        await self.note(slash.show_text(command, screen.conversation,
                                        offy(screen.app).settings.chat,
                                        await self._engine_defaults()))

    async def clear(self, command: slash.Clear) -> None:
        conversation = self.screen.conversation
        conversation.clear_context()
        await self.screen.open_conversation(conversation)
        await self.note("Context cleared: earlier messages stay visible "
                        "but are no longer sent to the model.")

    async def attach(self, command: slash.Attach) -> None:
        await self.screen.attachments.add(command.path, want=command.kind)

    async def show_help(self, command: slash.Help) -> None:
        await self.note(command.text)

    async def invalid(self, command: slash.InvalidCommand) -> None:
        await self.note(command.message, warning=True)

    HANDLERS: ClassVar[dict[type, Callable[[Any, Any], Awaitable[None]]]] = {
        slash.SetSystem: set_system,
        slash.SetParameter: set_parameter,
        slash.SetThink: set_think,
        slash.Show: show,
        slash.Clear: clear,
        slash.Help: show_help,
        slash.Attach: attach,
        slash.InvalidCommand: invalid,
    }
    """Command type -> the method that runs it; a type without one is ignored."""

    # ----------------------------------------------------------------- helpers

    async def _window_note(self, name: str, value: Any) -> str:
        """`` The model ... window is N.`` when ``num_ctx`` exceeds the model's trained
        window (the request is clamped to it, see ``chat.context.resolve_budget``)."""
        screen = self.screen
        engine = screen.engine
        if name != "num_ctx" or engine is None:
            return ""
        try:
            model = await screen.info.model_for(engine, screen.conversation)
            trained = await screen.info.model_window(engine, model)
        except Exception:  # the note is a courtesy; the clamp happens anyway
            return ""
        if not trained or value <= trained:
            return ""
        return (f" {model} was trained on {trained:,} tokens, so the window is {trained:,}"
                " (a larger one would only produce garbage).")

    async def _think_note(self, value: Think) -> str:
        """`` MODEL does not list thinking …`` when thinking is asked of a model that
        says it cannot: the engine refuses the request, and the answer will say so."""
        screen = self.screen
        engine = screen.engine
        if engine is None or value in (None, False):
            return ""
        try:
            model = await screen.info.model_for(engine, screen.conversation)
            if await screen.info.supports(engine, model, CAPABILITY):
                return ""
        except Exception:  # the note is a courtesy; the engine has the last word
            return ""
        return (f" {model} does not list thinking among what it can do: the engine may "
                f"refuse ({THINK_OFF_HINT} turns it off).")

    async def _engine_defaults(self) -> dict[str, Any] | None:
        """What the engine samples with where the conversation sets nothing, and why
        (the embedded engine: Ollama's defaults, the model file's advice, config)."""
        screen = self.screen
        engine = screen.engine
        defaults = getattr(engine, "sampling_defaults", None)
        if engine is None or defaults is None:
            return None
        try:
            model = await screen.info.model_for(engine, screen.conversation)
            return await asyncio.wait_for(defaults(model), ENGINE_TIMEOUT)
        except Exception:  # /show still shows what the conversation sets
            return None
