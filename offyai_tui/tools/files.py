"""Read one text file under the folders the user gave this workspace's documents.

The folders added to Documents (``offyai index PATH``, the Documents screen)
are the ones the user already chose to let the model read, so they are the
boundary here too, checked by the same rule as the index
(:func:`offyai_tui.util.confine.resolve_inside`): a symlink out of the
folder, a hidden file (``.env``, ``.ssh``), a path removed from the
documents, or ``../`` are refused with one line. A model asking for
``/etc/passwd`` gets that line, not the file.

Only text is read, and only so much of it: a long file comes back a slice of
lines at a time, with a note saying where to go on.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from offyai_tui.engines.parts import ToolSpec
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools.base import BuiltinTool, ToolResult, error
from offyai_tui.util.confine import Refusal, is_within, real_path, resolve_inside

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Larger files are refused: a model cannot use them whole, and reading one for a
slice of lines would still hold it all in memory."""

SPEC = ToolSpec(
    "read_file",
    "Read a text file from the folders the user added to their documents. Give a path "
    "relative to one of those folders, or an absolute path inside one. Long files come "
    "back in parts: pass start_line to read on.",
    {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "the file, e.g. notes/plan.md"},
            "start_line": {"type": "integer", "description": "first line to read (1 = start)"},
        },
        "required": ["path"],
    },
)


def allowed_roots(workspace: Workspace) -> tuple[list[str], list[str]]:
    """The workspace's document roots and the paths removed from inside them."""
    from offyai_tui.rag.index import DocumentIndex

    if not (workspace.index_dir / "index.sqlite").exists():
        return [], []
    with DocumentIndex.open(workspace.index_dir, workspace.documents_manifest) as index:
        return index.roots(), index.excluded()


def locate(path: str, roots: list[str], excluded: list[str]) -> Path | str:
    """The real path to read for ``path``, or the one line why it is not read."""
    if not roots:
        return ("no folders are open to the model: add folders to this workspace's "
                "documents first (offyai index PATH, or the Documents screen)")
    given = os.path.expanduser(path)
    candidates = [given] if os.path.isabs(given) else [os.path.join(r, given) for r in roots]
    candidates.sort(key=lambda c: not os.path.lexists(c))  # the folder that has it first
    refusal: Refusal | None = None
    for candidate in candidates:
        for root in roots:
            if os.path.isdir(root):
                found = resolve_inside(root, candidate)
            elif real_path(candidate) == real_path(root):  # a file added by itself
                found = real_path(root)
            else:
                continue
            if isinstance(found, Refusal):
                if not found.reason.startswith("outside the folder"):
                    refusal = refusal or found
                continue
            if any(is_within(found, real_path(gone)) for gone in excluded):
                return f"{path} was removed from this workspace's documents"
            return found
    if refusal is not None:
        return f"{path} is not readable: {refusal.reason}"
    return f"{path} is outside the folders open to the model ({', '.join(roots)})"


def read_text(found: Path, shown: str) -> str:
    """The file's text; raises ValueError with one line when it is not a text file."""
    try:
        size = found.stat().st_size
        if not found.is_file():
            raise ValueError(f"{shown} is not a file")
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{shown} is too large to read ({size / 1e6:.1f} MB; the limit "
                             f"is {MAX_FILE_BYTES // (1024 * 1024)} MB)")
        data = found.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{shown} does not exist") from None
    except OSError as exc:
        raise ValueError(f"{shown} cannot be read: {exc.strerror or exc}") from None
    if b"\0" in data[:8192]:
        raise ValueError(f"{shown} is not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def page(text: str, shown: str, start_line: int, limit: int) -> str:
    """Lines from ``start_line`` on, as many as fit in ``limit`` characters, with a header
    and, when more is left, where to read on."""
    lines = text.splitlines()
    total = len(lines)
    if total and start_line > total:
        raise ValueError(f"{shown} has {total} lines; start_line {start_line} is past the end")
    out: list[str] = []
    used = 0
    end = start_line - 1
    for line in lines[start_line - 1:]:
        if used + len(line) + 1 > limit and out:
            break
        out.append(line[:limit])
        used += len(line) + 1
        end += 1
    header = f"{shown} (lines {start_line}-{end} of {total})" if total else f"{shown} (empty)"
    more = (f"\n[more: lines {end + 1}-{total} not shown; call read_file with "
            f"start_line={end + 1}]") if end < total else ""
    return f"{header}\n" + "\n".join(out) + more


def make_tool(workspace: Workspace, limit: int) -> BuiltinTool:
    """The tool for ``workspace``, whose output fits in ``limit`` characters."""

    async def run(arguments: dict[str, Any]) -> ToolResult:
        path = arguments.get("path")
        start = arguments.get("start_line", 1)
        if not isinstance(path, str) or not path.strip():
            return error('read_file needs {"path": "..."}')
        if isinstance(start, bool) or not isinstance(start, int) or start < 1:
            return error("start_line must be a whole number from 1")
        roots, excluded = await asyncio.to_thread(allowed_roots, workspace)
        found = await asyncio.to_thread(locate, path.strip(), roots, excluded)
        if isinstance(found, str):
            return error(found)
        try:
            text = await asyncio.to_thread(read_text, found, path.strip())
            return ToolResult(page(text, str(found), start, limit - 200))
        except ValueError as exc:
            return error(str(exc))

    return BuiltinTool(SPEC, run, reads_workspace=True)
