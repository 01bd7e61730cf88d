"""``offyai ask`` as users run it: a real process, the real engines, stdout and stderr.

Every child inherits the offline guard (``PYTHONPATH`` + ``sitecustomize``), so a
connection beyond loopback from any of them fails the test.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import (
    closed_port,
    port_in_use,
    run_offyai,
    words,
    workers,
    write_config,
)
from tests.tmux import OFFYAI, TmuxSession, base_env, wait_gone

pytestmark = pytest.mark.slow

LONG_PROMPT = "Write a very long essay about the history of computers, with many sections."


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_ask_streams_a_haiku_to_stdout(app_home, user_home) -> None:
    process = subprocess.Popen(
        [str(OFFYAI), "ask", "--max-tokens", "32", "Write a haiku about privacy"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=base_env(user_home, OFFYAI_HOME=app_home),
        cwd=user_home,
    )
    assert process.stdout is not None and process.stderr is not None
    reads: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not selector.select(timeout=0.5):
                continue
            data = os.read(process.stdout.fileno(), 65536)
            if not data:
                break
            reads.append(data)
    code = process.wait(timeout=30)
    stderr = process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    text = b"".join(reads).decode()
    assert code == 0, stderr
    assert stderr == ""
    assert words(text, 2), text
    # Printed as it was generated: many separate writes, not one at the end.
    assert len(reads) >= 3, reads


def test_ask_appends_piped_stdin_to_the_prompt(
    app_home,
    user_home,
    ollama_server: str,
) -> None:
    result = run_offyai(
        ["--engine", "ollama", "--model", "smollm2:135m", "ask", "--max-tokens", "8", "summarize"],
        app_home,
        user_home,
        stdin="notes from the Tuesday meeting\n",
        OLLAMA_HOST=ollama_server,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    state = httpx.get(f"{ollama_server}/_test/state", timeout=5, trust_env=False).json()
    chats = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]
    sent = chats[-1]["messages"][-1]
    assert sent["role"] == "user"
    assert sent["content"].startswith("summarize")
    assert "notes from the Tuesday meeting" in sent["content"]


def test_ask_sends_a_temperature_only_when_one_was_set(
    app_home, user_home, ollama_server: str
) -> None:
    """Unset, Ollama applies the model's own temperature (its Modelfile's, else 0.8);
    ``chat.temperature`` in config, then ``--temperature``, are sent when given."""
    def sent_temperature(*flags: str) -> object:
        args = ["--engine", "ollama", "--model", "smollm2:135m", "ask", "--max-tokens", "4"]
        result = run_offyai([*args, *flags, "Hi"], app_home, user_home,
                            OLLAMA_HOST=ollama_server)
        assert result.returncode == 0, result.stderr
        state = httpx.get(f"{ollama_server}/_test/state", timeout=5, trust_env=False).json()
        chat = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]
        return chat.get("options", {}).get("temperature")

    assert sent_temperature() is None
    write_config(app_home, "[chat]\ntemperature = 0.3\n")
    assert sent_temperature() == 0.3
    assert sent_temperature("--temperature", "0.1") == 0.1


def test_ask_with_nothing_to_ask_is_one_line(app_home, user_home) -> None:
    line = _one_line_error(run_offyai(["ask"], app_home, user_home, stdin=""))
    assert "nothing to ask" in line


def test_unknown_model_is_one_line_on_stderr(app_home, user_home) -> None:
    line = _one_line_error(run_offyai(["ask", "--model", "nope", "hi"], app_home, user_home))
    assert "'nope'" in line and "smollm2-135m-instruct" in line


def test_ollama_not_running_names_the_host_and_how_to_start_it(app_home, user_home) -> None:
    env = {}
    port = 11434
    if port_in_use(port):
        port = closed_port()
        env["OLLAMA_HOST"] = f"127.0.0.1:{port}"
    line = _one_line_error(run_offyai(["--engine", "ollama", "ask", "hi"], app_home, user_home,
                                      **env))
    assert f"127.0.0.1:{port}" in line
    assert "ollama serve" in line


def test_ctrl_c_mid_stream_exits_130_without_traceback_or_worker(app_home, user_home) -> None:
    command = [str(OFFYAI), "ask", "--max-tokens", "400", LONG_PROMPT]
    with TmuxSession(command, base_env(user_home, OFFYAI_HOME=app_home), 100, 30) as tui:
        tui.wait_until(lambda s: len(words(s)) >= 8, "a streaming answer", timeout=60)
        worker_pids = workers(tui)
        assert worker_pids
        tui.send("C-c")
        status = tui.wait_dead(timeout=15)
        screen = tui.screen()
        assert status == 130, screen
        assert "Traceback" not in screen
        for pid in worker_pids:
            assert wait_gone(pid), f"llama.cpp worker {pid} outlived Ctrl+C"


def test_index_then_ask_with_documents_cites_the_file(app_home, user_home, tmp_path) -> None:
    """``offyai index DIR`` then ``offyai index`` (no paths) re-checks the saved folder."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "policy.md").write_text(
        "# Retention\n\nTranscripts are kept for 30 days, then deleted.\n"
    )
    first = run_offyai(["index", str(folder)], app_home, user_home, timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 added"), first.stdout

    (folder / "ferry.txt").write_text("The ferry to the island leaves at nine every morning.\n")
    again = run_offyai(["index"], app_home, user_home, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("1 added, 0 updated, 1 unchanged"), again.stdout

    ask = run_offyai(
        ["ask", "--docs", "--max-tokens", "16", "When does the ferry leave?"],
        app_home, user_home, timeout=120,
    )  # fmt: skip
    assert ask.returncode == 0, ask.stderr
    sources = ask.stdout.split("Sources:\n", 1)[1].splitlines()
    assert sources[0].startswith("[1] ferry.txt"), sources


def test_ask_writes_thinking_to_stderr_and_only_the_answer_to_stdout(
    app_home, user_home, ollama_server: str
) -> None:
    """Reasoning goes to stderr (not a terminal here: no dim codes); --hide-thinking drops
    it; --think reaches the wire; tool calls without --tools run nothing and print nothing."""
    args = ["--engine", "ollama", "--model", "thinking-model", "ask", "--max-tokens", "6"]
    shown = run_offyai([*args, "Weather?"], app_home, user_home, OLLAMA_HOST=ollama_server)
    assert shown.returncode == 0, shown.stderr
    assert "réfléchis" in shown.stderr and "\x1b" not in shown.stderr
    assert "réfléchis" not in shown.stdout and shown.stdout.strip()
    hidden = run_offyai([*args, "--hide-thinking", "Weather?"], app_home, user_home,
                        OLLAMA_HOST=ollama_server)
    assert (hidden.returncode, hidden.stderr) == (0, ""), hidden.stderr
    off = run_offyai([*args, "--think", "off", "Weather?"], app_home, user_home,
                     OLLAMA_HOST=ollama_server)
    assert off.returncode == 0 and "réfléchis" not in off.stderr
    state = httpx.get(f"{ollama_server}/_test/state", timeout=5, trust_env=False).json()
    sent = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]
    assert sent["think"] is False
    bad = run_offyai([*args, "--think", "loud", "Weather?"], app_home, user_home,
                     OLLAMA_HOST=ollama_server)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "--think" in bad.stderr
    tools = run_offyai(["--engine", "ollama", "--model", "tools-model", "ask", "--max-tokens",
                        "6", "Weather?"], app_home, user_home, OLLAMA_HOST=ollama_server)
    assert (tools.returncode, tools.stderr) == (0, ""), tools.stderr
    assert "get_weather" not in tools.stdout
