"""``offyai tools``: which tools a model would get in this workspace, and who decides.

Listing starts the configured MCP servers (that is the only way to learn
their tools) and stops them before returning. A server that cannot start is
a line of its own with the reason, after the tools that work, so a typo in
one server's command never hides the others. ``--json`` prints one document
for scripts; config notes go to stderr so they never mix with rows.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from offyai_tui.util.textsafe import inert_json, visible

if TYPE_CHECKING:
    import argparse

    from offyai_tui.settings.config import Settings
    from offyai_tui.settings.workspace import Workspace
    from offyai_tui.tools import ToolInfo

DESCRIPTION_WIDTH = 70


def summary(description: str, width: int = DESCRIPTION_WIDTH) -> str:
    """The description's first sentence on one line, cut to ``width``."""
    text = " ".join(description.split())
    end = text.find(". ")
    if 0 < end < width:
        text = text[: end + 1]
    return text if len(text) <= width else text[: width - 1] + "…"


def rows(infos: list[ToolInfo]) -> list[str]:
    """Space-aligned columns: name, server, policy, description."""
    table = [("TOOL", "SERVER", "POLICY", "DESCRIPTION")]
    table += [(i.name, i.server, i.policy, summary(i.description)) for i in infos]
    table = [tuple(visible(cell) for cell in row) for row in table]
    widths = [max(len(r[c]) for r in table) for c in range(3)]
    return ["  ".join([*(f"{r[c]:<{widths[c]}}" for c in range(3)), r[3]]).rstrip()
            for r in table]


def as_json(infos: list[ToolInfo], failures: dict[str, str], notes: list[str]) -> dict[str, Any]:
    return {
        "tools": [
            {"name": i.name, "server": i.server, "tool": i.tool, "description": i.description,
             "policy": i.policy}
            for i in infos
        ],
        "unavailable": [{"server": name, "error": line} for name, line in failures.items()],
        "notes": [n for n in notes if n not in failures.values()],
    }


async def list_tools(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    """Print the tools (see the module's docstring); 0 even when a server is down,
    which is reported, because the listing itself worked."""
    from offyai_tui.tools import ToolBox

    async with ToolBox(settings, workspace) as box:
        infos = await box.infos()
        failures = box.failures()
        notes = list(box.notes)
    if getattr(args, "json", False):
        document = json.dumps(as_json(infos, failures, notes), indent=2, ensure_ascii=False)
        print(inert_json(document))
        return 0
    for line in rows(infos):
        print(line)
    for name, line in failures.items():
        print(visible(f"unavailable  {name}: {line}"))
    for note in notes:
        if note not in failures.values():
            print(f"offyai: {visible(note)}", file=sys.stderr)
    return 0
