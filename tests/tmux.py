"""Drive the real ``offyai`` binary in a real terminal (tmux) for end-to-end tests.

Each :class:`TmuxSession` runs on its own tmux server (``-L`` socket), so tests
never see each other's panes, and the command runs with a clean environment
(``env -i``) plus what the test passes: the app sees exactly the ``HOME``,
``OFFYAI_HOME`` and offline-guard variables the test chose.

The pane runs a small shell that starts the command and writes its exit status
to a file: tmux itself sometimes marks a pane dead without recording a status
(when the terminal closes before the process is reaped), and tests assert on it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
OFFYAI = REPO / ".venv" / "bin" / "offyai"
if not OFFYAI.exists():  # an installed checkout without the Makefile's venv
    OFFYAI = Path(shutil.which("offyai") or OFFYAI)


def require_tmux() -> str:
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.skip("tmux is not installed")
    return tmux


class TmuxSession:
    """One detached tmux session running a command at a fixed size.

    Use as a context manager: leaving it kills the tmux server and, if it is
    still alive, the command it started (by pid, nothing else).
    """

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        width: int = 100,
        height: int = 30,
        cwd: Path = REPO,
    ) -> None:
        self.tmux = require_tmux()
        self.name = f"offyai-test-{uuid.uuid4().hex[:8]}"
        self.socket = f"offyai-{uuid.uuid4().hex[:8]}"
        self.command = list(command)
        self._state = Path(tempfile.mkdtemp(prefix="offyai-tmux-"))
        self._status = self._state / "status"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # ``trap : INT`` keeps the shell alive through a Ctrl+C meant for the
        # command (a handler, unlike an ignore, is not inherited by the command).
        shell = (
            f"trap : INT; cd {shlex.quote(str(cwd))} && "
            f"env -i {exports} {shlex.join(self.command)}; "
            f"echo $? > {shlex.quote(str(self._status))}"
        )
        # One tmux call: the pane must stay after exit even if the command is instant.
        self._tmux(
            "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
            "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell,
        )  # fmt: skip
        self.pid = self._command_pid()
        """The command's pid (the pane's shell runs it as its only child)."""

    def __enter__(self) -> TmuxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(
            [self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return result.stdout

    def _format(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.name, fmt).strip()

    def _command_pid(self, timeout: float = 5.0) -> int:
        shell_pid = self.pane_pid()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                children = psutil.Process(shell_pid).children()
            except psutil.NoSuchProcess:
                break
            if children:
                return children[0].pid
            if self._status.exists():
                break
            time.sleep(0.01)
        return shell_pid  # the command was over before we looked

    # ------------------------------------------------------------------ reading

    def screen(self) -> str:
        """The visible pane as plain text (no colours).

        Once the command has exited, tmux may scroll lines into the history;
        read a pane while it runs when the layout matters.
        """
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def pane_pid(self) -> int:
        return int(self._format("#{pane_pid}"))

    def pane_tty(self) -> str:
        """The pane's terminal device (``/dev/pts/N``), e.g. for ``stty -F``."""
        return self._format("#{pane_tty}")

    def pane_title(self) -> str:
        """The title programs set with OSC 0/2 (tmux starts it as the host name)."""
        return self._format("#{pane_title}")

    def dead(self) -> bool:
        """True once the command has exited (the pane stays, ``remain-on-exit``)."""
        return self._format("#{pane_dead}") == "1"

    def exit_status(self) -> int | None:
        """Exit status of the command; ``None`` while it runs.

        As a shell reports it: a command ended by signal N gives ``128 + N``.
        """
        try:
            text = self._status.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    # ------------------------------------------------------------------ waiting

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """Wait until ``text`` is on screen; fail with the screen if it never is."""
        return self.wait_until(lambda screen: text in screen, f"{text!r} on screen", timeout)

    def wait_until(
        self, condition: Callable[[str], bool], what: str, timeout: float = 60.0
    ) -> str:
        """Wait until ``condition(screen)`` holds; fail early if the command died."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            if self.dead():
                screen = self.screen()
                if condition(screen):
                    return screen
                raise AssertionError(f"the command exited before {what}:\n{screen}")
            time.sleep(0.15)
        raise AssertionError(f"no {what} after {timeout:.0f}s:\n{screen}")

    def wait_dead(self, timeout: float = 20.0) -> int | None:
        """Wait for the command to exit; returns its exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.1)
        raise AssertionError(
            f"the command (pid {self.pid}) still runs after {timeout:.0f}s:\n{self.screen()}"
        )

    # ------------------------------------------------------------------ input

    def send(self, *keys: str) -> None:
        """Keys in tmux notation (``Enter``, ``C-p``, ``F3``, ``Escape``)."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        """Literal text, as if typed."""
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def send_bytes(self, data: bytes) -> None:
        """Raw bytes as the terminal would send them, in one tmux command (a burst).

        ``send-keys -H`` queues every byte before the pane reads any, so the
        app typically gets them in one read: a paste without bracketed paste,
        or keys typed ahead over a slow SSH link.
        """
        self._tmux("send-keys", "-t", self.name, "-H", *(f"{b:02x}" for b in data))

    def set_option(self, *args: str) -> None:
        """A tmux server option, e.g. ``set_option("set-clipboard", "on")``."""
        self._tmux("set-option", "-g", *args)

    def buffer(self) -> str:
        """The newest paste buffer (where tmux keeps what an app copied with OSC 52)."""
        return self._tmux("show-buffer")

    def paste(self, text: str) -> None:
        """Paste ``text`` as a terminal does: bracketed if the app asked for it."""
        buffer = f"paste-{uuid.uuid4().hex[:8]}"
        subprocess.run([self.tmux, "-L", self.socket, "load-buffer", "-b", buffer, "-"],
                       input=text.encode(), capture_output=True, timeout=30, check=True)
        self._tmux("paste-buffer", "-p", "-d", "-b", buffer, "-t", self.name)

    def submit(self, text: str) -> None:
        self.type(text)
        time.sleep(0.1)  # let the app take the text before Enter arrives
        self.send("Enter")

    # ------------------------------------------------------------------ processes

    def descendants(self) -> list[psutil.Process]:
        """Live processes started by the command (e.g. the llama.cpp worker)."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """Stop the tmux server; then make sure the command we started is gone."""
        self._tmux("kill-server")
        kill_if_alive(self.pid)
        shutil.rmtree(self._state, ignore_errors=True)


def kill_if_alive(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a process this test started, if it still exists and is not a zombie."""
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting to be reaped has already exited)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until ``pid`` has exited; True if it did within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def base_env(home: Path, **extra: str | Path) -> dict[str, str]:
    """The environment of a command under test: clean, offline guard inherited.

    ``HOME`` is set to ``home`` so anything written to ``~`` lands where a test
    can see it. ``extra`` values override (``HOME=...`` included).
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "OFFYAI_NETGUARD": os.environ.get("OFFYAI_NETGUARD", ""),
        "OFFYAI_NETGUARD_LOG": os.environ.get("OFFYAI_NETGUARD_LOG", ""),
        "OFFYAI_MODEL_CACHE": os.environ.get("OFFYAI_MODEL_CACHE", ""),
        "OFFYAI_HOME": os.environ.get("OFFYAI_HOME", ""),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return {k: v for k, v in env.items() if v}

