"""The parent's side of the llama.cpp worker: spawn, talk, stop, notice death.

A :class:`WorkerProcess` owns one ``llamacpp_worker`` child. A reader thread
turns its reply lines into messages for the asyncio queue of the request they
answer, so the process is not tied to one event loop: the CLI's ``asyncio.run``
calls and the tests' per-test loops can share an engine. When the child's
output ends, every request still waiting gets one ``{"ev": "exit"}`` message
saying how the process died; nothing is left hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offyai_tui.settings import locations
from offyai_tui.util import fileio

TERMINAL = frozenset({"done", "cancelled", "error", "result", "exit"})
"""Events after which a request gets nothing more."""

LOG_LIMIT = 4 << 20
"""The worker log is rotated (one old copy kept) past this size."""

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def log_path() -> Path:
    return locations.cache_dir() / "logs" / "llamacpp.log"


def describe_exit(code: int | None) -> str:
    """``-11`` -> ``"crashed (SIGSEGV)"``: how a worker ended, for the error line."""
    if code is None:
        return "stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        verb = "was killed" if name in {"SIGKILL", "SIGTERM"} else "crashed"
        return f"{verb} ({name})"
    return f"exited with status {code}"


class Request:
    """One request in flight; its replies arrive in order on :meth:`next`."""

    def __init__(self, worker: WorkerProcess, request_id: int) -> None:
        self.worker = worker
        self.id = request_id
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.finished = False

    def deliver(self, message: dict[str, Any]) -> None:
        """Called from the reader thread."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            self._loop.call_soon_threadsafe(self._queue.put_nowait, message)

    async def next(self) -> dict[str, Any]:
        message = await self._queue.get()
        if message.get("ev") in TERMINAL:
            self.finished = True
        return message

    async def result(self) -> dict[str, Any]:
        """Skip to the final message (used by stop and by one-shot requests)."""
        while True:
            message = await self.next()
            if self.finished:
                return message

    def release(self) -> None:
        self.worker.forget(self.id)


class WorkerProcess:
    """One worker child process and the requests it is serving."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[int, Request] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._dead = False
        self.kill_reason = ""
        self.fatal = ""
        self.version = ""
        self.returncode: int | None = None
        self._proc = _spawn()
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        self._reader = threading.Thread(
            target=self._read, name=f"llamacpp-worker-{self._proc.pid}", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return not self._dead and self._proc.poll() is None

    def submit(self, message: dict[str, Any]) -> Request:
        """Send a request; its replies (or an ``exit``) arrive on the returned object."""
        request = Request(self, next(self._ids))
        with self._lock:
            self._pending[request.id] = request
            dead = self._dead
        if dead or not self.send({**message, "id": request.id}):
            request.deliver(self._exit_message())
        return request

    def send(self, message: dict[str, Any]) -> bool:
        line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        stdin = self._proc.stdin
        assert stdin is not None
        with self._write_lock:
            try:
                stdin.write(line)
                stdin.flush()
            except (OSError, ValueError):
                return False
        return True

    def forget(self, request_id: int) -> None:
        with self._lock:
            self._pending.pop(request_id, None)

    def kill(self, reason: str) -> None:
        """End the process now; waiting requests are told ``reason``."""
        if not self._dead:
            self.kill_reason = reason
            self._dead = True
        with contextlib.suppress(OSError):
            self._proc.kill()

    def close(self, timeout: float = 2.0) -> None:
        """Ask the worker to leave (stdin EOF), then kill it if it does not."""
        self._dead = True
        with contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill("closed")
            self._proc.wait()
        self._reader.join(timeout)
        self._finalizer.detach()

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("ev") == "fatal":
                self.fatal = str(message.get("message", ""))
            elif message.get("ev") == "hello":
                self.version = str(message.get("version", ""))
            with self._lock:
                request = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if request is not None:
                request.deliver(message)
        self.returncode = self._proc.wait()
        self._dead = True
        with self._lock:
            waiting = list(self._pending.values())
        for request in waiting:
            request.deliver(self._exit_message())

    def _exit_message(self) -> dict[str, Any]:
        return {
            "ev": "exit",
            "code": self.returncode,
            "reason": self.kill_reason or describe_exit(self.returncode),
            "fatal": self.fatal,
        }


class WorkerSlot:
    """Hands out a live worker, starting a fresh one when the last has died."""

    def __init__(self, factory: Callable[[], WorkerProcess] = WorkerProcess) -> None:
        self._factory = factory
        self._worker: WorkerProcess | None = None
        self._lock = threading.Lock()

    def ensure(self) -> WorkerProcess:
        with self._lock:
            if self._worker is None or not self._worker.alive:
                self._worker = self._factory()
            return self._worker

    def current(self) -> WorkerProcess | None:
        """The live worker, if any (never starts one)."""
        worker = self._worker
        return worker if worker is not None and worker.alive else None

    def close(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()


def _spawn() -> subprocess.Popen[bytes]:
    """Start a worker; its stderr goes to the log, or nowhere if the log cannot be
    written (a read-only data dir must not stop answers, only the log)."""
    log = log_path()
    try:
        fileio.ensure_private_dir(log.parent)
        with contextlib.suppress(OSError):
            if log.stat().st_size > LOG_LIMIT:
                os.replace(log, log.with_name(log.name + ".1"))
        stderr_cm: Any = fileio.open_private_append(log)
    except OSError:
        stderr_cm = open(os.devnull, "wb")  # noqa: SIM115 - closed by the with below
    extra: dict[str, Any] = {}
    if os.name == "posix":
        extra["start_new_session"] = True  # the terminal's Ctrl+C is for the parent
    else:  # pragma: no cover - Windows
        extra["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    with stderr_cm as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "offyai_tui.engines.llamacpp_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=_PACKAGE_ROOT,  # -m imports from here: the same package as ours
            close_fds=True,
            **extra,
        )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(1)
