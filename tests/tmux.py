"""Drive the real ``offyai`` binary in a real terminal (tmux) for end-to-end tests."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed")
    return tmux


class TmuxSession:
    """One detached tmux session running a command at a fixed size."""

    def __init__(self, command: list[str], env: dict[str, str], width: int = 100, height: int = 30):
        self.tmux = require_tmux()
        self.name = f"offyai-test-{uuid.uuid4().hex[:8]}"
        self.socket = f"offyai-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"cd {shlex.quote(str(REPO))} && env {exports} {shlex.join(command)}"
        self._tmux(
            "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell
        )
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen after {timeout:.0f}s:\n{screen}")

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())

    def kill(self) -> None:
        self._tmux("kill-server")


def offyai_env(home: Path) -> dict[str, str]:
    env = {
        "OFFYAI_HOME": str(home),
        "TERM": "xterm-256color",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "OFFYAI_NETGUARD": os.environ.get("OFFYAI_NETGUARD", ""),
        "OFFYAI_NETGUARD_LOG": os.environ.get("OFFYAI_NETGUARD_LOG", ""),
        "OFFYAI_MODEL_CACHE": os.environ.get("OFFYAI_MODEL_CACHE", ""),
        "COLORTERM": "truecolor",
    }
    return {k: v for k, v in env.items() if v}
