"""Cold start, idle memory and ``make run``, each against a Textual hello-world.

    python bench/startup.py [--rounds 9] [--json]

Every program runs as a real process in a pseudo-terminal of 100x30, started
the way a user starts it, with ``OFFYAI_HOME`` in a temp dir:

- ``offyai`` (the console script); its first frame is the one showing the
  chat screen's empty-conversation hint;
- ``bench/hello_app.py``, a Textual app with one ``Static``: the baseline;
- ``make run`` in the checkout, only if the setup stamp is current (a stale
  stamp means an install, which is not what this measures); make also gets
  ``-o`` on the stamp, so nothing can start an install mid-measurement.

Time to first frame runs from spawning the process until the program's
marker text appears in what it wrote to the terminal. Programs take turns
(one warm-up each first, so every program starts with a warm disk cache).
Python may write bytecode caches, as on a user's machine (the sandbox's
``PYTHONDONTWRITEBYTECODE`` is dropped for the children). Idle RSS is read
with psutil a few seconds after the first frame, for the app process and its
children separately. Quitting is Ctrl+Q, as a user would.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, emit_json, isolated_home, median, record

SIZE = (100, 30)
OFFYAI_MARK = "Ask anything"
HELLO_MARK = "Hello from Textual"
STAMP = ".venv/.offyai-installed"
"""Make's setup stamp; ``-o`` keeps make from ever reinstalling while we measure."""
SETTLE_S = 3.0
FRAME_TIMEOUT_S = 30.0
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


@dataclass
class Start:
    """One start of a program in a pty."""

    first_frame_s: float
    rss_mb: float = 0.0
    children_rss_mb: float = 0.0
    exit_code: int | None = None


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        TERM="xterm-256color", COLORTERM="truecolor", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1])
    )
    return env


