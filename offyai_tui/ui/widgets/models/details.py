"""Everything known about one model: verdict, template, parameters, license, metadata.

The metadata comes from Ollama's ``/api/show`` or the GGUF header (read, never loaded).
Long values (vocabularies, licenses) are cut so the dialog opens instantly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from offyai_tui.hw.hardware import format_bytes
from offyai_tui.manage.rows import ModelRow
from offyai_tui.ui.bindings import bindings
from offyai_tui.util.textsafe import visible

MAX_VALUE = 160
MAX_BLOCK_LINES = 40


def _short(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "<array>":
        return f"[{value[1]:,} items]"
    if isinstance(value, list) and len(value) > 8:
        return f"[{', '.join(map(str, value[:8]))}, … {len(value):,} items]"
    text = visible(str(value).replace("\n", "⏎"))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _block(text: str) -> str:
    lines = text.strip().splitlines()
    if len(lines) > MAX_BLOCK_LINES:
        lines = [*lines[:MAX_BLOCK_LINES], f"… {len(lines) - MAX_BLOCK_LINES} more lines"]
    return visible("\n".join(lines), multiline=True) or "(none)"


def overview(row: ModelRow) -> Text:
    info = row.info
    facts = [
        ("engine", info.engine),
        ("family", info.family),
        ("parameters", info.parameter_size),
        ("quantization", info.quantization),
        ("size on disk", format_bytes(info.size_bytes) if info.size_bytes else ""),
        ("context", f"{info.context_length:,} tokens" if info.context_length else ""),
        ("capabilities", ", ".join(row.capabilities)),
        ("vision", _vision(row)),
        ("loaded", "yes" if row.loaded else "no"),
        ("file", info.path or str(row.details.get("path", ""))),
    ]
    text = Text()
    for label, value in facts:
        if value:
            text.append(f"{label:<13}", style="bold")
            text.append(f"{visible(value)}\n")
    text.append(f"{'fit':<13}", style="bold")
    text.append(visible(row.assessment.summary()))
    return text


def _vision(row: ModelRow) -> str:
    """Where the embedded engine's vision comes from, so a user sees why images work or
    not: the projector file paired with the model, or that there is none."""
    projector = str(row.details.get("projector") or "")
    if projector:
        return f"through the projector {Path(projector).name} beside it"
    if row.engine.kind == "llamacpp" and row.can_chat:
        return "none: no projector (mmproj*.gguf) beside its file"
    return ""


class ModelDetailsScreen(ModalScreen[None]):
    """A read-only view of one model; Esc or q closes it."""

    DEFAULT_CSS = """
    ModelDetailsScreen { align: center middle; }
    ModelDetailsScreen > VerticalScroll {
        width: 110; max-width: 100%; height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ModelDetailsScreen .heading { text-style: bold; color: $text-primary; margin: 1 0 0 0; }
    ModelDetailsScreen .block { color: $text-muted; }
    ModelDetailsScreen DataTable { height: auto; }
    """

    BINDINGS = bindings("model_details")

    def __init__(self, row: ModelRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        details = self.row.details
        with VerticalScroll():
            yield Static(Text(visible(self.row.info.name), style="bold"), classes="heading")
            yield Static(overview(self.row), id="details-overview")
            for key, title in (
                ("template", "Chat template"),
                ("parameters", "Parameters"),
                ("system", "System prompt"),
                ("license", "License"),
            ):
                value = details.get(key)
                if value:
                    yield Static(title, classes="heading")
                    yield Static(Text(_block(str(value))), classes="block", id=f"details-{key}")
            yield Static("Metadata", classes="heading")
            yield DataTable(id="details-metadata", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#details-metadata", DataTable)
        table.add_columns("Key", "Value")
        metadata = self.row.details.get("metadata") or {}
        for key in sorted(metadata):
            table.add_row(Text(visible(key)), Text(_short(metadata[key])))
        if not metadata:
            table.add_row(Text("(none)"), Text("the engine gave no metadata for this model"))
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
