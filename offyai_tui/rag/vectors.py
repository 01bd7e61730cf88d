"""The index's vectors on disk: append-only rows, memory-mapped, searched in place.

Files of one *epoch* ``E`` (the meta key ``vector_epoch``)::

    vectors.E.f32   row after row of ``dim`` float32 (unit vectors)
    vectors.E.ids   the chunk id of each row, int64, ascending

Only the first ``vector_rows`` rows (a meta key, committed with the chunk rows in
one SQLite transaction) exist; bytes past them are an interrupted commit's and
the next writer cuts them off. Rows of removed chunks are listed in the
``dead_vectors`` table and masked out of searches. A commit that only adds
appends O(new) bytes; a new epoch (a model change, a cleared index, a format-1
index, or dead rows past a quarter of the file) is written whole under the next
number and becomes current with the same SQLite commit.

Why: rewriting the whole vector file (and cloning it in memory) on every commit
made adding one small file to a million chunks take 18 s and 6 GB; mapping the
file instead of reading it makes loading cost no memory beyond the page cache.
Chunk ids only grow (AUTOINCREMENT), so appended rows keep the ids sorted and a
chunk's row is a binary search away.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILES = re.compile(r"^vectors\.(\d+)\.(f32|ids|faiss)$")
DEAD_SCHEMA = "CREATE TABLE IF NOT EXISTS dead_vectors (row INTEGER PRIMARY KEY);"
COMPACT_FRACTION = 0.25
"""Dead rows past this share of the file make the next commit write a new epoch."""
_BLOCK = 65536
"""Rows copied at a time when a new epoch is written (bounded memory)."""


def matrix_path(directory: Path, epoch: int) -> Path:
    return directory / f"vectors.{epoch}.f32"


def ids_path(directory: Path, epoch: int) -> Path:
    return directory / f"vectors.{epoch}.ids"


class VectorsDamaged(Exception):
    """The committed rows are not all on disk (a file lost or cut short)."""


@dataclass
class VectorView:
    """The committed vectors as read-only maps of the files (no copy in memory).

    ``epoch`` is -1 for a format-1 index read from its FAISS file into memory;
    its first commit writes it in this format.
    """

    dim: int
    epoch: int
    matrix: np.ndarray
    ids: np.ndarray
    dead_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        self.dead = np.zeros(len(self.ids), dtype=bool)
        self.dead[self.dead_rows] = True

    @property
    def rows(self) -> int:
        return len(self.ids)

    @property
    def ntotal(self) -> int:
        """Live vectors (rows of chunks that still exist)."""
        return self.rows - len(self.dead_rows)

    @property
    def d(self) -> int:
        return self.dim

    def rows_of(self, chunk_ids: Iterable[int]) -> dict[int, int]:
        """Live row of each chunk id that has one."""
        wanted = np.asarray(list(chunk_ids), dtype=np.int64)
        if not len(wanted) or not self.rows:
            return {}
        pos = np.searchsorted(self.ids, wanted)
        pos[pos >= self.rows] = 0
        found = (self.ids[pos] == wanted) & ~self.dead[pos]
        return {int(i): int(p) for i, p, ok in zip(wanted, pos, found) if ok}

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, inner product) pairs, best first."""
        if not self.rows or k <= 0:
            return []
        scores = inner_products(self.matrix, query)
        if len(self.dead_rows):
            scores[self.dead_rows] = -np.inf
        k = min(k, self.ntotal)
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < self.rows else np.arange(self.rows)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[r]), float(scores[r])) for r in top if not self.dead[r]][:k]

    def scores(self, query: np.ndarray, chunk_ids: Sequence[int]) -> dict[int, float]:
        rows = self.rows_of(chunk_ids)
        return {i: float(self.matrix[r] @ query) for i, r in rows.items()}


