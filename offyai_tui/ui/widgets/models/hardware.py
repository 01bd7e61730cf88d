"""What this machine has and the best catalog model per tier for it.

One line of hardware facts, then one line per tier (small, medium, large, embedding)
with the recommended model, where it would run and how fast. The full reasons,
including why the other models were not picked, are in the tooltip.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from offyai_tui.hw.hardware import DEFAULT_N_CTX, Hardware, Recommendation
from offyai_tui.util.textsafe import visible


def _tier_line(rec: Recommendation) -> Text:
    line = Text(f"{rec.tier:<10} ", style="bold")
    if rec.pick is None:
        line.append("none fits", style="red")
        if rec.others:
            smallest = min(rec.others, key=lambda c: c.entry.size_bytes)
            line.append(f" · smallest, {smallest.entry.name}: {smallest.reason}", style="dim")
        return line
    judged = rec.pick.assessment
    line.append(rec.pick.entry.name)
    line.append(f"  {judged.fit.label}", style="cyan")
    if judged.speed is not None:
        line.append(f" · {judged.speed.label()}")
    if rec.pick.reason.startswith("fits, but slow"):
        line.append(" · slow here", style="yellow")
    line.append(f" · {rec.pick.entry.description}", style="dim")
    return line


def hardware_text(
    hw: Hardware, recommendations: list[Recommendation], n_ctx: int = DEFAULT_N_CTX
) -> Text:
    """The panel's content (also what tests compare)."""
    text = Text("This machine  ", style="bold")
    text.append(hw.describe())
    text.append(f"\nBest catalog model per tier here, at {n_ctx:,} tokens of context", style="bold")
    for rec in recommendations:
        text.append("\n")
        text.append_text(_tier_line(rec))
    return text


def hardware_tooltip(hw: Hardware, recommendations: list[Recommendation]) -> str:
    """What was detected and how, what was not and why, then every tier's reasons."""
    found = [f"detected by {how}" for how in hw.found]
    missing = [f"not detected: {why}" for why in hw.notes]
    lines = [hw.describe(), *found, *missing, ""]
    for rec in recommendations:
        lines.append(rec.summary())
        lines += [f"  {c.entry.name}: {c.reason}" for c in rec.others]
    return "\n".join(lines)


class HardwarePanel(Static):
    """Hardware summary and per-tier recommendations; the screen calls :meth:`show`."""

    DEFAULT_CSS = """
    HardwarePanel {
        height: auto; padding: 0 1; border: round $primary-background;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("Detecting hardware…", style="dim"), id=id)

    def show(
        self, hw: Hardware, recommendations: list[Recommendation], n_ctx: int = DEFAULT_N_CTX
    ) -> None:
        self.update(hardware_text(hw, recommendations, n_ctx))
        # Plain text: device names come from drivers and tools, never read as markup.
        self.tooltip = Text(visible(hardware_tooltip(hw, recommendations), multiline=True))

    def failed(self, reason: str) -> None:
        self.update(Text(visible(f"Hardware detection failed: {reason}"), style="red"))
