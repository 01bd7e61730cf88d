"""The current date and time: a model knows only the date its training ended.

Local time comes from this machine's clock and timezone (nothing is asked
of a time server); another zone is read from the system's IANA database.
The answer carries both an ISO 8601 timestamp, which models copy reliably,
and a spelled-out form, which they read reliably.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from offyai_tui.engines.parts import ToolSpec
from offyai_tui.tools.base import BuiltinTool, ToolResult, error

SPEC = ToolSpec(
    "datetime",
    "Get the current date and time on the user's machine (its local timezone), or in "
    "another IANA timezone. Use it whenever the answer depends on today's date or the time.",
    {
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "an IANA timezone, e.g. Europe/Berlin; omit for local time",
            },
        },
    },
)


def describe(now: datetime) -> str:
    """``2026-12-04T11:19:42+01:00 (Friday 4 December 2026, 11:19:42 CET, UTC+01:00)``."""
    offset = now.strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    zone = now.tzname() or ""
    zone_part = f"{zone}, {utc}" if zone and zone != "UTC" else utc
    human = f"{now:%A} {now.day} {now:%B %Y}, {now:%H:%M:%S} {zone_part}"
    return f"{now.isoformat(timespec='seconds')} ({human})"


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as "
                         "Europe/Berlin or America/New_York") from None


async def run(arguments: dict[str, Any]) -> ToolResult:
    name = arguments.get("timezone") or ""
    if not isinstance(name, str):
        return error("timezone must be a string such as Europe/Berlin")
    try:
        now = datetime.now(_zone(name.strip())) if name.strip() else datetime.now().astimezone()
    except ValueError as exc:
        return error(str(exc))
    where = f"in {name.strip()}" if name.strip() else "local time"
    return ToolResult(f"Current date and time ({where}): {describe(now)}")


TOOL = BuiltinTool(SPEC, run)
