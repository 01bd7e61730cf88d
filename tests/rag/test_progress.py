"""Coalescing progress snapshots without losing a phase's first one or the end."""

from __future__ import annotations

from offyai_tui.rag.indexer import IndexProgress, throttle_progress


def test_throttle_passes_phase_changes_and_the_end_and_drops_the_rest() -> None:
    now = [0.0]
    seen: list[IndexProgress] = []
    callback = throttle_progress(seen.append, 1.0, clock=lambda: now[0])
    steps = [
        (0.00, IndexProgress("scanning")),
        (0.01, IndexProgress("indexing", 0, 9)),  # new phase: shown at once
        (0.02, IndexProgress("indexing", 1, 9)),  # too soon
        (0.50, IndexProgress("indexing", 2, 9)),  # too soon
        (1.10, IndexProgress("indexing", 3, 9)),  # a second after the last shown
        (1.20, IndexProgress("committing", 3, 9)),
        (1.21, IndexProgress("done", 9, 9, 40)),  # the end always goes through
    ]
    for at, progress in steps:
        now[0] = at
        callback(progress)
    assert [(p.phase, p.files_done) for p in seen] == [
        ("scanning", 0), ("indexing", 0), ("indexing", 3), ("committing", 3), ("done", 9),
    ]
    assert seen[-1].finished and seen[-1].fraction == 1.0


def test_fraction_of_a_reembedding_counts_chunks() -> None:
    assert IndexProgress("reembedding", chunks_done=30, chunks_total=120).fraction == 0.25
    assert IndexProgress("reembedding", chunks_done=30).fraction == 0.0
    assert not IndexProgress("indexing").finished
