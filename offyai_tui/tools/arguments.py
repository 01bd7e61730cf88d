"""A tool call's arguments as the user reads them before allowing it.

The same text in the chat's approval dialog and on the terminal for
``offyai ask --tools``: pretty-printed JSON, cut when very long, and inert
(a model can put any bytes in its arguments, escape sequences included).
"""

from __future__ import annotations

import json

from offyai_tui.engines.parts import ToolCall
from offyai_tui.util.textsafe import visible

MAX_ARGUMENT_LINES = 80


def arguments_text(call: ToolCall) -> str:
    """The arguments as the tool will get them, pretty-printed and made inert."""
    if call.raw_arguments and not call.arguments:
        text = call.raw_arguments
    else:
        text = json.dumps(call.arguments, indent=2, ensure_ascii=False, sort_keys=True)
    lines = text.splitlines() or ["{}"]
    if len(lines) > MAX_ARGUMENT_LINES:
        lines = [*lines[: MAX_ARGUMENT_LINES], f"… {len(lines) - MAX_ARGUMENT_LINES} "
                 "more lines"]
    return visible("\n".join(lines), multiline=True)
