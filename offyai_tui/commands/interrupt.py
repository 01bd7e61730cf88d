"""Ctrl+C for long headless work (``offyai index``): a clean stop at once, or an exit now.

Left to ``asyncio.run``, Ctrl+C cancels the main task, and the exit then waits
for every worker thread still running: 41 s while a 50 MB file was being
chunked, and a second Ctrl+C printed a traceback from ``threading``. Inside
:func:`ctrl_c_stops`, the first Ctrl+C asks the work to stop (the indexer
drops the step it awaits, commits what it stored and returns its report, well
within a second) and the second one ends the process on the spot with exit
code 130: the index keeps its last commit, since commits are crash-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

EXIT_CODE = 130
"""What a shell reports for a command ended by Ctrl+C (128 + SIGINT)."""


@contextlib.contextmanager
def ctrl_c_stops(stop: Callable[[], bool]) -> Iterator[list[int]]:
    """Within the block, Ctrl+C calls ``stop`` on the event loop's thread.

    ``stop`` returns whether a clean stop is under way; if not (nothing has
    started yet), the current task is cancelled and the block raises
    ``KeyboardInterrupt``, as without this handler. A second Ctrl+C exits at
    once. The yielded list holds the number of Ctrl+C presses so far.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = [0]
    cancelled = [False]

    def first() -> None:
        if not stop() and task is not None:
            cancelled[0] = True
            task.cancel()

    def handler(signum: int, frame: FrameType | None) -> None:
        presses[0] += 1
        if presses[0] == 1:
            loop.call_soon_threadsafe(first)
        else:
            _exit_now()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl+C as it is
        yield presses
        return
    try:
        yield presses
    except asyncio.CancelledError:
        if cancelled[0]:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_now() -> None:
    """The second Ctrl+C: one line, then leave without waiting for anything."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.write("\r\x1b[2K" if sys.stderr.isatty() else "")
        sys.stderr.write("offyai: stopped at once (the index keeps its last commit)\n")
        sys.stderr.flush()
    os._exit(EXIT_CODE)
