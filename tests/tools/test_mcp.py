"""MCP servers: real processes over stdio, a real streamable-HTTP server on loopback.

Every failure a server can cause (no such command, exits at start, dies
mid-call, hangs) must come back as one line, never an exception out of the
toolbox, and must not stop the other tools.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from offyai_tui.engines.parts import ToolCall
from offyai_tui.settings.config import parse_settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.tools import ToolBox
from offyai_tui.tools.mcp_client import BASE_ENV
from tests.tools.helpers import GUARD_ENV, REPO, own_server_block, stdio_block, time_block

pytestmark = pytest.mark.slow


def toolbox(config: str) -> ToolBox:
    settings = parse_settings(config)
    assert settings.warnings == []
    return ToolBox(settings, Workspace.open("mcp"))


def one_line(text: str) -> bool:
    return "\n" not in text and len(text) < 600


def children() -> set[int]:
    """Live child processes of this test process."""
    return {p.pid for p in psutil.Process().children() if p.status() != psutil.STATUS_ZOMBIE}


async def test_mcp_server_time_lists_and_runs_get_current_time() -> None:
    before = children()
    async with toolbox(time_block()) as box:
        names = [spec.name for spec in await box.specs()]
        assert "time__get_current_time" in names and "time__convert_time" in names
        spec = next(s for s in await box.specs() if s.name == "time__get_current_time")
        assert spec.parameters["required"] == ["timezone"]
        call = ToolCall("c1", "time__get_current_time", {"timezone": "Asia/Tokyo"})
        info = box.describe(call)
        assert (info.server, info.tool, info.policy) == ("time", "get_current_time", "ask")
        assert box.decide(call) == "ask"
        result = await box.call(call)
        assert not result.is_error
        answer = json.loads(result.text)
        assert answer["timezone"] == "Asia/Tokyo" and answer["datetime"].endswith("+09:00")
        wrong = await box.call(ToolCall("c2", "time__get_current_time", {"timezone": "Nope/X"}))
        assert wrong.is_error and "Nope/X" in wrong.text
        assert children() - before  # the server runs while the toolbox is open
    assert not children() - before  # and stops with it


async def test_a_server_starts_only_when_first_used() -> None:
    before = children()
    box = toolbox(time_block())
    assert box.decide(ToolCall("c", "calculator", {"expression": "1+1"})) == "run"
    assert not children() - before
    await box.specs()
    assert children() - before
    await box.aclose()
    assert not children() - before


async def test_streamable_http_server_on_loopback(tmp_path: Path) -> None:
    portfile = tmp_path / "port"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.tools.mcp_test_server", "http", str(portfile)],
        cwd=REPO, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not portfile.exists():
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{portfile.read_text()}/mcp"
        async with toolbox(f'[mcp.servers.web]\nurl = "{url}"\n') as box:
            assert "web__add" in [s.name for s in await box.specs()]
            result = await box.call(ToolCall("c1", "web__add", {"a": 2, "b": 40}))
            assert (result.text, result.is_error) == ("42", False)
    finally:
        server.terminate()
        server.wait(10)


def test_a_url_off_this_machine_is_refused_in_one_line() -> None:
    settings = parse_settings('[mcp.servers.web]\nurl = "http://192.0.2.7:8000/mcp"\n'
                              '[mcp.servers.ok]\ncommand = "true"\n')
    assert settings.warnings == [
        "config: mcp.servers.web.url must be on this machine (127.0.0.1, ::1 or localhost): "
        "'192.0.2.7' is not, and nothing may leave it; server ignored"
    ]
    assert list(settings.mcp.servers) == ["ok"]


async def test_a_command_that_does_not_exist_is_one_line_and_the_rest_work() -> None:
    config = time_block() + '[mcp.servers.ghost]\ncommand = "offyai-no-such-server"\n'
    async with toolbox(config) as box:
        names = [spec.name for spec in await box.specs()]
        assert "time__get_current_time" in names and "calculator" in names
        line = box.failures()["ghost"]
        assert line == ("MCP server 'ghost' cannot be started: command not found: "
                        "offyai-no-such-server")
        result = await box.call(ToolCall("c1", "ghost__anything", {}))
        assert result.is_error and "no tool named 'ghost__anything'" in result.text


async def test_a_server_that_exits_at_start_says_why_in_its_own_words() -> None:
    script = "import sys; print('missing API token', file=sys.stderr); sys.exit(2)"
    async with toolbox(stdio_block("dies", sys.executable, ["-c", script])) as box:
        await box.specs()
    line = box.failures()["dies"]
    assert line.startswith("MCP server 'dies' cannot be started: ")
    assert line.endswith("(it said: missing API token)") and one_line(line)


async def test_a_server_that_never_answers_is_given_up_after_start_timeout() -> None:
    before = children()
    config = "[tools]\nstart_timeout = 1\n" + stdio_block("mute", "sleep", ["600"])
    started = time.monotonic()
    async with toolbox(config) as box:
        assert "calculator" in [spec.name for spec in await box.specs()]
        assert box.failures() == {"mute": "MCP server 'mute' did not start within 1 s"}
    assert time.monotonic() - started < 8
    assert not children() - before


async def test_a_server_that_crashes_mid_call_is_an_error_result_and_restarts() -> None:
    async with toolbox(own_server_block()) as box:
        await box.specs()
        crashed = await box.call(ToolCall("c1", "test__crash", {}))
        assert crashed.is_error and one_line(crashed.text)
        assert crashed.text.startswith("MCP server 'test' stopped during the call")
        assert "segfault-like failure on purpose" in crashed.text
        again = await box.call(ToolCall("c2", "test__add", {"a": 1, "b": 2}))
        assert (again.text, again.is_error) == ("3", False)


async def test_a_call_that_takes_too_long_is_given_up() -> None:
    async with toolbox("[tools]\ntimeout = 1\n" + own_server_block()) as box:
        started = time.monotonic()
        slow = await box.call(ToolCall("c1", "test__sleep", {"seconds": 30}))
        assert time.monotonic() - started < 10
        assert slow.is_error and "took longer than 1 s" in slow.text


async def test_a_megabyte_of_output_is_cut_with_a_note_and_escapes_reach_the_model_as_data(
) -> None:
    async with toolbox(own_server_block()) as box:
        big = await box.call(ToolCall("c1", "test__big", {}))
        assert len(big.text) < 17_000
        assert big.text.endswith("[output cut: 984,000 of 1,000,000 characters left out]")
        markup = await box.call(ToolCall("c2", "test__markup", {}))
    assert markup.text == "[bold red]not bold[/] \x1b]0;pwned\x07 \x1b[2J done"


async def test_only_the_named_environment_variables_reach_a_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OFFYAI_TEST_PASSED", "passed through")
    monkeypatch.setenv("OFFYAI_TEST_SECRET", "must not leak")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must not leak either")
    async with toolbox(own_server_block(env=["OFFYAI_TEST_PASSED"])) as box:
        names = (await box.call(ToolCall("c1", "test__env_names", {}))).text.split()
        value = await box.call(ToolCall("c2", "test__env_value", {"name": "OFFYAI_TEST_PASSED"}))
    assert value.text == "passed through"
    assert "OFFYAI_TEST_SECRET" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    # Python itself sets LC_CTYPE when it coerces a C locale.
    allowed = {*BASE_ENV, *GUARD_ENV, "OFFYAI_TEST_PASSED", "LC_CTYPE"}
    assert set(names) <= allowed, set(names) - allowed


async def test_a_claude_desktop_json_file_adds_its_servers(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {
        "fromjson": {
            "command": sys.executable,
            "args": ["-m", "tests.tools.mcp_test_server", "stdio"],
            "cwd": str(REPO),
            "env": {"OFFYAI_JSON_VALUE": "written in the file",
                    **{name: os.environ.get(name, "") for name in GUARD_ENV}},
        },
        "remote": {"url": "https://mcp.example.com/mcp"},
        "off": {"command": "true", "disabled": True},
    }}))
    async with toolbox(f'[mcp]\nconfig_file = "{config}"\n') as box:
        names = [spec.name for spec in await box.specs()]
        value = await box.call(ToolCall("c1", "fromjson__env_value",
                                        {"name": "OFFYAI_JSON_VALUE"}))
    assert "fromjson__add" in names
    assert not any(name.startswith(("remote__", "off__")) for name in names)
    assert value.text == "written in the file"
    assert box.notes == [
        f"{config}: mcpServers.remote.url must be on this machine (127.0.0.1, ::1 or "
        "localhost): 'mcp.example.com' is not, and nothing may leave it; server ignored"
    ]


async def test_a_broken_json_file_is_one_note(tmp_path: Path) -> None:
    config = tmp_path / "servers.json"
    config.write_text("{not json")
    async with toolbox(f'[mcp]\nconfig_file = "{config}"\n') as box:
        assert "calculator" in [spec.name for spec in await box.specs()]
    assert len(box.notes) == 1 and box.notes[0].startswith(f"mcp.config_file {config} is not")


@pytest.fixture
def no_leftover_servers() -> Iterator[None]:
    before = children()
    yield
    assert not children() - before


async def test_policies_and_a_workspace_list_choose_what_is_offered(no_leftover_servers) -> None:
    config = (
        '[tools]\nenabled = ["calculator", "datetime", "read_file"]\n'
        '[tools.policy]\ncalculator = "deny"\ntest = "allow"\ntest__crash = "deny"\n'
        + own_server_block() + time_block()
    )
    async with toolbox(config) as box:
        names = [spec.name for spec in await box.specs()]
        assert "calculator" not in names and "search_documents" not in names
        assert "test__crash" not in names and "test__add" in names
        assert box.policy("test__add") == "allow" and box.policy("time__convert_time") == "ask"
        denied = await box.call(ToolCall("c1", "test__crash", {}))
        assert denied.is_error and "denied" in denied.text
        assert (await box.call(ToolCall("c2", "test__add", {"a": 1, "b": 1}))).text == "2"
    settings = parse_settings(config + '[tools.workspaces.mcp]\nenabled = ["datetime", "time"]\n')
    async with ToolBox(settings, Workspace.open("mcp")) as box:
        names = [spec.name for spec in await box.specs()]
    assert names == ["datetime", "time__get_current_time", "time__convert_time"]
