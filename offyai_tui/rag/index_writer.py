"""The single writer of a workspace's index: stage changes, then commit them atomically.

See :mod:`offyai_tui.rag.index` for the files and why a commit is crash safe:
the new vector rows are written first (appended, fsynced, see ``rag/vectors.py``),
then one SQLite transaction records how many rows count, with the chunk rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from offyai_tui.rag import fts_text
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import IndexBusy, IndexCorrupt, IndexModelMismatch
from offyai_tui.rag.index_schema import (
    DB_NAME,
    FORMAT_VERSION,
    DocumentRecord,
    StoredChunk,
    connect,
    is_under,
    private_file,
)
from offyai_tui.rag.vectors import FILES, VectorStage, truncate_debris

if TYPE_CHECKING:
    from offyai_tui.rag.index import DocumentIndex

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock
    fcntl = None  # type: ignore[assignment]


def _checkpoint(step: str) -> None:
    """Called between the steps of a commit; tests replace it to simulate a crash."""


class IndexWriter:
    """Stages changes and applies them in one atomic :meth:`commit`.

    Changes go into an open SQLite transaction and a :class:`VectorStage`
    holding only the new vectors (never a copy of the index); nothing is visible
    to searches, or on disk as the current state, before the commit.
    :meth:`rollback` (or a crash) discards them.
    """

    def __init__(self, index: DocumentIndex) -> None:
        self.index = index
        self._lock_file = _acquire(index.directory / "lock")
        self._db = connect(index.directory / DB_NAME)
        self._db.create_function("fts_text", 1, fts_text.index_text, deterministic=True)
        self._stage = VectorStage(None)
        self._pending = False
        self._remove_debris()
        self._refeed_keywords()
        if not index.manifest_is_current():
            index._export_manifest()
        self._begin()

    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self.index.refresh()
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self._identity = (
            EmbeddingIdentity(meta["engine"], meta["model"], int(meta["dim"]))
            if "model" in meta else None
        )
        self._generation = int(meta.get("generation", "0"))
        self._stage = VectorStage(None if self.index.problem else self.index._vectors)
        self._pending = False

    def _refeed_keywords(self) -> None:
        """Index again, as :mod:`.fts_text` folds them, the keywords of chunks stored
        before it (or by another version of it); one transaction of its own, since
        the vectors do not change. Chunks without Greek or Chinese/Japanese text are
        indexed the same either way and are not touched."""
        self._db.create_function("needs_fold", 1, fts_text.needs_change, deterministic=True)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("SELECT value FROM meta WHERE key = 'fts_text'").fetchone()
            if version and version[0] == fts_text.VERSION:
                self._db.execute("ROLLBACK")
                return
            if version is None:
                # Indexed raw: only rows fts_text changes differ, and a 'delete' must
                # repeat exactly what was indexed.
                changed = "FROM chunks WHERE needs_fold(header) OR needs_fold(body)"
                self._db.execute(
                    "INSERT INTO chunks_fts(chunks_fts, rowid, header, body) "
                    f"SELECT 'delete', id, header, body {changed}"
                )
            else:
                changed = "FROM chunks"
                self._db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all')")
            self._db.execute(
                "INSERT INTO chunks_fts(rowid, header, body) "
                f"SELECT id, fts_text(header), fts_text(body) {changed}"
            )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('fts_text', ?)",
                             (fts_text.VERSION,))
            self._db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    def _remove_debris(self) -> None:
        """Remove vector files no commit points to, and rows past the committed ones."""
        meta = self.index.meta()
        epoch = meta.get("vector_epoch")
        current = (
            {f"vectors.{epoch}.f32", f"vectors.{epoch}.ids"} if epoch is not None
            else {f"vectors.{meta.get('generation', '0')}.faiss"}
        )
        for entry in self.index.directory.iterdir():
            stale = (FILES.match(entry.name) and entry.name not in current) or (
                entry.name.startswith(".vectors.") and entry.name.endswith(".tmp")
            )
            if stale:
                with contextlib.suppress(OSError):
                    entry.unlink()
        if epoch is not None and "dim" in meta:
            # From the committed meta (read under the lock), never from the reader's
            # view, which may predate another process's commits.
            truncate_debris(
                self.index.directory, int(epoch), int(meta["dim"]),
                int(meta.get("vector_rows", "0")),
            )

    @property
    def identity(self) -> EmbeddingIdentity | None:
        return self._identity

    def reset(self, identity: EmbeddingIdentity) -> None:
        """Drop every vector and adopt ``identity``; chunks and documents stay.

        The caller then gives a new vector to every stored chunk with
        :meth:`put_vectors` before committing (a commit refuses otherwise).
        """
        self._stage.reset(identity.dim)
        self._set_identity(identity)

    def clear(self) -> None:
        """Remove every document, chunk, vector and root."""
        self._db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all')")
        self._db.execute("DELETE FROM chunks")
        self._db.execute("DELETE FROM documents")
        self._db.execute("DELETE FROM roots")
        if self._stage.dim is not None:
            self._stage.reset(self._stage.dim)
        self._pending = True

    def _set_identity(self, identity: EmbeddingIdentity) -> None:
        for key, value in (
            ("format", str(FORMAT_VERSION)), ("engine", identity.engine),
            ("model", identity.model), ("dim", str(identity.dim)),
        ):
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self._identity = identity
        self._pending = True

    def remove_document(self, path: str) -> int:
        """Remove a document and its chunks; returns how many chunks went."""
        gone = self._delete_chunks(path, 0)
        self._db.execute("DELETE FROM documents WHERE path = ?", (path,))
        return gone

    def truncate_document(self, record: DocumentRecord, keep: int) -> int:
        """Keep a document's first ``keep`` chunks with their vectors (a large file's
        chunks that are made again unchanged: see ``bigfile``), drop the rest, and
        write ``record`` (status ``partial``) for the chunks kept; returns how many went."""
        gone = self._delete_chunks(record.path, keep)
        self._write_record(record, keep)
        return gone

    def _delete_chunks(self, path: str, first_ordinal: int) -> int:
        """Delete a document's chunks from ``first_ordinal`` on, with their keywords
        and vectors."""
        where = "FROM chunks WHERE path = ? AND ordinal >= ?"
        ids = [r[0] for r in self._db.execute(f"SELECT id {where}", (path, first_ordinal))]
        if ids and self._stage.usable:
            self._stage.remove(ids)
        self._db.execute(
            "INSERT INTO chunks_fts(chunks_fts, rowid, header, body) "
            f"SELECT 'delete', id, fts_text(header), fts_text(body) {where}",
            (path, first_ordinal),
        )
        self._db.execute(f"DELETE {where}", (path, first_ordinal))
        self._pending = True
        return len(ids)

    def put_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk] | Sequence[StoredChunk],
        vectors: np.ndarray,
        identity: EmbeddingIdentity,
    ) -> list[int]:
        """Replace ``record.path`` with these chunks and their vectors; returns chunk ids.

        Raises:
            IndexModelMismatch: the vectors come from another model than the index's.
        """
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        self._adopt_identity(identity)
        self.remove_document(record.path)
        ids = self._insert_chunks(record.path, 0, chunks, vectors)
        self._write_record(record, len(ids))
        return ids

    def begin_document(self, record: DocumentRecord) -> None:
        """Start storing a document in parts (a large file, see ``bigfile``): its old
        chunks go and ``record`` (status ``partial``) is written with none yet."""
        self.remove_document(record.path)
        self._write_record(record, 0)

    def add_chunks(
        self,
        record: DocumentRecord,
        first_ordinal: int,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        identity: EmbeddingIdentity,
    ) -> list[int]:
        """Append the next part of a document begun with :meth:`begin_document`.

        ``record`` is written again with the count so far, so every commit leaves
        a row that matches the chunks stored; the last part's record says
        ``indexed``. Returns the new chunk ids.
        """
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        self._adopt_identity(identity)
        ids = self._insert_chunks(record.path, first_ordinal, chunks, vectors)
        self._write_record(record, first_ordinal + len(ids))
        return ids

    def end_document(self, record: DocumentRecord, chunks: int) -> None:
        """Write the final record of a document stored in parts (``chunks`` in all)."""
        self._write_record(record, chunks)

    def _adopt_identity(self, identity: EmbeddingIdentity) -> None:
        """Take ``identity`` for an empty index; refuse vectors of another model."""
        if self._identity is None or (self._identity != identity and self._is_empty()):
            self._stage.reset(identity.dim)
            self._set_identity(identity)
        elif self._identity != identity:
            raise IndexModelMismatch(self._identity.describe(), identity.describe())
        if not self._stage.usable:
            raise IndexCorrupt(self.index.problem or "the index has no vectors; re-embed it")

    def _insert_chunks(
        self,
        path: str,
        first_ordinal: int,
        chunks: Sequence[Chunk] | Sequence[StoredChunk],
        vectors: np.ndarray,
    ) -> list[int]:
        ids = []
        for ordinal, chunk in enumerate(chunks, first_ordinal):
            if isinstance(chunk, Chunk):
                header, body, heading = chunk.header(), chunk.text, chunk.heading_path
                overlap = chunk.overlap_chars
            else:
                header, body, heading, overlap = chunk.header, chunk.text, chunk.heading_path, 0
            cursor = self._db.execute(
                "INSERT INTO chunks (path, ordinal, header, body, heading, title, line_start, "
                "line_end, page_start, page_end, tokens, overlap_chars) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (path, ordinal, header, body, json.dumps(list(heading), ensure_ascii=False),
                 chunk.title, chunk.line_start, chunk.line_end, chunk.page_start,
                 chunk.page_end, chunk.tokens, overlap),
            )
            chunk_id = int(cursor.lastrowid)
            self._db.execute(
                "INSERT INTO chunks_fts(rowid, header, body) VALUES (?, ?, ?)",
                (chunk_id, fts_text.index_text(header), fts_text.index_text(body)),
            )
            ids.append(chunk_id)
        if ids and self._stage.usable:
            self._stage.add(ids, vectors)
        return ids

    def put_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Give stored chunks their vectors (re-embedding after :meth:`reset`)."""
        if not self._stage.usable:
            raise RuntimeError("reset() the index before adding vectors to stored chunks")
        self._stage.add(ids, vectors)
        self._pending = True

    def put_skipped(self, record: DocumentRecord) -> None:
        """Record a file that could not be indexed (its old chunks, if any, stay)."""
        if self._db.execute("SELECT 1 FROM documents WHERE path = ?", (record.path,)).fetchone():
            self._db.execute(
                "UPDATE documents SET status = ?, reason = ? WHERE path = ?",
                (record.status, record.reason, record.path),
            )
        else:
            self._write_record(record, 0)
        self._pending = True

    def put_root(self, path: str) -> None:
        """Remember a file or folder the user added; exclusions at or under it end.

        Roots stay a minimal set: a path inside a root is not stored again, and
        roots inside a new one are dropped (the new one's walk covers them).
        """
        self._drop_roots(path, excluded=True)
        roots = [r[0] for r in self._db.execute("SELECT path FROM roots WHERE excluded = 0")]
        if not any(is_under(path, root) for root in roots):
            self._drop_roots(path, excluded=False)
            self._db.execute("INSERT INTO roots VALUES (?, 0, ?)", (path, time.time()))
        self._pending = True

    def remove_root(self, path: str) -> None:
        """Forget roots at or under ``path``; if it lies inside another root, exclude
        it, so walking that root no longer brings it back."""
        self._drop_roots(path, excluded=None)
        roots = [r[0] for r in self._db.execute("SELECT path FROM roots WHERE excluded = 0")]
        if any(is_under(path, root) for root in roots):
            self._db.execute(
                "INSERT OR REPLACE INTO roots VALUES (?, 1, ?)", (path, time.time())
            )
        self._pending = True

    def _drop_roots(self, path: str, excluded: bool | None) -> None:
        for (stored,) in self._db.execute("SELECT path FROM roots").fetchall():
            if is_under(stored, path):
                sql = "DELETE FROM roots WHERE path = ?"
                if excluded is not None:
                    sql += f" AND excluded = {int(excluded)}"
                self._db.execute(sql, (stored,))

    def touch(self, path: str) -> None:
        """Mark an unchanged document as seen now (status back to indexed)."""
        self._db.execute(
            "UPDATE documents SET status = 'indexed', reason = '' WHERE path = ?", (path,)
        )
        self._pending = True

    def _write_record(self, record: DocumentRecord, chunks: int) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.path, record.kind, record.size, record.sha256, record.lines, record.pages,
             chunks, record.title, json.dumps(record.notes, ensure_ascii=False),
             record.indexed_at or time.time(), record.status, record.reason),
        )
        self._pending = True

    def _is_empty(self) -> bool:
        return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0

    @property
    def pending(self) -> bool:
        return self._pending

    def commit(self) -> None:
        """Make the staged changes the index's state, atomically; then keep writing."""
        if not self._pending:
            return
        generation = self._generation + 1
        chunks = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        held = self._stage.count() if self._stage.usable else 0
        if held != chunks:
            raise RuntimeError(f"refusing to commit {held} vectors for {chunks} chunks")
        directory = self.index.directory
        written = self._stage.write(directory) if self._stage.usable else None
        _checkpoint("vectors-written")
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),)
        )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
        if written is not None:
            for key, value in (("vector_epoch", written.epoch), ("vector_rows", written.rows)):
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))
            if written.new_epoch:
                self._db.execute("DELETE FROM dead_vectors")
            self._db.executemany(
                "INSERT INTO dead_vectors VALUES (?)", [(row,) for row in written.dead]
            )
        self._db.execute("COMMIT")
        _checkpoint("committed")
        if written is not None and written.new_epoch:
            for entry in directory.iterdir():
                match = FILES.match(entry.name)
                if match and (match.group(2) == "faiss" or int(match.group(1)) != written.epoch):
                    with contextlib.suppress(OSError):
                        entry.unlink()
        self.index._export_manifest()
        self._begin()

    def rollback(self) -> None:
        """Discard staged changes."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        self._begin()

    def close(self) -> None:
        """Discard uncommitted changes and release the lock."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        self._db.close()
        _release(self._lock_file)

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _acquire(path: Path) -> IO[bytes]:
    private_file(path)
    handle = open(path, "r+b")  # noqa: SIM115 - held for the writer's lifetime
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise IndexBusy("another indexing run is writing this workspace's index") from None
    return handle


def _release(handle: IO[bytes]) -> None:
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()
