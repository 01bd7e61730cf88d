"""Embeddings on every core: the split of a batch, the pool size, and the real workers.

The pooled engine must give exactly the vectors one worker gives, in the order of
the texts, from separate single-threaded processes that stop with the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines import llamacpp
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.llamacpp_pool import MAX_MODEL_BYTES, MAX_WORKERS, pool_size, split
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
