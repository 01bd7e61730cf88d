"""[tools] and [mcp] in config.toml: each bad value is one line, the rest still works."""

from __future__ import annotations

import pytest

from offyai_tui.settings.config import ConfigError, parse_settings
from offyai_tui.settings.config_tools import BUILTIN_TOOLS, McpServerConfig


def test_defaults_enable_every_builtin_and_no_server() -> None:
    settings = parse_settings("")
    assert settings.tools.enabled == list(BUILTIN_TOOLS)
    assert settings.mcp.servers == {}


def test_a_good_server_table_is_read_whole() -> None:
    settings = parse_settings(
        '[mcp.servers.time]\ncommand = "uvx"\nargs = ["mcp-server-time"]\n'
        'env = ["TZ"]\nenabled = false\n'
    )
    assert settings.warnings == []
    assert settings.mcp.servers["time"] == McpServerConfig(
        "time", "uvx", ("mcp-server-time",), ("TZ",), enabled=False)


def test_bad_values_are_one_line_each_and_the_rest_is_kept() -> None:
    settings = parse_settings("""
[tools]
enabled = ["calculator", "web_search", "datetime"]
timeout = 0
[tools.policy]
calculator = "sometimes"
read_file = "allow"
[mcp.servers.good]
command = "mcp-server-time"
[mcp.servers.nocommand]
args = ["x"]
[mcp.servers.both]
command = "x"
url = "http://127.0.0.1:1/mcp"
[mcp.servers.badenv]
command = "x"
env = ["OK_NAME", "not a name", 3]
[mcp.servers.calculator]
command = "x"
[mcp.servers."bad name"]
command = "x"
""")
    assert settings.warnings == [
        "config: tools.enabled: unknown tool 'web_search'; built-in tools are calculator, "
        "datetime, read_file, search_documents; ignored",
        "config: tools.policy.calculator must be ask, allow or deny, got 'sometimes'; using "
        "the tool's default (allow)",
        "config: tools.timeout must be between 0.1 and 86400, got 0.0; using the default (60.0)",
        "config: mcp.servers.nocommand: give either command (a program to run) or url (a "
        "loopback server); server ignored",
        "config: mcp.servers.both: give either command (a program to run) or url (a loopback "
        "server); server ignored",
        "config: mcp.servers.badenv.env: 'not a name' is not an environment variable name; "
        "ignored",
        "config: mcp.servers.badenv.env: 3 is not an environment variable name; ignored",
        "config: mcp.servers.calculator: server name 'calculator' is a built-in tool's name; "
        "server ignored",
        "config: mcp.servers.bad name: server name 'bad name' may use letters, digits, '_' "
        "and '-' (up to 32); server ignored",
    ]
    assert settings.tools.enabled == ["calculator", "datetime"]
    assert settings.tools.policy == {"read_file": "allow"}
    assert settings.tools.timeout == 60.0
    assert sorted(settings.mcp.servers) == ["badenv", "good"]
    assert settings.mcp.servers["badenv"].env == ("OK_NAME",)


def test_writers_of_the_file_stop_at_the_first_bad_value() -> None:
    with pytest.raises(ConfigError, match="tools.policy.calculator must be ask, allow or deny"):
        parse_settings('[tools.policy]\ncalculator = "x"\n', strict=True)


def test_a_workspace_list_is_checked_too() -> None:
    settings = parse_settings('[tools.workspaces.work]\nenabled = ["datetime", 4]\nfoo = 1\n'
                              '[tools.workspaces.home]\nenabled = ["calculator"]\n')
    assert settings.warnings == [
        "config: tools.workspaces.work takes only enabled = [names of tools and MCP servers]; "
        "ignored"
    ]
    assert settings.tools.workspaces == {"home": {"enabled": ["calculator"]}}
