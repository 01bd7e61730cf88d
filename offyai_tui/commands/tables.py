"""How ``offyai models`` prints: a table for people, plain columns or JSON for scripts.

* A terminal gets a Rich table. When it is too narrow, the columns worth least go first
  (capabilities, context, family, ...) so that model names are never cut: a name is what
  the user types next.
* A pipe (``offyai models | grep qwen``) gets plain, space-aligned columns with whole
  names, as ``ollama list`` prints them; notes go to stderr so they never mix with rows.
* ``--json`` prints one document with every figure unformatted (bytes, tokens/s).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from offyai_tui.hw.hardware import Hardware
from offyai_tui.hw.whatif import VERDICTS
from offyai_tui.manage.rows import COLUMNS, Inventory, ModelRow, display_values
from offyai_tui.util.textsafe import inert_json, visible

DROP_ORDER = ("caps", "context", "family", "params", "loaded", "quant", "size", "engine")
"""Columns left out, in this order, when the terminal is too narrow for all of them."""
GAP = 2


def model_json(row: ModelRow) -> dict[str, Any]:
    """One row for ``--json``: raw numbers, the estimate and what was measured."""
    info, judged = row.info, row.assessment
    speed = judged.speed
    measured = speed.measured if speed else None
    need = judged.fit.need
    return {
        "name": info.name,
        "engine": info.engine,
        "family": info.family,
        "parameter_size": info.parameter_size,
        "quantization": info.quantization,
        "size_bytes": info.size_bytes,
        "context_length": info.context_length,
        "capabilities": list(row.capabilities),
        "projector": row.details.get("projector") or None,  # the embedded engine's vision
        "loaded": row.loaded,
        "fit": VERDICTS.get(judged.fit.kind, "unknown"),  # the words `offyai fit` uses
        "fit_label": judged.fit.label,
        "needs_bytes": need.total if need else None,
        "explanation": judged.fit.explanation,
        "tokens_per_s": (
            [round(speed.low_tps, 1), round(speed.high_tps, 1)]
            if speed and speed.high_tps
            else None
        ),
        "speed_basis": speed.basis if speed else "",
        "measured": (
            {
                "median_tokens_per_s": round(measured.median_tps, 2),
                "last_tokens_per_s": round(measured.last_tps, 2),
                "runs": measured.runs,
                "prompt_median_tokens_per_s": round(measured.prompt_median_tps, 1),
            }
            if measured
            else None
        ),
        "error": info.details.get("error") or None,
    }


def _cells(row: ModelRow, sparkline: bool) -> dict[str, str]:
    values = display_values(row)
    if not sparkline and row.assessment.speed is not None:
        values["speed"] = row.assessment.speed.label()
    return {key: visible(value) for key, value in values.items()}


def plain_lines(rows: list[ModelRow]) -> list[str]:
    """Whole values in space-aligned columns, upper-case headings (as ``ollama list``)."""
    keys = [key for key, _ in COLUMNS]
    table = [[label.upper() for _, label in COLUMNS]]
    table += [[_cells(row, sparkline=False)[key] for key in keys] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys))]
    return [
        (" " * GAP).join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in table
    ]


def fitting_columns(rows: list[ModelRow], width: int) -> list[str]:
    """The column keys that fit ``width`` cells, dropping :data:`DROP_ORDER` first."""
    keys = [key for key, _ in COLUMNS]
    labels = dict(COLUMNS)
    cells = [_cells(row, sparkline=True) for row in rows]

    def needed(shown: list[str]) -> int:
        # Rich's default box: one border per column plus one, and one space of padding
        # each side of every cell.
        return 1 + sum(
            3 + max([len(labels[k]), *(len(c[k]) for c in cells)]) for k in shown
        )

    for key in DROP_ORDER:
        if needed(keys) <= width:
            break
        keys.remove(key)
    return keys


def print_models(
    inventory: Inventory,
    hw: Hardware,
    n_ctx: int,
    *,
    as_json: bool = False,
    out: IO[str] | None = None,
    engines: Sequence[Any] = (),
) -> int:
    """The models table (or plain rows, or JSON); ``engines`` are the registered
    engines (:class:`~offyai_tui.engines.registry.Listed`), named under the table."""
    out = out or sys.stdout
    footer = [f"fit and speed: {hw.describe()}, {n_ctx:,}-token context"]
    footer += [
        f"cannot use {row.info.name}: {row.info.details['error']}"
        for row in inventory.rows
        if row.info.details.get("error")
    ]
    footer += [f"not reachable: {note}" for note in inventory.notes]
    if as_json:
        doc = {
            "models": [model_json(row) for row in inventory.rows],
            "machine": hw.describe(),
            "n_ctx": n_ctx,
            "engines": [e.as_dict() for e in engines],
            "notes": footer[1:],
        }
        out.write(inert_json(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n")
        return 0
    if engines:
        footer.insert(1, "engines: " + "; ".join(e.line() for e in engines))
    if not out.isatty():
        out.writelines(line + "\n" for line in plain_lines(inventory.rows))
        out.flush()
        for line in footer:
            print(visible(line), file=sys.stderr)
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out)
    keys = fitting_columns(inventory.rows, console.width)
    labels = dict(COLUMNS)
    table = Table()
    rows = [_cells(row, sparkline=True) for row in inventory.rows]
    longest = max((len(cells["name"]) for cells in rows), default=4)
    for key in keys:
        # A name is never cut or folded: other columns wrap around it.
        wide = {"no_wrap": True, "min_width": longest} if key == "name" else {}
        table.add_column(labels[key].lower(), **wide)  # type: ignore[arg-type]
    for cells in rows:
        table.add_row(*(Text(cells[key]) for key in keys))
    console.print(table)
    plain = {"markup": False, "highlight": False, "style": "dim"}
    for line in footer:
        console.print(visible(line), **plain)
    return 0
