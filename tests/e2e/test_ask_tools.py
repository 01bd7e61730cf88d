"""``offyai ask --tools`` through the real binary: a real MCP server (``mcp-server-time``
from PyPI) and the Ollama-protocol stand-in on loopback, whose ``tools-model`` makes the
calls the prompt scripts (``calls: [...]``) and then answers from the real model.

A call runs only with the user's approval: with no terminal to ask on it is denied
(one line on stderr) unless ``--approve-tools`` is given, and a tool whose policy is
``deny`` never runs, whatever the flags.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import run_offyai, write_config
from tests.tools.helpers import stdio_block, time_server

pytestmark = pytest.mark.slow

CALL = 'calls: [{"name": "time__get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}]'


def _ask(app_home, user_home, server: str, *flags: str):
    return run_offyai(["--engine", "ollama", "--model", "tools-model", "ask", "--max-tokens",
                       "8", *flags, CALL], app_home, user_home, OLLAMA_HOST=server, timeout=120)


def _tool_results(server: str) -> list[dict]:
    state = httpx.get(f"{server}/_test/state", timeout=5, trust_env=False).json()
    chats = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]
    return [m for m in chats[-1]["messages"] if m["role"] == "tool"]


def test_an_approved_mcp_call_runs_and_the_model_reads_its_result(
    app_home, user_home, ollama_server: str
) -> None:
    write_config(app_home, stdio_block("time", time_server(), []))
    result = _ask(app_home, user_home, ollama_server, "--tools", "--approve-tools")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the answer after the tool round
    results = _tool_results(ollama_server)
    assert len(results) == 1
    assert json.loads(results[0]["content"])["timezone"] == "Asia/Tokyo"
    assert "offyai: tool time__get_current_time ran:" in result.stderr


def test_without_a_terminal_or_approval_the_call_is_denied(
    app_home, user_home, ollama_server: str
) -> None:
    write_config(app_home, stdio_block("time", time_server(), []))
    result = _ask(app_home, user_home, ollama_server, "--tools")
    assert result.returncode == 0, result.stderr
    assert "tool call time__get_current_time denied: no terminal to ask on" in result.stderr
    results = _tool_results(ollama_server)
    assert len(results) == 1 and "denied" in results[0]["content"]
    assert "+09:00" not in results[0]["content"]  # the tool never ran


def test_a_deny_policy_wins_over_approve_tools(app_home, user_home, ollama_server: str) -> None:
    write_config(app_home, stdio_block("time", time_server(), [])
                 + '\n[tools.policy]\ntime = "deny"\n')
    result = _ask(app_home, user_home, ollama_server, "--tools", "--approve-tools")
    assert result.returncode == 0, result.stderr
    results = _tool_results(ollama_server)
    assert len(results) == 1 and "+09:00" not in results[0]["content"]


def test_without_tools_none_are_offered(app_home, user_home, ollama_server: str) -> None:
    write_config(app_home, stdio_block("time", time_server(), []))
    result = _ask(app_home, user_home, ollama_server)
    assert result.returncode == 0, result.stderr
    state = httpx.get(f"{ollama_server}/_test/state", timeout=5, trust_env=False).json()
    chats = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]
    assert "tools" not in chats[-1]


def test_approve_tools_alone_is_refused(app_home, user_home) -> None:
    result = run_offyai(["ask", "--approve-tools", "hi"], app_home, user_home)
    assert result.returncode == 1 and "--approve-tools needs --tools" in result.stderr


def test_a_server_that_cannot_start_is_one_line_and_the_rest_works(
    app_home, user_home, ollama_server: str
) -> None:
    write_config(app_home, stdio_block("time", time_server(), [])
                 + stdio_block("broken", "/nonexistent/mcp-broken", []))
    result = _ask(app_home, user_home, ollama_server, "--tools", "--approve-tools")
    assert result.returncode == 0, result.stderr
    broken = [line for line in result.stderr.splitlines() if "broken" in line]
    assert len(broken) == 1 and broken[0].startswith("offyai: "), result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(_tool_results(ollama_server)[0]["content"])["timezone"] == "Asia/Tokyo"