class PtyProcess:
    """A process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()

    def pump(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False once the pty is closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        self.output += data
        return bool(data)

    def text(self) -> str:
        return _ESCAPES.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def wait_for(self, mark: str, timeout: float) -> float:
        """Seconds from spawn until ``mark`` was on screen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.pump(0.005):
                break
            if mark in self.text():
                return time.perf_counter() - self.started
        tail = self.text()[-400:]
        raise RuntimeError(f"{mark!r} not shown within {timeout:g} s; output ends: {tail!r}")

    def settle(self, seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            self.pump(0.05)

    def memory(self) -> tuple[float, float]:
        """RSS in MB of the spawned process and of all its descendants."""
        import psutil

        try:
            proc = psutil.Process(self.process.pid)
            own = proc.memory_info().rss
            kids = sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            return 0.0, 0.0
        return own / 2**20, kids / 2**20

    def quit(self) -> int | None:
        """Ctrl+Q, then SIGTERM and SIGKILL to our own process group if it lingers."""
        with contextlib.suppress(OSError):
            os.write(self.master, b"\x11")
        deadline = time.perf_counter() + 10
        while self.process.poll() is None and time.perf_counter() < deadline:
            self.pump(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
        os.close(self.master)
        return self.process.poll()


def start_once(
    command: list[str], mark: str, env: dict[str, str], *, cwd: Path = REPO, settle: float = 0.0
) -> Start:
    """Spawn, time the first frame, optionally measure RSS after ``settle`` s, quit."""
    proc = PtyProcess(command, env, cwd)
    try:
        first = proc.wait_for(mark, FRAME_TIMEOUT_S)
        start = Start(first)
        if settle:
            proc.settle(settle)
            start.rss_mb, start.children_rss_mb = proc.memory()
    finally:
        code = proc.quit()
    start.exit_code = code
    return start


def setup_is_current() -> bool:
    """Whether ``make`` would skip setup (a stale stamp means a reinstall: not measured)."""
    result = subprocess.run(["make", "-q", STAMP], cwd=REPO, capture_output=True)
    return result.returncode == 0


def make_setup_noop_s(env: dict[str, str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(
            ["make", "-s", "-o", STAMP, "setup"],
            cwd=REPO,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return median(times)


def measure(rounds: int) -> dict[str, Any]:
    env = child_env()
    python = sys.executable
    offyai = str(Path(python).with_name("offyai"))
    programs: dict[str, tuple[list[str], str]] = {
        "hello": ([python, str(REPO / "bench" / "hello_app.py")], HELLO_MARK),
        "offyai": ([offyai], OFFYAI_MARK),
    }
    make_ok = setup_is_current()
    if make_ok:
        programs["make_run"] = (["make", "-s", "-o", STAMP, "run"], OFFYAI_MARK)
    for command, mark in programs.values():  # warm-up: disk cache, bytecode
        start_once(command, mark, env)
    starts: dict[str, list[Start]] = {name: [] for name in programs}
    for index in range(rounds):
        names = list(programs)
        names = names[index % len(names) :] + names[: index % len(names)]
        for name in names:
            command, mark = programs[name]
            starts[name].append(start_once(command, mark, env))
    idle = {
        "hello": start_once(*programs["hello"], env, settle=SETTLE_S),
        "offyai": start_once(*programs["offyai"], env, settle=SETTLE_S),
    }
    first = {name: median([s.first_frame_s for s in runs]) for name, runs in starts.items()}
    # Each round's two starts ran back to back, under the same load from the
    # machine's neighbours; the median of those paired ratios moves less from
    # run to run than a ratio of two medians taken over different moments.
    paired = [o.first_frame_s / h.first_frame_s for o, h in zip(starts["offyai"], starts["hello"])]
    ratio = median(paired)
    result: dict[str, Any] = {
        "rounds": rounds,
        "terminal": f"{SIZE[0]}x{SIZE[1]}",
        "first_frame_ms": {name: round(value * 1000) for name, value in first.items()},
        "cold_start_ratio": round(ratio, 2),
        "cold_start_ratio_range": [round(min(paired), 2), round(max(paired), 2)],
        "ratio_of_medians": round(first["offyai"] / first["hello"], 2),
        "cold_start_ok": ratio < 1.5 and first["offyai"] < 1.0,
        "idle_rss_mb": {
            "offyai": round(idle["offyai"].rss_mb, 1),
            "offyai_children": round(idle["offyai"].children_rss_mb, 1),
            "hello": round(idle["hello"].rss_mb, 1),
        },
    }
    if make_ok:
        result["make_setup_noop_ms"] = round(make_setup_noop_s(env, 3) * 1000)
        result["make_run_ratio"] = round(first["make_run"] / first["hello"], 2)
    else:
        result["make_run_skipped"] = "setup stamp older than pyproject.toml/Makefile"
    return result


def print_table(result: dict[str, Any]) -> None:
    frames = result["first_frame_ms"]
    print(f"cold start to first frame ({result['terminal']} pty, median of {result['rounds']})")
    low, high = result["cold_start_ratio_range"]
    print(
        f"  offyai {frames['offyai']} ms, hello-world {frames['hello']} ms: "
        f"x{result['cold_start_ratio']} (median of the rounds' ratios, x{low}-x{high}; "
        "target < 1.5x and < 1000 ms)"
    )
    if "make_run" in frames:
        print(
            f"  make run {frames['make_run']} ms (x{result['make_run_ratio']} of hello-world;"
            f" make setup no-op {result['make_setup_noop_ms']} ms)"
        )
    else:
        print(f"  make run not measured: {result['make_run_skipped']}")
    rss = result["idle_rss_mb"]
    print(
        f"  idle RSS: offyai {rss['offyai']} MB (+{rss['offyai_children']} MB in child "
        f"processes), hello-world {rss['hello']} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    with isolated_home():
        result = measure(args.rounds)
    print_table(result)
    record("startup", result)
    if args.json:
        emit_json(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
