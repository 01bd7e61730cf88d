"""The question before a tool runs: which tool, from which server, with which arguments.

Nothing a model asks for runs unseen. The arguments are shown in full (as
inert text: a model can put anything in them), Deny is focused, and Esc
denies, so a stray Enter never approves a call. Allowing is armed only after
the question has been on screen for :data:`ARM_DELAY_S`: someone still typing
their next prompt when the question opens (an ``a`` or ``c`` in that burst)
approves nothing.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from offyai_tui.engines.parts import ToolCall
from offyai_tui.tools.arguments import arguments_text
from offyai_tui.turn.events import Decision
from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.screens.dialogs import DIALOG_CSS
from offyai_tui.util.textsafe import visible

ARM_DELAY_S = 0.6
"""Seconds the question is shown before a key or click can allow the call."""


class ToolApprovalScreen(ModalScreen[Decision]):
    """Allow once, allow the tool for this conversation, or deny."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ToolApprovalScreen") + """
    ToolApprovalScreen > Vertical { width: 80; }
    ToolApprovalScreen #arguments { height: auto; max-height: 12; background: $panel;
                                    padding: 0 1; margin: 0 0 1 0; }
    """
    BINDINGS = bindings("tool_approval")

    def __init__(self, call: ToolCall, server: str, description: str) -> None:
        super().__init__()
        self.call = call
        self.server = server
        self.description = description

    def compose(self) -> ComposeResult:
        where = f" from {visible(self.server)}" if self.server else ""
        question = f"The model wants to run the tool {visible(self.call.name)}{where}."
        if self.description:
            question += f"\n{visible(self.description, multiline=True)}"
        with Vertical():
            yield Static(Content(question), classes="question", id="tool-question")
            with VerticalScroll(id="arguments"):
                yield Static(Content(arguments_text(self.call)))
            with Horizontal():
                yield Button("Deny (d)", id="deny")
                yield Button("Allow in this chat (c)", id="conversation")
                yield Button("Allow once (a)", id="once", variant="warning")

    def on_mount(self) -> None:
        self._shown_at = time.monotonic()
        self.query_one("#deny", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id)  # type: ignore[arg-type]

    def action_answer(self, decision: Decision) -> None:
        """Deny at once; allow only once the question has been readable for a moment."""
        armed = time.monotonic() - getattr(self, "_shown_at", 0.0) >= ARM_DELAY_S
        if decision == "deny" or armed:
            self.dismiss(decision)
        else:
            self.notify("Read the question first: press again to allow.", markup=False)
