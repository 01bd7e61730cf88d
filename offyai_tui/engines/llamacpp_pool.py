"""Embeddings on every core: several single-threaded llama.cpp workers side by side.

One worker with one thread embedded 19-28 chunks/s on the bundled MiniLM while
the second core idled. Giving that worker two threads is not the answer:
llama.cpp's threads meet at a barrier after every layer, and when another
process holds a core (a test run, the UI, a compiler) the waiting thread spins
and the whole batch stalls. Measured here under load: 25 chunks/s on one
thread, 3-5 chunks/s on two. Separate processes with one thread each share
nothing and meet nowhere, so each runs at full speed on a free core and simply
slows down, never stalls, on a busy one.

So a batch of texts is cut into small contiguous pieces that the workers take
in turn as each becomes free, and the vectors are put back in order. Handing
each worker one fixed half left the one that finished first idle until the
other was done (6% of a 100-chunk run on two free cores). Each worker finishes
the pieces of one batch before it takes those of the next (batches land in the
order they were sent, as the indexer stores them). The pool has one worker per
physical core (at most :data:`MAX_WORKERS`) for models up to
:data:`MAX_MODEL_BYTES`; a larger embedding model (each worker holds its own
copy) or an explicit ``llamacpp.n_threads_batch`` keeps the single worker with
its threads, as before.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

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


PIECES_PER_WORKER = 4
"""A batch is cut into about this many pieces per worker: small enough that the
workers end a batch together, large enough that a request's own cost (a round
trip, the vectors as JSON) stays small beside the embedding."""


def pieces(texts: Sequence[str], workers: int) -> list[list[str]]:
    """The pieces of one batch for ``workers`` workers (one piece for one worker)."""
    if workers <= 1:
        return split(texts, 1)
    return split(texts, workers * PIECES_PER_WORKER)


class EmbedPool:
    """The embedding worker slots: the engine's own first, more started on demand."""

    def __init__(self, first: WorkerSlot, factory: Callable[[], WorkerSlot] = WorkerSlot) -> None:
        self._slots = [first]
        self._factory = factory
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]]
        self._turns = weakref.WeakKeyDictionary()

    def slots(self, count: int) -> list[WorkerSlot]:
        while len(self._slots) < count:
            self._slots.append(self._factory())
        return self._slots[:count]

    def _turn(self, slot: WorkerSlot) -> asyncio.Lock:
        """The slot's turn: held by one batch while it has pieces left (FIFO). One per
        event loop, since a lock belongs to the loop it was first contended in."""
        turns = self._turns.setdefault(asyncio.get_running_loop(), {})
        return turns.setdefault(id(slot), asyncio.Lock())

    async def map(
        self,
        texts: Sequence[str],
        workers: int,
        call: Callable[[WorkerSlot, list[str]], Awaitable[list[T]]],
    ) -> list[T]:
        """``call(slot, piece)`` for the pieces of ``texts``, each slot taking the next
        piece when its last is done; the results in the order of the texts.

        If one piece fails, the slots' other pieces are cancelled (their workers are
        told to stop by ``call``'s own clean-up) and the error is raised."""
        cut = pieces(texts, workers)
        if not cut:
            return []
        results: list[list[T] | None] = [None] * len(cut)
        waiting = deque(range(len(cut)))

        async def feed(slot: WorkerSlot) -> None:
            async with self._turn(slot):
                while waiting:
                    index = waiting.popleft()
                    results[index] = await call(slot, cut[index])

        tasks = [asyncio.ensure_future(feed(slot))
                 for slot in self.slots(min(max(1, workers), len(cut)))]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            waiting.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [value for part in results if part is not None for value in part]

    def close_extra(self) -> None:
        """Stop every worker but the first (which the engine manages itself)."""
        for slot in self._slots[1:]:
            slot.close()
