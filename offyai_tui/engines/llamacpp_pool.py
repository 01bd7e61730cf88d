"""Embeddings on every core: several single-threaded llama.cpp workers side by side.

One worker with one thread embedded 19-28 chunks/s on the bundled MiniLM while
the second core idled. Giving that worker two threads is not the answer:
llama.cpp's threads meet at a barrier after every layer, and when another
process holds a core (a test run, the UI, a compiler) the waiting thread spins
and the whole batch stalls. Measured here under load: 25 chunks/s on one
thread, 3-5 chunks/s on two. Separate processes with one thread each share
nothing and meet nowhere, so each runs at full speed on a free core and simply
slows down, never stalls, on a busy one.

So a batch of texts is cut into contiguous parts of about equal length, one per
worker, embedded at once and put back in order. The pool has one worker per
physical core (at most :data:`MAX_WORKERS`) for models up to
:data:`MAX_MODEL_BYTES`; a larger embedding model (each worker holds its own
copy) or an explicit ``llamacpp.n_threads_batch`` keeps the single worker with
its threads, as before.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from offyai_tui.engines.llamacpp_client import WorkerSlot

MAX_WORKERS = 4
MAX_MODEL_BYTES = 512 * 2**20
"""Every worker loads the model: past this, memory matters more than speed."""

T = TypeVar("T")


def pool_size(model: Path, cores: int, threads_set: bool) -> int:
    """Workers for the embedding model file ``model`` on ``cores`` physical cores."""
    size = model.stat().st_size if model.is_file() else 0
    if threads_set or size > MAX_MODEL_BYTES:
        return 1
    return max(1, min(cores, MAX_WORKERS))


def split(texts: Sequence[str], parts: int) -> list[list[str]]:
    """Contiguous parts of about equal total length (a text's cost grows with it);
    never an empty part, never more parts than texts."""
    parts = max(1, min(parts, len(texts)))
    if not texts:
        return []
    cumulative = list(itertools.accumulate(len(t) + 1 for t in texts))
    out: list[list[str]] = []
    start = 0
    for p in range(1, parts):
        end = bisect.bisect_left(cumulative, cumulative[-1] * p / parts) + 1
        end = min(max(end, start + 1), len(texts) - (parts - p))
        out.append(list(texts[start:end]))
        start = end
    out.append(list(texts[start:]))
    return out


class EmbedPool:
    """The embedding worker slots: the engine's own first, more started on demand."""

    def __init__(self, first: WorkerSlot, factory: Callable[[], WorkerSlot] = WorkerSlot) -> None:
        self._slots = [first]
        self._factory = factory

    def slots(self, count: int) -> list[WorkerSlot]:
        while len(self._slots) < count:
            self._slots.append(self._factory())
        return self._slots[:count]

    async def map(
        self,
        texts: Sequence[str],
        workers: int,
        call: Callable[[WorkerSlot, list[str]], Awaitable[list[T]]],
    ) -> list[T]:
        """``call(slot, part)`` for each part of ``texts`` at once, results in order.

        If one part fails, the others are cancelled (their workers are told to
        stop by ``call``'s own clean-up) and the error is raised."""
        parts = split(texts, workers)
        tasks = [asyncio.ensure_future(call(slot, part))
                 for slot, part in zip(self.slots(len(parts)), parts)]
        try:
            results: list[Any] = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [value for part in results for value in part]

    def close_extra(self) -> None:
        """Stop every worker but the first (which the engine manages itself)."""
        for slot in self._slots[1:]:
            slot.close()
