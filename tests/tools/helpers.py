"""Config blocks for the tests' MCP servers: real processes, guarded like every child."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUARD_ENV = ["PYTHONPATH", "OFFYAI_NETGUARD", "OFFYAI_NETGUARD_LOG"]
"""Passed through by name, so each server runs under the suite's network guard."""


def time_server() -> str:
    """The path of ``mcp-server-time`` from PyPI (a dev dependency)."""
    found = shutil.which("mcp-server-time") or str(Path(sys.executable).parent / "mcp-server-time")
    assert Path(found).exists(), "mcp-server-time is a dev dependency: pip install -e '.[dev]'"
    return found


def stdio_block(name: str, command: str, args: list[str], env: list[str] | None = None,
                extra: str = "") -> str:
    return (f"[mcp.servers.{name}]\ncommand = {json.dumps(command)}\n"
            f"args = {json.dumps(args)}\nenv = {json.dumps(GUARD_ENV + (env or []))}\n"
            f"{extra}\n")


def own_server_block(name: str = "test", env: list[str] | None = None) -> str:
    """The tests' own server (tests/tools/mcp_test_server.py) over stdio."""
    return stdio_block(name, sys.executable, ["-m", "tests.tools.mcp_test_server", "stdio"], env,
                       f"cwd = {json.dumps(str(REPO))}")


def time_block(name: str = "time") -> str:
    return stdio_block(name, time_server(), ["--local-timezone", "UTC"])
