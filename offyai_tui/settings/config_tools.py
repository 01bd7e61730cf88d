"""Settings of tools and MCP servers: ``[tools]``, ``[tools.policy]``, ``[mcp.servers.NAME]``.

Tools run things on the user's behalf, so a bad value here is never guessed
at: an unknown tool name in ``enabled`` is dropped, an unknown policy is
dropped (the tool keeps its default, which for anything that reads the
user's files is ``ask``), and a server whose table cannot work (no command,
a URL off this machine) is left out with one line saying why. The rest of
the tools keep working.

The tables are read loosely by :mod:`offyai_tui.settings.config` (the values
are lists and nested tables its generic reader does not type) and checked
here, one line per bad value, in the same ``report(message, default,
kept=...)`` style as the other checks. The Claude-Desktop-style JSON file
(``[mcp] config_file``) goes through :func:`server_from_table` too, so both
sources follow one rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from offyai_tui.util.netguard import is_loopback_host

BUILTIN_TOOLS = ("calculator", "datetime", "read_file", "search_documents")
POLICIES = ("ask", "allow", "deny")
DEFAULT_POLICIES = {
    "calculator": "allow",
    "datetime": "allow",
    "read_file": "ask",
    "search_documents": "ask",
}
"""Tools that only compute or tell the time run at once; reading the user's
files asks first. MCP tools, programs someone else wrote, always ask unless
the config says otherwise."""
MCP_DEFAULT_POLICY = "ask"
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Report = Callable[..., None]


@dataclass
class ToolsSettings:
    enabled: Any = field(default_factory=lambda: list(BUILTIN_TOOLS))
    """Built-in tools offered to models (names from :data:`BUILTIN_TOOLS`)."""
    policy: dict[str, str] = field(default_factory=dict)
    """Tool name (``calculator``, ``time__get_current_time``) or MCP server name ->
    ``ask``, ``allow`` or ``deny``."""
    workspaces: dict[str, Any] = field(default_factory=dict)
    """``[tools.workspaces.NAME] enabled = [...]``: the built-in tools and MCP servers
    that workspace uses, in place of ``enabled`` and the servers' own switches."""
    timeout: float = 60.0
    """Seconds one tool call may take before it is given up (an error result)."""
    start_timeout: float = 30.0
    """Seconds an MCP server may take to start and list its tools."""
    max_output_chars: int = 16_000
    """A tool's output beyond this is cut, with a note saying so, before the model sees it."""


@dataclass
class McpSettings:
    config_file: str = ""
    """A Claude-Desktop-style JSON file (``{"mcpServers": {...}}``) to read servers from."""
    servers: dict[str, Any] = field(default_factory=dict)
    """``[mcp.servers.NAME]``: checked into :class:`McpServerConfig` by :func:`check_tools`."""


@dataclass(frozen=True)
class McpServerConfig:
    """One MCP server: a command to run (stdio) or a loopback URL (streamable HTTP)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    """Names of environment variables passed through from OffyAI's environment."""
    env_values: tuple[tuple[str, str], ...] = ()
    """Variables with values written in the Claude-Desktop JSON file (the user wrote them)."""
    url: str = ""
    cwd: str = ""
    enabled: bool = True
    source: str = "config.toml"

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"


