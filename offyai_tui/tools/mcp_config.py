"""Which MCP servers a workspace uses: ``[mcp.servers]`` plus a Claude-Desktop-style file.

Claude Desktop, oterm, Jan and others keep servers in a JSON file
(``{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}``);
``[mcp] config_file`` points at one so the user keeps a single list. Its
``env`` holds values the user wrote there, passed as written. A server in
``config.toml`` wins over one of the same name in the file. Each bad entry
is one note; the file's other servers still work.
"""

from __future__ import annotations

import json
import os
from typing import Any

from offyai_tui.settings.config import Settings
from offyai_tui.settings.config_tools import BUILTIN_TOOLS, McpServerConfig, server_from_table

MAX_FILE_BYTES = 1024 * 1024


def _collector(notes: list[str]) -> Any:
    def report(message: str, default: Any = None, *, kept: str | None = None) -> None:
        notes.append(f"{message}; {kept or 'ignored'}")

    return report


def read_config_file(path: str) -> tuple[dict[str, McpServerConfig], list[str]]:
    """The servers of a Claude-Desktop-style JSON file, and a note per problem."""
    notes: list[str] = []
    shown = os.path.expanduser(path)
    try:
        with open(shown, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return {}, [f"mcp.config_file {path} does not exist; its servers are not used"]
    except OSError as exc:
        return {}, [f"mcp.config_file {path} cannot be read ({exc.strerror or exc})"]
    if len(data) > MAX_FILE_BYTES:
        return {}, [f"mcp.config_file {path} is larger than 1 MB; not read"]
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, [f"mcp.config_file {path} is not valid JSON ({exc})"]
    servers = document.get("mcpServers") if isinstance(document, dict) else None
    if not isinstance(servers, dict):
        return {}, [f"mcp.config_file {path} has no \"mcpServers\" object"]
    found = {}
    report = _collector(notes)
    for name, raw in servers.items():
        server = server_from_table(str(name), raw, report, f"{path}: mcpServers.{name}", path)
        if server is not None:
            found[server.name] = server
    return found, notes


def configured_servers(
    settings: Settings, workspace: str
) -> tuple[list[McpServerConfig], list[str]]:
    """The servers ``workspace`` uses, in a stable order, and notes about the config."""
    servers: dict[str, McpServerConfig] = {}
    notes: list[str] = []
    if settings.mcp.config_file:
        servers, notes = read_config_file(settings.mcp.config_file)
    servers.update(settings.mcp.servers)
    chosen = settings.tools.workspaces.get(workspace)
    if chosen is not None:
        names = set(chosen.get("enabled", []))
        for name in sorted(names - set(servers) - set(BUILTIN_TOOLS)):
            notes.append(f"tools.workspaces.{workspace}.enabled names {name!r}, which is "
                         "neither a built-in tool nor a configured MCP server")
        return [s for s in servers.values() if s.name in names], notes
    return [s for s in servers.values() if s.enabled], notes


def enabled_builtins(settings: Settings, workspace: str) -> list[str]:
    """The built-in tools ``workspace`` uses."""
    chosen = settings.tools.workspaces.get(workspace)
    if chosen is not None:
        return [name for name in BUILTIN_TOOLS if name in chosen.get("enabled", [])]
    return [name for name in BUILTIN_TOOLS if name in settings.tools.enabled]
