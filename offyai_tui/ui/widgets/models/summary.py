"""The verdict on the highlighted model, with the numbers behind it.

The table has room for "CPU" and a speed range; this line says why: memory needed
against memory usable, the bandwidth assumption behind the speed, and the sparkline
of the runs this machine measured.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from offyai_tui.manage.rows import ModelRow
from offyai_tui.util.textsafe import visible


def summary_text(row: ModelRow | None) -> Text:
    if row is None:
        return Text("No model selected.", style="dim")
    judged = row.assessment
    text = Text(visible(row.info.name), style="bold")
    text.append(visible(f" ({row.engine.label})"))
    if row.loaded:
        text.append(" · loaded", style="green")
    text.append("\n")
    text.append(visible(judged.fit.explanation))
    speed = judged.speed
    if speed is not None:
        text.append("\n")
        if speed.high_tps > 0:
            about = f"about {speed.low_tps:.1f}–{speed.high_tps:.1f} tok/s ({speed.basis})"
            text.append(visible(about))
        if speed.measured is not None:
            text.append(" · " if speed.high_tps > 0 else "")
            text.append(speed.measured.label(), style="bold")
            text.append(f" {speed.measured.sparkline}", style="bold")
    elif row.is_embedding:
        text.append("\nembedding model: no generation speed")
    return text


class ModelSummary(Static):
    """Shows :func:`summary_text` of the row the screen passes in."""

    DEFAULT_CSS = """
    ModelSummary { height: auto; min-height: 3; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(summary_text(None), id=id)

    def show(self, row: ModelRow | None) -> None:
        self.update(summary_text(row))
