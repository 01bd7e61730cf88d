"""The daemon thread pool that file reads and parses run on."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from concurrent.futures import wait

import pytest

from offyai_tui.rag.threads import DaemonExecutor, in_thread


def _readers() -> int:
    return sum(t.name == "offyai-read" and t.is_alive() for t in threading.enumerate())


def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


async def test_results_and_errors_come_back_through_the_loop() -> None:
    assert await in_thread(lambda a, b: a + b, 2, 3) == 5

    def fails() -> None:
        raise ValueError("bad file")

    with pytest.raises(ValueError, match="bad file"):
        await in_thread(fails)


def test_an_idle_thread_is_reused() -> None:
    pool = DaemonExecutor(idle_seconds=5)
    first = pool.submit(threading.get_ident).result(timeout=5)
    _until(lambda: pool.idle == 1)
    seen = {pool.submit(threading.get_ident).result(timeout=5) for _ in range(20)}
    assert seen == {first}


def test_a_busy_thread_never_delays_another_call() -> None:
    pool = DaemonExecutor(idle_seconds=5)
    release = threading.Event()
    stuck = pool.submit(release.wait, 30)
    try:
        assert pool.submit(lambda: "done").result(timeout=5) == "done"
        assert not stuck.done()
    finally:
        release.set()
    assert stuck.result(timeout=5) is True


def test_idle_threads_end_after_a_while() -> None:
    before = _readers()
    pool = DaemonExecutor(idle_seconds=0.05)
    release = threading.Event()
    calls = [pool.submit(release.wait, 5) for _ in range(4)]
    assert _readers() >= before + 4
    release.set()
    wait(calls, timeout=5)
    _until(lambda: pool.idle == 0 and _readers() <= before)


def test_calls_racing_threads_that_time_out_all_run() -> None:
    pool = DaemonExecutor(idle_seconds=0.001)
    for _ in range(30):
        futures = [pool.submit(lambda n=n: n * n) for n in range(50)]
        assert [f.result(timeout=5) for f in futures] == [n * n for n in range(50)]
        time.sleep(0.001)
    _until(lambda: pool.idle == 0)


def test_the_process_exits_without_waiting_for_an_abandoned_call() -> None:
    script = (
        "import time\n"
        "from offyai_tui.rag.threads import DaemonExecutor\n"
        "pool = DaemonExecutor()\n"
        "pool.submit(time.sleep, 60)\n"
        "pool.submit(time.sleep, 60)\n"
        "print('left', flush=True)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stdout == "left\n", done.stderr
    assert time.monotonic() - started < 20


async def test_a_cancelled_await_leaves_the_call_to_finish_alone() -> None:
    release = threading.Event()
    task = asyncio.ensure_future(in_thread(release.wait, 5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert await in_thread(lambda: "next") == "next"
