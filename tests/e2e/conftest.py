"""Fixtures for tests that run the real ``offyai`` binary (in tmux or as a subprocess).

Every test gets an ``OFFYAI_HOME`` of its own (the suite's autouse fixture) and an
empty ``HOME``, both passed to the command through a clean environment, so what
the app writes can be checked file by file. The embedded llama.cpp engine answers
because nothing listens on Ollama's and llamafile's default ports; if something
does on this machine, the config points those engines at a closed port instead.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from offyai_tui.chat import ChatMessage, read_transcript
from tests.tmux import OFFYAI, TmuxSession, base_env

WORKSPACE = "default"
READY_TIMEOUT = 45.0
"""Generous: the machine is shared and a model may be loading elsewhere."""
ANSWER_TIMEOUT = 45.0
STATS_LINE = re.compile(r"\d+ tokens · [\d.]+ tok/s")
"""The line under a finished answer."""
WORKER_MODULE = "offyai_tui.engines.llamacpp_worker"
ENDED = frozenset({"complete", "stopped", "error"})


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(home: Path, text: str = "", mode: int = 0o600) -> Path:
    """``config.toml`` with one llama.cpp thread (the machine is shared) plus ``text``.

    Engines whose default port is taken on this machine are pointed at a closed
    port, so detection still falls back to the embedded engine.
    """
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = ["[llamacpp]", "n_threads = 1", ""]
    if port_in_use(11434) and "[ollama]" not in text:
        lines += ["[ollama]", f'host = "127.0.0.1:{closed_port()}"', ""]
    if port_in_use(8080) and "[[openai]]" not in text:
        url = f"http://127.0.0.1:{closed_port()}/v1"
        lines += ["[[openai]]", 'name = "llamafile"', f'url = "{url}"', ""]
    config.write_text("\n".join(lines) + text, encoding="utf-8")
    os.chmod(config, mode)
    return config


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """An empty ``HOME`` for the command: nothing may appear in it."""
    home = tmp_path / "user"
    home.mkdir()
    return home


@pytest.fixture
def app_home(offyai_home: Path) -> Path:
    """``OFFYAI_HOME`` with the test config written."""
    write_config(offyai_home)
    return offyai_home


def chats_dir(home: Path, workspace: str = WORKSPACE) -> Path:
    return home / "data" / "workspaces" / workspace / "chats"


def transcripts(home: Path, workspace: str = WORKSPACE) -> list[Path]:
    folder = chats_dir(home, workspace)
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def events(path: Path) -> list[dict[str, Any]]:
    """Every line of a transcript, parsed (fails on a corrupt line)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def wait_messages(
    home: Path,
    condition: Callable[[list[ChatMessage]], bool],
    what: str,
    timeout: float = ANSWER_TIMEOUT,
) -> tuple[Path, list[ChatMessage]]:
    """Poll the (single) transcript on disk until ``condition(messages)`` holds."""
    deadline = time.monotonic() + timeout
    messages: list[ChatMessage] = []
    while time.monotonic() < deadline:
        files = transcripts(home)
        if files:
            messages = read_transcript(files[-1]).messages
            if condition(messages):
                return files[-1], messages
        time.sleep(0.2)
    shown = [(m.role, m.status, m.content[:40]) for m in messages]
    raise AssertionError(f"no {what} on disk after {timeout:.0f}s; messages: {shown}")


def answered(count: int) -> Callable[[list[ChatMessage]], bool]:
    """``count`` assistant messages, the last one ended.

    On disk an answer still streaming reads as ``interrupted`` (checkpoints only),
    so only the final statuses count.
    """

    def condition(messages: list[ChatMessage]) -> bool:
        answers = [m for m in messages if m.role == "assistant"]
        return len(answers) >= count and answers[-1].status in ENDED

    return condition


def start_tui(app_home: Path, user_home: Path, *args: str, **env: str | Path) -> TmuxSession:
    """``offyai`` in a 100x30 tmux pane with a clean environment."""
    return TmuxSession(
        [str(OFFYAI), *args], base_env(user_home, OFFYAI_HOME=app_home, **env), 100, 30
    )


def wait_ready(tui: TmuxSession, model: str = "smollm2-135m-instruct") -> str:
    """Wait until the status bar names the model and shows the context meter.

    The status bar can be drawn while the screen is still mounting; a short
    pause lets the prompt take focus before the test starts typing.
    """
    tui.wait_until(
        lambda s: model in s and "ctx " in s, f"status bar naming {model}", READY_TIMEOUT
    )
    time.sleep(0.5)
    return tui.screen()


def set_parameter(tui: TmuxSession, name: str, value: str) -> None:
    tui.submit(f"/set parameter {name} {value}")
    tui.wait_for(f"{name} set to {value}")


def workers(tui: TmuxSession) -> list[int]:
    """Pids of the app's llama.cpp worker processes."""
    found = []
    for process in tui.descendants():
        try:
            if WORKER_MODULE in " ".join(process.cmdline()):
                found.append(process.pid)
        except psutil.Error:  # it exited while we looked
            continue
    return found


def words(text: str, minimum: int = 4) -> list[str]:
    """Alphabetic words of ``text`` (for finding an answer on screen)."""
    return [w for w in re.findall(r"[A-Za-z]+", text) if len(w) >= minimum]


def run_offyai(
    args: list[str],
    app_home: Path,
    user_home: Path,
    *,
    stdin: str | None = None,
    timeout: float = 60.0,
    **env: str | Path,
) -> subprocess.CompletedProcess[str]:
    """Run ``offyai ARGS`` to completion with a clean environment."""
    return subprocess.run(
        [str(OFFYAI), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base_env(user_home, OFFYAI_HOME=app_home, **env),
        cwd=user_home,
    )


@pytest.fixture
def tui_sessions() -> Iterator[list[TmuxSession]]:
    """Sessions a test opens outside a ``with`` block; all are killed at the end."""
    sessions: list[TmuxSession] = []
    yield sessions
    for session in sessions:
        session.kill()
