"""Tools a model may call: built-in ones and those of MCP servers, each call approved.

The turn runner drives :class:`ToolBox`: it offers :meth:`ToolBox.specs` to
the model, asks :meth:`ToolBox.decide` about each call the model makes
(showing :meth:`ToolBox.describe` when the answer is ``ask``), runs allowed
calls with :meth:`ToolBox.call` and answers denied ones with
:meth:`ToolBox.deny`. Every result is a :class:`ToolResult`; nothing a tool
or server does raises out of the toolbox.
"""

from offyai_tui.tools.base import Decision, Policy, ToolInfo, ToolResult, denial
from offyai_tui.tools.toolbox import ConversationGrants, ToolBox, mcp_name

__all__ = [
    "ConversationGrants",
    "Decision",
    "Policy",
    "ToolBox",
    "ToolInfo",
    "ToolResult",
    "denial",
    "mcp_name",
]
