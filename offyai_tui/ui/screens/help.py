"""The help screen: every key binding (as remapped by the user) and how chat behaves.

The binding list is the table the screens build their ``BINDINGS`` from
(:mod:`offyai_tui.ui.bindings`), so it cannot drift from what the keys really
do; the ids shown are the ones ``[keys]`` in ``config.toml`` accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from offyai_tui.chat.slash import HELP_TEXT
from offyai_tui.ui.bindings import bindings, remappable
from offyai_tui.ui.host import offy

NOTES = """\
Sending while an answer is being written: the new prompt is queued (the bar above \
the prompt says so) and sent when the answer ends. Esc stops the answer and puts \
queued prompts back into the prompt, so nothing is lost.

Switching or starting a conversation while an answer is written: the answer keeps \
going in its own conversation (every request has an id) and never appears in another.

Versions: a regenerated answer or an edited prompt is a new version beside the old, \
never a replacement; ‹ 2/3 › by a message's name says it has versions, cycling shows \
another, and the conversation goes on from the version shown. Select messages to \
edit, copy or delete one (a prompt is deleted with its answers, after a yes).

Up in an empty prompt recalls earlier prompts. Keys marked "outside the prompt" \
work when the prompt does not have focus (Tab moves focus).

Remap any key in config.toml, e.g.:  [keys]  "chat.stop" = "ctrl+c"
"""


@dataclass(frozen=True)
class BindingRow:
    id: str
    keys: str
    description: str
    scope: str


def binding_rows(keymap: dict[str, str]) -> list[BindingRow]:
    """Every remappable binding with the keys in effect after ``keymap``."""
    return [BindingRow(spec.id, keymap.get(spec.id, spec.keys), spec.description, spec.scope)
            for spec in remappable()]


class HelpScreen(ModalScreen[None]):
    """Lists every binding; Esc, F1 or q closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 96; max-width: 100%; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen DataTable { height: auto; margin: 1 0; }
    HelpScreen .title { text-style: bold; color: $text-primary; }
    HelpScreen .notes { color: $text-muted; margin: 0 0 1 0; }
    """

    BINDINGS = bindings("help")

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content("OffyAI keys"), classes="title")
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
            yield Static(Content("How chat behaves"), classes="title")
            yield Static(Content(NOTES), classes="notes")
            yield Static(Content("Slash commands (type in the prompt)"), classes="title")
            yield Static(Content(HELP_TEXT), classes="notes")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(Text(label) for label in ("Keys", "Action", "Where",
                                                      "Id (for [keys])")))
        for row in binding_rows(offy(self.app).settings.keys):
            shown = ", ".join(
                self.app.get_key_display(Binding(k.strip(), "")) for k in row.keys.split(",")
            )
            where = "outside the prompt" if row.id.endswith("_outside_prompt") else row.scope
            table.add_row(Text(shown), Text(row.description), Text(where), Text(row.id))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
