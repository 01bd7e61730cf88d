"""``offyai tools``: the listing a user and a script read, servers that fail included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.helpers import REPO, time_block

pytestmark = pytest.mark.slow


def offyai(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OFFYAI_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "offyai_tui", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def home(offyai_home: Path) -> Path:
    config = offyai_home / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        time_block() + '[mcp.servers.broken]\ncommand = "offyai-no-such-server"\n'
        '[mcp.servers.far]\nurl = "http://198.51.100.1/mcp"\n'
        '[tools.policy]\ncalculator = "deny"\n'
    )
    return offyai_home


def test_the_table_lists_every_tool_and_the_server_that_failed(home: Path) -> None:
    done = offyai(home, "tools")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["TOOL", "SERVER", "POLICY", "DESCRIPTION"]
    rows = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert rows["calculator"] == ["built-in", "deny"]
    assert rows["read_file"] == ["built-in", "ask"]
    assert rows["time__get_current_time"] == ["time", "ask"]
    assert lines[-1] == ("unavailable  broken: MCP server 'broken' cannot be started: command "
                         "not found: offyai-no-such-server")
    assert "mcp.servers.far.url must be on this machine" in done.stderr


def test_json_for_scripts(home: Path) -> None:
    done = offyai(home, "tools", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    tool = next(t for t in document["tools"] if t["name"] == "time__get_current_time")
    assert tool == {"name": "time__get_current_time", "server": "time",
                    "tool": "get_current_time",
                    "description": "Get current time in a specific timezone", "policy": "ask"}
    assert document["unavailable"] == [{
        "server": "broken",
        "error": "MCP server 'broken' cannot be started: command not found: offyai-no-such-server",
    }]
