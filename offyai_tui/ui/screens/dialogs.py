"""Small modal dialogs: yes/no confirmation and one-line text entry.

Both are keyboard-first: Enter confirms, Esc cancels, and the text shown comes
from the user's own data, so it is rendered as plain text, never markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static
from textual.widgets.button import ButtonVariant

from offyai_tui.ui.bindings import bindings
from offyai_tui.ui.widgets.common.ordered_keys import OrderedInput
from offyai_tui.util.textsafe import visible

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 64; max-width: 100%; height: auto;
    border: round $primary; background: $surface; padding: 1 2;
}}
{name} .question {{ margin: 0 0 1 0; }}
{name} Horizontal {{ height: auto; align: right middle; }}
{name} Button {{ margin: 0 0 0 1; }}
"""


class YesNoScreen(ModalScreen[bool]):
    """A yes/no question with No focused; dismisses with ``True`` only on an explicit yes.

    Subclasses bring their own keys (binding ids a user may remap) and style.
    """

    def __init__(
        self, question: str, yes: str = "Delete", *, no: str = "Cancel",
        yes_variant: ButtonVariant = "error", question_id: str | None = None,
        multiline: bool = False,
    ) -> None:
        super().__init__()
        self._question = visible(question, multiline=multiline)
        self._yes, self._no = yes, no
        self._yes_variant = yes_variant
        self._question_id = question_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self._question), classes="question", id=self._question_id)
            with Horizontal():
                yield Button(f"{self._no} (n)", id="no")
                yield Button(f"{self._yes} (y)", id="yes", variant=self._yes_variant)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ConfirmScreen(YesNoScreen):
    """Confirm a destructive step (delete, remove)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = bindings("confirm")


class TextEntryScreen(ModalScreen[str | None]):
    """Ask for one line of text (e.g. a new title); ``None`` when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="TextEntryScreen")
    BINDINGS = bindings("text_entry")

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self._question = question
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(visible(self._question)), classes="question")
            yield OrderedInput(self._value, id="entry")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
