"""The chat screen's command palette entries: modes, models, chat actions, documents.

The app's palette provider (:class:`~offyai_tui.ui.app.OffyCommands`) asks the
screen it was opened on for its entries, then adds screens and themes. The
entries are built each time the palette opens, so markers such as
"(current)" follow the conversation shown. A new chat action is one line in
:meth:`ChatPalette.commands`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from offyai_tui.chat import Mode, TranscriptError, slash
from offyai_tui.engines.base import ModelInfo
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.thinking import WORDS, think_word
from offyai_tui.ui.host import offy

if TYPE_CHECKING:
    from offyai_tui.ui.screens.chat import ChatScreen

THINK_HELP = {
    "on": "a reasoning model thinks before it answers (this conversation)",
    "off": "a reasoning model answers without thinking first",
    "low": "think a little (models with levels, such as gpt-oss)",
    "medium": "think a medium amount (models with levels)",
    "high": "think at length (models with levels)",
    "default": "leave thinking to the model (nothing is sent)",
}
"""The palette's line under each ``Think:`` entry (``/set think WORD``)."""

MODEL_LIST_TIMEOUT = 1.5
"""The palette opens without waiting longer than this for engines to list models."""

PaletteEntry = tuple[str, str, Callable[[], Any]]
"""(title such as ``Mode: Coder``, help line, callback)."""


class ChatPalette:
    """Palette entries for the chat screen, and the switches they make."""

    def __init__(self, screen: ChatScreen) -> None:
        self.screen = screen

    async def commands(self) -> list[PaletteEntry]:
        """Entries for the command palette, reflecting the current state."""
        screen = self.screen
        current = screen.conversation
        commands: list[PaletteEntry] = []
        for mode in screen.store.modes.modes:
            marker = " (current)" if mode.key == current.mode.key else ""
            commands.append((f"Mode: {mode.name}", f"{mode.description}{marker}",
                             lambda mode=mode: self.set_mode(mode)))
        for model in await self.models():
            marker = " (current)" if model.name == screen.status.model else ""
            commands.append((f"Model: {model.name}", f"{model.engine}{marker}",
                             lambda model=model: self.select_model(model)))
        chat = [
            ("new", "start a new conversation", screen.action_new_chat),
            ("rename", "rename this conversation", screen.action_rename),
            ("delete", "delete this conversation (asks first)", screen.action_delete),
            ("export", "save this conversation as Markdown", screen.action_export),
            ("search", "search every conversation", screen.action_search),
            ("copy answer", "copy the last answer", screen.action_copy_answer),
            ("copy code", "copy a code block of the last answer", screen.action_copy_code),
            ("show/hide thinking", "the reasoning of the last answer that has one",
             screen.action_toggle_thinking),
            ("regenerate", "a new answer to the last prompt (the old one stays a version)",
             screen.action_retry),
            ("continue", "continue a stopped or cut-short answer", screen.action_continue_answer),
            ("previous version", "of the last answer", lambda: screen.action_cycle_variant(-1)),
            ("next version", "of the last answer", lambda: screen.action_cycle_variant(1)),
            ("stop", "stop the answer being written", screen.action_stop),
            ("clear context", "earlier messages stay but are not sent",
             lambda: screen.slash_commands.run(slash.Clear())),
        ]
        commands += [(f"Chat: {name}", help_text, action) for name, help_text, action in chat]
        now = "on" if current.documents else "off"
        commands.append((f"Documents: {'off' if current.documents else 'on'}",
                         f"answer from this workspace's indexed files (now {now})",
                         screen.action_toggle_documents))
        shown = think_word(current.think)
        for word, value in WORDS.items():
            marker = " (current)" if word == shown else ""
            commands.append((f"Think: {word}", f"{THINK_HELP[word]}{marker}",
                             lambda value=value: screen.slash_commands.run(slash.SetThink(value))))
        return commands

    async def models(self) -> list[ModelInfo]:
        """The chat models of every engine (or of the one engine), quickly or none."""
        host = offy(self.screen.app)
        engine, registry = host.engine, host.registry
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

    def set_mode(self, mode: Mode) -> None:
        """Switch this conversation's mode (stored in its transcript)."""
        screen = self.screen
        try:
            screen.conversation.set_mode(mode)
        except TranscriptError as exc:
            screen.save_failed(exc)
        screen.status.mode = mode.name
        screen.notify(f"Mode: {mode.name}", timeout=3, markup=False)
        screen.update_context()

    def select_model(self, model: ModelInfo) -> None:
        """Answer with ``model`` from now on (switching engine if it lives elsewhere)."""
        screen = self.screen
        host = offy(screen.app)
        engine, registry = host.engine, host.registry
        if engine is None or model.engine not in (engine.kind, engine.label):
            if registry is None:
                screen.notify(f"{model.name} belongs to another engine", severity="warning",
                              markup=False)
                return
            try:
                new_engine = registry.engine(model.engine)
            except EngineError as exc:
                screen.notify(str(exc), severity="error", markup=False)
                return
            host.set_engine(new_engine, "chosen in the palette")
        screen.conversation.model = model.name
        screen.status.model = model.name
        screen.update_context()
