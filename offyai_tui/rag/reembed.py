"""A new embedding model (or damaged vectors): every stored chunk gets a new vector.

Vectors of two models never mix, so the index is reset to the new model and
re-embedded whole before anything is added; a stop or an error rolls all of it
back (half the vectors of a new model must never be committed).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import IndexWriter
from offyai_tui.rag.progress import IndexProgress, IndexReport

if TYPE_CHECKING:
    from offyai_tui.rag.indexer import Indexer


async def realign(
    indexer: Indexer, writer: IndexWriter, identity: EmbeddingIdentity, report: IndexReport
) -> bool:
    """Re-embed every stored chunk with ``identity`` if needed; whether there is
    something to commit (the caller commits)."""
    stored = writer.identity
    if indexer.index.chunk_count() == 0:
        return False
    if stored == identity and not indexer.index.problem:
        return False
    total = indexer.index.chunk_count()
    writer.reset(identity)
    done = 0
    clock = time.monotonic()
    indexer._emit(IndexProgress("reembedding", chunks_total=total))
    try:
        for batch in indexer.index.iter_chunks(indexer.embedder.batch_size):
            if indexer.cancelled:
                writer.rollback()
                return False
            texts = [c.indexed_text() for c in batch]
            vectors = await indexer.until_cancelled(indexer.embedder.embed(texts))
            writer.put_vectors([c.id for c in batch], vectors)
            done += len(batch)
            elapsed = time.monotonic() - clock
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            indexer._emit(IndexProgress("reembedding", 0, 0, done, rate, eta, chunks_total=total))
    except BaseException:
        writer.rollback()  # half the vectors of a new model must never be committed
        raise
    report.reembedded = done
    report.chunks += done
    report.embed_seconds += time.monotonic() - clock
    return True
