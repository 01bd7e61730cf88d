"""The documents list: one row per file, skipped ones with the reason why.

Rows are keyed by the document's full path, so the selection survives a
refresh. File names come from the user's disk and are shown as plain text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from offyai_tui.rag.index import DocumentRecord
from offyai_tui.util.textsafe import visible

COLUMNS = ("Name", "Type", "Pages/lines", "Chunks", "Size", "Indexed", "Status")
MAX_WIDTH = 60
"""No column grows past this (the full path and status show under the list)."""

_now = time.time
"""The clock ages are measured against (a test can pin it)."""


def human_size(size: int) -> str:
    """``512 B``, ``1.2 KB``, ``3.4 MB``: sizes as people read them."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def age(timestamp: float, now: float | None = None) -> str:
    """When a document was indexed: ``just now``, ``5 min ago``, ``14:02`` or a date."""
    if timestamp <= 0:
        return "–"
    now = _now() if now is None else now
    seconds = max(0.0, now - timestamp)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if time.localtime(timestamp)[:3] == time.localtime(now)[:3]:
        return time.strftime("%H:%M", time.localtime(timestamp))
    return time.strftime("%Y-%m-%d", time.localtime(timestamp))


def extent(record: DocumentRecord) -> str:
    """``3 pages`` for PDFs, ``120 lines`` for text, ``–`` when not known."""
    if record.pages:
        return f"{record.pages} page" + ("s" if record.pages != 1 else "")
    if record.lines:
        return f"{record.lines} line" + ("s" if record.lines != 1 else "")
    return "–"


def status(record: DocumentRecord) -> Text:
    """``indexed``, ``indexed (notes)``, ``partly indexed: reason`` (a large file
    stopped part-way; what it has is searchable) or ``skipped: reason``."""
    if record.status == "indexed":
        label = "indexed"
        if record.notes:
            label += " (" + "; ".join(record.notes) + ")"
        return Text(visible(label), style="green" if not record.notes else "yellow")
    reason = record.reason or record.status
    if record.status == "partial":
        return Text(visible(f"partly indexed: {reason}"), style="yellow")
    return Text(visible(f"skipped: {reason}"), style="yellow")


def _cells(record: DocumentRecord) -> list[Text]:
    indexed = record.status in ("indexed", "partial")
    return [
        Text(visible(Path(record.path).name or record.path)),
        Text(record.kind),
        Text(extent(record), justify="right"),
        Text(str(record.chunks) if indexed else "–", justify="right"),
        Text(human_size(record.size) if record.size else "–", justify="right"),
        Text(age(record.indexed_at)),
        status(record),
    ]


class DocumentTable(DataTable[Text]):
    """Shows the workspace's documents; the screen calls :meth:`show`."""

    DEFAULT_CSS = """
    DocumentTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.records: dict[str, DocumentRecord] = {}

    def on_mount(self) -> None:
        self.show([])

    def show(self, records: Sequence[DocumentRecord]) -> None:
        """Replace the rows, keeping the cursor on the same document if it is still there.

        Column widths are measured here rather than left to the table's idle-time
        auto sizing, so a list refreshed while the app is busy never shows
        columns cut to the width of their headers.
        """
        selected = self.selected_path
        self.records = {r.path: r for r in records}
        rows = [_cells(record) for record in records]
        self.clear(columns=True)
        for i, label in enumerate(COLUMNS):
            width = max([len(label), *(row[i].cell_len for row in rows)])
            self.add_column(label, key=label.lower(), width=min(width, MAX_WIDTH))
        for record, cells in zip(records, rows):
            self.add_row(*cells, key=record.path)
        if selected in self.records:
            self.move_cursor(row=self.get_row_index(selected))

    @property
    def selected_path(self) -> str | None:
        """Full path of the document under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value
