"""The table of installed models: filtered by typed words, sorted by any column.

The screen sets the rows (attributes down); the table keeps the full list and shows
the matching ones in the chosen order, keeping the cursor on the same model across
refreshes. Clicking a header sorts by it; clicking it again reverses.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from offyai_tui.manage.rows import COLUMNS, ModelRow, display_values, matches, sort_rows

SORT_KEYS = tuple(key for key, _ in COLUMNS)
_STYLES = {"loaded": "green"}
_FIT_STYLE = {"vram": "green", "partial": "yellow", "ram": "cyan", "none": "red", "unknown": "dim"}
_RIGHT = {"size", "context"}


def cells(row: ModelRow) -> list[Text]:
    """The table cells of one row (plain text: names never read as markup)."""
    values = display_values(row)
    styles = {**_STYLES, "fit": _FIT_STYLE.get(row.assessment.fit.kind, "")}
    return [
        Text(values[key], style=styles.get(key, ""), justify="right" if key in _RIGHT else "left")
        for key, _ in COLUMNS
    ]


class ModelTable(DataTable[Text]):
    """Installed models; ``selected`` is the row under the cursor."""

    DEFAULT_CSS = """
    ModelTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: list[ModelRow] = []
        self._visible: list[ModelRow] = []
        self.filter_text = ""
        self.sort_column = "name"
        self.sort_reverse = False

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(Text(label + "  "), key=key)
        self._show_sort()

    @property
    def rows_shown(self) -> list[ModelRow]:
        """The visible rows, in display order."""
        return list(self._visible)

    @property
    def all_rows(self) -> list[ModelRow]:
        return list(self._rows)

    @property
    def selected(self) -> ModelRow | None:
        if not self._visible or not 0 <= self.cursor_row < len(self._visible):
            return None
        return self._visible[self.cursor_row]

    def set_rows(self, rows: list[ModelRow]) -> None:
        self._rows = list(rows)
        self._rebuild()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; without ``reverse``, the same column again flips the order."""
        if column not in SORT_KEYS:
            raise ValueError(f"unknown column {column!r}")
        if reverse is None:
            reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        self._show_sort()
        self._rebuild()

    def cycle_sort(self) -> None:
        """Sort by the next column."""
        index = (SORT_KEYS.index(self.sort_column) + 1) % len(SORT_KEYS)
        self.sort_by(SORT_KEYS[index], reverse=False)

    def select_key(self, key: str) -> bool:
        """Put the cursor on the row with ``key``; ``False`` if it is not shown."""
        for index, row in enumerate(self._visible):
            if row.key == key:
                self.move_cursor(row=index)
                return True
        return False

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def _show_sort(self) -> None:
        arrow = " ▼" if self.sort_reverse else " ▲"
        for key, label in COLUMNS:
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is not None:
                column.label = Text(label + (arrow if key == self.sort_column else "  "))

    def _rebuild(self) -> None:
        current = self.selected.key if self.selected else None
        shown = [r for r in self._rows if matches(r, self.filter_text)]
        self._visible = sort_rows(shown, self.sort_column, self.sort_reverse)
        self.clear()
        for row in self._visible:
            self.add_row(*cells(row), key=row.key)
        if current is None or not self.select_key(current):
            self.move_cursor(row=0)
