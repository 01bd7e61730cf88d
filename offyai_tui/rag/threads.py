"""Worker threads that nothing waits for once their result is no longer wanted.

Reading and parsing a file, or walking a folder, runs in a worker thread so the
interface never freezes. ``asyncio.to_thread`` uses the loop's default
executor, and ``asyncio.run`` joins that executor's threads on the way out: a
stopped ``offyai index`` then waited for the parse of the file in hand (a large
PDF: a minute). Here the threads are daemons nobody joins, so a stop returns at
once and the process exits without waiting; an abandoned call finishes (or dies
with the process) on its own. Only reads and parsing run here, never a write to
the index.

Threads are kept for a while after their call and reused: starting a thread
waits until it runs, and while other threads hold the GIL (chunking the previous
file) that took up to 8 ms, twice per file, on the event loop's thread (which
also draws the Documents screen): 90-370 ms of loop time indexing 100 small
files, 6-22 ms with reused threads. A call never waits for a busy thread: with
none idle, a new one starts.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 30.0
"""How long a thread waits for another call before it ends."""

_Call = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonExecutor(Executor):
    """Runs each submitted call on an idle daemon thread, or a new one if none is idle."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a call, less the calls queued for them
        # queue.Queue, not SimpleQueue: with several threads waiting on a timeout, a
        # SimpleQueue.get was seen here waiting seconds past its 1 ms timeout
        self._calls: queue.Queue[_Call] = queue.Queue()

    @property
    def idle(self) -> int:
        """Threads waiting for a call (for tests)."""
        return self._idle

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        call: _Call = (future, fn, args, kwargs)
        with self._lock:
            if self._idle > 0:  # queued and counted under one lock: see _work
                self._idle -= 1
                self._calls.put(call)
                return future
        threading.Thread(target=self._work, args=(call,), name="offyai-read", daemon=True).start()
        return future

    def _work(self, call: _Call | None) -> None:
        while call is not None:
            _run(*call)
            call = None  # drop the finished call's arguments and result while idle
            with self._lock:
                self._idle += 1
            try:
                call = self._calls.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    try:  # a call queued for this thread as it timed out: run it
                        call = self._calls.get_nowait()
                    except queue.Empty:
                        self._idle -= 1


def _run(future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # handed to the awaiting side, as an executor does
        future.set_exception(exc)
    else:
        future.set_result(result)


_EXECUTOR = DaemonExecutor()


def in_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``function(*args)`` in a daemon thread, as an awaitable future."""
    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, function, *args)