def inner_products(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` by FAISS's SIMD kernel on one thread, in place on the map:
    twice as fast here as numpy's BLAS, whose threads wait on a busy machine."""
    import faiss

    out = np.empty(len(matrix), dtype=np.float32)
    if len(matrix):
        rows = np.ascontiguousarray(matrix, dtype=np.float32)  # a view of the map, no copy
        q = np.ascontiguousarray(query, dtype=np.float32)
        faiss.fvec_inner_products_ny(
            faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(rows), len(q), len(rows)
        )
    return out


def open_view(directory: Path, dim: int, epoch: int, rows: int, dead: np.ndarray) -> VectorView:
    """Map the first ``rows`` rows of epoch ``epoch`` read-only.

    Raises:
        VectorsDamaged: a file is missing or shorter than the committed rows.
    """
    paths = (matrix_path(directory, epoch), ids_path(directory, epoch))
    try:
        sizes = [p.stat().st_size for p in paths]
    except FileNotFoundError as exc:
        raise VectorsDamaged(f"{Path(str(exc.filename)).name} is missing") from None
    if sizes[0] < rows * dim * 4 or sizes[1] < rows * 8:
        raise VectorsDamaged(f"{paths[0].name} holds fewer than its {rows} committed rows")
    if rows == 0:
        return VectorView(dim, epoch, np.zeros((0, dim), np.float32), np.zeros(0, np.int64))
    matrix = np.memmap(paths[0], dtype=np.float32, mode="r", shape=(rows, dim))
    ids = np.memmap(paths[1], dtype=np.int64, mode="r", shape=(rows,))
    return VectorView(dim, epoch, matrix, ids, dead)


def legacy_view(index: object, epoch: int = -1) -> VectorView:
    """A format-1 ``IndexIDMap2(IndexFlatIP)`` as a view (in memory, ids sorted)."""
    import faiss

    ids = faiss.vector_to_array(index.id_map).astype(np.int64)  # type: ignore[attr-defined]
    matrix = index.index.reconstruct_n(0, index.ntotal)  # type: ignore[attr-defined]
    order = np.argsort(ids, kind="stable")
    return VectorView(int(index.d), epoch, matrix[order], ids[order])  # type: ignore[attr-defined]


@dataclass
class Written:
    """What a commit must record in SQLite for the rows just written."""

    epoch: int
    rows: int
    dead: list[int]
    new_epoch: bool


class VectorStage:
    """A writer's staged change to the vectors: rows to append, rows that die,
    or (``rewrite``) a whole new epoch. Holds only the new rows in memory."""

    def __init__(self, base: VectorView | None) -> None:
        self.base = base
        self.dim: int | None = base.dim if base is not None else None
        self.rewrite = base is not None and base.epoch < 0
        self.keep_base = base is not None
        self._ids: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        self._dead: set[int] = set()

    @property
    def usable(self) -> bool:
        return self.dim is not None

    def reset(self, dim: int) -> None:
        """Drop every row, committed or staged: the next commit starts a new epoch."""
        self.dim, self.rewrite, self.keep_base = dim, True, False
        self._ids, self._vectors, self._dead = [], [], set()

    def count(self) -> int:
        base = self.base.ntotal - len(self._dead) if self.keep_base and self.base else 0
        return base + sum(len(i) for i in self._ids)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have {vectors.shape[1]} dimensions, index has {self.dim}")
        self._ids.append(np.asarray(ids, dtype=np.int64))
        self._vectors.append(vectors)

    def remove(self, chunk_ids: Sequence[int]) -> None:
        gone = np.asarray(chunk_ids, dtype=np.int64)
        for n, ids in enumerate(self._ids):
            keep = ~np.isin(ids, gone)
            if not keep.all():
                self._ids[n], self._vectors[n] = ids[keep], self._vectors[n][keep]
        if self.keep_base and self.base is not None:
            self._dead.update(self.base.rows_of(gone.tolist()).values())

    def _new(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim or 0), np.float32)
        ids, vectors = np.concatenate(self._ids), np.concatenate(self._vectors)
        order = np.argsort(ids, kind="stable")
        return ids[order], vectors[order]

    def write(self, directory: Path) -> Written:
        """Put the staged rows on disk (fsynced) without making them current."""
        assert self.dim is not None
        ids, vectors = self._new()
        base = self.base if self.keep_base else None
        appendable = (
            not self.rewrite and base is not None
            and (not base.rows or not len(ids) or ids[0] > base.ids[-1])
            and len(base.dead_rows) + len(self._dead) <= COMPACT_FRACTION * max(base.rows, 1)
        )
        if appendable and base is not None:
            try:
                _append(matrix_path(directory, base.epoch), base.rows * self.dim * 4, vectors)
                _append(ids_path(directory, base.epoch), base.rows * 8, ids)
            except BaseException:  # a full disk: leave the files as committed, byte for byte
                truncate_debris(directory, base.epoch, self.dim, base.rows)
                raise
            return Written(base.epoch, base.rows + len(ids), sorted(self._dead), False)
        epoch = max(base.epoch if base is not None else 0, _last_epoch(directory)) + 1
        try:
            rows = _write_epoch(directory, epoch, self.dim, base, self._dead, ids, vectors)
        except BaseException:
            for path in (matrix_path(directory, epoch), ids_path(directory, epoch)):
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        return Written(epoch, rows, [], True)


def _last_epoch(directory: Path) -> int:
    numbers = [int(m.group(1)) for p in directory.iterdir() if (m := FILES.match(p.name))]
    return max(numbers, default=0)


def _append(path: Path, committed: int, data: np.ndarray) -> None:
    """Write ``data`` right after the ``committed`` bytes (cutting off any debris)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_size != committed:
            os.ftruncate(fd, committed)
        os.lseek(fd, committed, os.SEEK_SET)
        view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_epoch(
    directory: Path, epoch: int, dim: int, base: VectorView | None, dead: set[int],
    ids: np.ndarray, vectors: np.ndarray,
) -> int:
    """Write the live rows of ``base`` and the new rows, in id order, as ``epoch``."""
    rows = 0
    for path in (matrix_path(directory, epoch), ids_path(directory, epoch)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        _append(path, 0, np.zeros(0, np.uint8))
    tail_ids, tail_vectors = ids, vectors
    if base is not None and base.rows:
        mask = ~base.dead
        if dead:
            mask[np.fromiter(dead, dtype=np.int64)] = False
        for start in range(0, base.rows, _BLOCK):
            keep = mask[start : start + _BLOCK]
            block_ids = np.asarray(base.ids[start : start + _BLOCK])[keep]
            block = np.asarray(base.matrix[start : start + _BLOCK])[keep]
            if len(tail_ids) and len(block_ids):  # merge new rows whose ids come first
                cut = int(np.searchsorted(tail_ids, block_ids[-1]))
                block_ids = np.concatenate([block_ids, tail_ids[:cut]])
                block = np.concatenate([block, tail_vectors[:cut]])
                tail_ids, tail_vectors = tail_ids[cut:], tail_vectors[cut:]
                order = np.argsort(block_ids, kind="stable")
                block_ids, block = block_ids[order], block[order]
            _append(matrix_path(directory, epoch), rows * dim * 4, block)
            _append(ids_path(directory, epoch), rows * 8, block_ids)
            rows += len(block_ids)
    _append(matrix_path(directory, epoch), rows * dim * 4, tail_vectors)
    _append(ids_path(directory, epoch), rows * 8, tail_ids)
    _sync_dir(directory)
    return rows + len(tail_ids)


def _sync_dir(directory: Path) -> None:
    """Make the new files' names durable before SQLite points at them."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def truncate_debris(directory: Path, epoch: int, dim: int, rows: int) -> None:
    """Cut off rows an interrupted commit wrote past the ``rows`` committed ones."""
    if epoch < 0:
        return
    for path, size in ((matrix_path(directory, epoch), rows * dim * 4),
                       (ids_path(directory, epoch), rows * 8)):
        with contextlib.suppress(OSError):
            if path.stat().st_size > size:
                os.truncate(path, size)
