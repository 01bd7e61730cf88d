"""Embeddings on every core: the split of a batch, the pool size, and the real workers.

The pooled engine must give exactly the vectors one worker gives, in the order of
the texts, from separate single-threaded processes that stop with the engine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines import llamacpp
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.llamacpp_pool import (
    MAX_MODEL_BYTES,
    MAX_WORKERS,
    PIECES_PER_WORKER,
    EmbedPool,
    pieces,
    pool_size,
    split,
)
from offyai_tui.settings.config import Settings


@pytest.mark.parametrize("lengths, parts", [
    ([10] * 5, 2), ([100, 1, 1], 2), ([1], 3), ([1, 1, 1], 3), ([300, 1, 1, 1], 3),
    ([50, 50, 10, 10, 80], 2), ([5] * 33, 4),
])
def test_a_batch_splits_into_ordered_non_empty_parts_of_similar_length(
    lengths: list[int], parts: int
) -> None:
    texts = [chr(97 + i % 26) * n for i, n in enumerate(lengths)]
    found = split(texts, parts)
    assert [t for part in found for t in part] == texts
    assert len(found) == min(parts, len(texts)) and all(found)
    sizes = [sum(map(len, part)) for part in found]
    assert max(sizes) - min(sizes) <= max(lengths) + 1
    assert split([], 2) == []


def test_pool_size_follows_cores_model_size_and_an_explicit_thread_count(tmp_path: Path) -> None:
    small = tmp_path / "small.gguf"
    small.write_bytes(b"x" * 100)
    assert pool_size(small, 2, False) == 2
    assert pool_size(small, 64, False) == MAX_WORKERS
    assert pool_size(small, 2, True) == 1  # llamacpp.n_threads_batch set: one worker
    big = tmp_path / "big.gguf"
    with big.open("wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk used
    assert pool_size(big, 2, False) == 1


TEXTS = [
    "A cat sits on the mat.", "Stock markets fell sharply on Monday.",
    "The recipe needs two eggs and a cup of flour.", "Rain is expected tomorrow.",
    "The treaty was signed in 1648 in Münster and Osnabrück.", "Η Αθήνα είναι πρωτεύουσα.",
    "Photosynthesis turns light into chemical energy.",
]


async def test_pooled_workers_embed_exactly_as_one_worker_does(monkeypatch) -> None:
    monkeypatch.setattr(llamacpp, "physical_cores", lambda: 2)
    single_settings = Settings()
    single_settings.llamacpp.n_threads_batch = 1
    single = LlamaCppEngine(single_settings)
    pooled = LlamaCppEngine(Settings())
    try:
        alone = np.asarray(await single.embed(TEXTS))
        together = np.asarray(await pooled.embed(TEXTS))
        assert single._pool.slots(1)[0].current() is not None
        assert len(single._pool._slots) == 1
        workers = [slot.current() for slot in pooled._pool.slots(2)]
        assert all(w is not None for w in workers)
        assert len({w.pid for w in workers if w is not None}) == 2
        assert together.shape == alone.shape == (len(TEXTS), 384)
        assert np.allclose(together, alone, atol=1e-5)
        one = np.asarray(await pooled.embed(TEXTS[:1]))  # a query: one part, same vector
        assert np.allclose(one[0], alone[0], atol=1e-5)
    finally:
        single.close()
        pooled.close()
    assert all(slot.current() is None for slot in pooled._pool.slots(2))


# -- who embeds what: slots stand in for workers, each with its own speed --------------


class Slot:
    """A stand-in worker slot: ``delay`` seconds per text."""

    def __init__(self, name: str, delay: float) -> None:
        self.name, self.delay = name, delay


def make_pool(*slots: Slot) -> EmbedPool:
    rest = iter(slots[1:])
    return EmbedPool(slots[0], factory=lambda: next(rest))  # type: ignore[arg-type]


def test_a_batch_is_cut_into_pieces_for_each_worker_and_whole_for_one() -> None:
    texts = [f"text {i}" for i in range(32)]
    assert pieces(texts, 1) == [texts]
    cut = pieces(texts, 2)
    assert len(cut) == 2 * PIECES_PER_WORKER and all(cut)
    assert [t for piece in cut for t in piece] == texts
    assert pieces(texts[:3], 4) == [[t] for t in texts[:3]]
    assert pieces([], 2) == []


async def test_a_free_worker_takes_the_next_piece_so_a_slow_one_does_less() -> None:
    fast, slow = Slot("fast", 0.002), Slot("slow", 0.02)
    pool = make_pool(slow, fast)
    done: dict[str, int] = {"fast": 0, "slow": 0}

    async def call(slot: Slot, piece: list[str]) -> list[str]:  # type: ignore[override]
        await asyncio.sleep(slot.delay * len(piece))
        done[slot.name] += len(piece)
        return [text.upper() for text in piece]

    texts = [f"t{i}" for i in range(32)]
    assert await pool.map(texts, 2, call) == [t.upper() for t in texts]  # type: ignore[arg-type]
    assert done["fast"] + done["slow"] == 32 and done["fast"] > 2 * done["slow"]


async def test_each_worker_ends_one_batch_before_it_starts_the_next() -> None:
    pool = make_pool(Slot("a", 0.003), Slot("b", 0.004))
    order: list[tuple[str, str]] = []

    async def call(slot: Slot, piece: list[str]) -> list[str]:  # type: ignore[override]
        order.append((slot.name, piece[0][0]))
        await asyncio.sleep(slot.delay * len(piece))
        return piece

    first = [f"1-{i}" for i in range(16)]
    second = [f"2-{i}" for i in range(16)]
    got = await asyncio.gather(pool.map(first, 2, call), pool.map(second, 2, call))  # type: ignore[arg-type]
    assert got == [first, second]
    for name in ("a", "b"):
        batches = [batch for slot, batch in order if slot == name]
        assert batches == sorted(batches) and batches[0] == "1", (name, batches)


async def test_a_failed_piece_stops_the_batch_and_raises() -> None:
    pool = make_pool(Slot("a", 0.001), Slot("b", 0.001))
    started: list[list[str]] = []
    cancelled: list[list[str]] = []

    async def call(slot: Slot, piece: list[str]) -> list[str]:  # type: ignore[override]
        started.append(piece)
        if "t5" in piece:
            await asyncio.sleep(0.01)
            raise RuntimeError("worker died")
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            cancelled.append(piece)
            raise
        return piece

    texts = [f"t{i}" for i in range(32)]
    with pytest.raises(RuntimeError, match="worker died"):
        await pool.map(texts, 2, call)  # type: ignore[arg-type]
    assert len(started) == 2 and any("t5" in piece for piece in started)
    assert cancelled == [piece for piece in started if "t5" not in piece]  # the other's piece
    await asyncio.sleep(0.1)
    assert len(started) == 2  # no piece started after the failure


def test_the_pool_serves_one_event_loop_after_another() -> None:
    pool = make_pool(Slot("a", 0.001), Slot("b", 0.001))

    async def call(slot: Slot, piece: list[str]) -> list[str]:  # type: ignore[override]
        await asyncio.sleep(slot.delay)
        return piece

    async def twice() -> list[list[str]]:
        texts = [f"t{i}" for i in range(12)]
        return await asyncio.gather(pool.map(texts, 2, call), pool.map(texts, 2, call))  # type: ignore[arg-type]

    for _ in range(2):  # the slots' turns of the first loop must not be used by the second
        assert asyncio.run(twice()) == [[f"t{i}" for i in range(12)]] * 2