def loopback_problem(url: str) -> str:
    """``""`` when ``url`` is an http(s) URL on this machine, else why not (one line)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"must be an http:// or https:// URL, got {url!r}"
    if not is_loopback_host(host):
        return (f"must be on this machine (127.0.0.1, ::1 or localhost): {host!r} is not, "
                "and nothing may leave it")
    return ""


def server_from_table(
    name: str, raw: Any, report: Report, where: str, source: str = "config.toml"
) -> McpServerConfig | None:
    """The server ``name`` described by ``raw`` (a TOML table or a JSON object), or ``None``.

    Each bad value is one ``report`` line; a value that can be dropped is dropped
    (an env name that is not a name), one without which the server cannot run
    (no command, a URL off this machine) drops the server.
    """
    if not SERVER_NAME.match(name):
        report(f"{where}: server name {name!r} may use letters, digits, '_' and '-' "
               "(up to 32)", None, kept="server ignored")
        return None
    if name in BUILTIN_TOOLS:
        report(f"{where}: server name {name!r} is a built-in tool's name", None,
               kept="server ignored")
        return None
    if not isinstance(raw, dict):
        report(f"{where}: expected a table", None, kept="server ignored")
        return None
    known = {"command", "args", "env", "url", "enabled", "disabled", "cwd", "type"}
    for key in raw:
        if key not in known:
            report(f"{where}.{key}: unknown key", None, kept="ignored")
    command = raw.get("command", "")
    url = raw.get("url", "")
    if not isinstance(command, str) or not isinstance(url, str):
        report(f"{where}: command and url must be strings", None, kept="server ignored")
        return None
    if bool(command) == bool(url):
        report(f"{where}: give either command (a program to run) or url (a loopback "
               "server)", None, kept="server ignored")
        return None
    if url and (why := loopback_problem(url)):
        report(f"{where}.url {why}", None, kept="server ignored")
        return None
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        report(f"{where}.args must be a list of strings", None, kept="server ignored")
        return None
    names, values = _env(raw.get("env", []), report, f"{where}.env")
    enabled = raw.get("enabled", not raw.get("disabled", False))
    if not isinstance(enabled, bool):
        report(f"{where}.enabled must be true or false, got {enabled!r}", True)
        enabled = True
    cwd = raw.get("cwd", "")
    if not isinstance(cwd, str):
        report(f"{where}.cwd must be a string", "", kept="using the current folder")
        cwd = ""
    return McpServerConfig(name, command, tuple(args), names, values, url, cwd, enabled, source)


Env = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]


def _env(raw: Any, report: Report, where: str) -> Env:
    """A list of names (config.toml) or a table of values (the JSON file's ``env``)."""
    if isinstance(raw, dict):
        pairs = []
        for key, value in raw.items():
            if ENV_NAME.match(str(key)) and isinstance(value, str):
                pairs.append((str(key), value))
            else:
                report(f"{where}.{key} must be a variable name with a string value", None,
                       kept="ignored")
        return (), tuple(pairs)
    if not isinstance(raw, list):
        report(f"{where} must be a list of environment variable names", None, kept="ignored")
        return (), ()
    names = []
    for item in raw:
        if isinstance(item, str) and ENV_NAME.match(item):
            names.append(item)
        else:
            report(f"{where}: {item!r} is not an environment variable name", None, kept="ignored")
    return tuple(names), ()


def check_tools(settings: Any, report: Report) -> None:
    """Check ``[tools]`` and ``[mcp]`` in place: bad entries are reported and dropped."""
    tools: ToolsSettings = settings.tools
    tools.enabled = _names(tools.enabled, "tools.enabled", BUILTIN_TOOLS, report)
    for name, value in list(tools.policy.items()):
        if value not in POLICIES:
            report(f"tools.policy.{name} must be ask, allow or deny, got {value!r}", None,
                   kept=f"using the tool's default ({DEFAULT_POLICIES.get(name, 'ask')})")
            del tools.policy[name]
    for name, table in list(tools.workspaces.items()):
        where = f"tools.workspaces.{name}"
        if not isinstance(table, dict) or set(table) - {"enabled"}:
            report(f"{where} takes only enabled = [names of tools and MCP servers]", None,
                   kept="ignored")
            del tools.workspaces[name]
            continue
        tools.workspaces[name] = {"enabled": _names(table.get("enabled", []), f"{where}.enabled",
                                                    None, report)}
    for key, low, high in (("timeout", 0.1, 86_400), ("start_timeout", 0.1, 3600),
                           ("max_output_chars", 1000, 10_000_000)):
        value = getattr(tools, key)
        if not low <= value <= high or value != value:
            default = getattr(ToolsSettings(), key)
            report(f"tools.{key} must be between {low} and {high}, got {value!r}", default)
            setattr(tools, key, default)
    mcp: McpSettings = settings.mcp
    checked = {}
    for name, raw in mcp.servers.items():
        server = server_from_table(name, raw, report, f"mcp.servers.{name}")
        if server is not None:
            checked[name] = server
    mcp.servers = checked


def _names(raw: Any, where: str, allowed: tuple[str, ...] | None, report: Report) -> list[str]:
    if not isinstance(raw, list):
        report(f"{where} must be a list of names", None, kept="using the default")
        return list(BUILTIN_TOOLS) if allowed else []
    names = []
    for item in raw:
        if not isinstance(item, str) or (allowed is not None and item not in allowed):
            known = f"; built-in tools are {', '.join(allowed)}" if allowed else ""
            report(f"{where}: unknown tool {item!r}{known}", None, kept="ignored")
        elif item not in names:
            names.append(item)
    return names
