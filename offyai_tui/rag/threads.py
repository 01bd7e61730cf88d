"""Worker threads that nothing waits for once their result is no longer wanted.

Reading and parsing a file, or walking a folder, runs in a worker thread so the
interface never freezes. ``asyncio.to_thread`` uses the loop's default
executor, and ``asyncio.run`` joins that executor's threads on the way out: a
stopped ``offyai index`` then waited for the parse of the file in hand (a large
PDF: a minute). Here each call gets a daemon thread of its own, so a stop
returns at once and the process exits without waiting; an abandoned call
finishes (or dies with the process) on its own. Only reads and parsing run
here, never a write to the index.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")


class DaemonExecutor(Executor):
    """Runs each submitted call on a new daemon thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting side, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="offyai-read", daemon=True).start()
        return future


_EXECUTOR = DaemonExecutor()


def in_thread(function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """``function(*args)`` in a daemon thread, as an awaitable future."""
    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, function, *args)
