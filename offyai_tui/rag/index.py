"""The per-workspace index: FAISS vectors + SQLite chunks, documents and BM25.

Layout of ``workspace.index_dir`` (files 0600, folder 0700)::

    index.sqlite          chunks, documents, FTS5 table, roots, meta (the manifest)
    vectors.<gen>.faiss   IndexIDMap2(IndexFlatIP) over unit vectors, ids = chunk ids
    lock                  held by the one process allowed to write

Crash safety comes from one commit point. A commit first writes the new vector
file under the next generation number (temp file + rename), then commits the
SQLite transaction that records that generation together with the chunk rows.
A crash before the SQLite commit leaves the previous generation, whose vector
file is still there; a crash after it leaves the new one. Files of other
generations are debris, removed by the next writer.

The meta table is the manifest: format version, embedding engine, model and
dimension. The roots table keeps the files and folders a user added (and the
paths removed from inside them), so a re-index after a restart walks them
again and finds new files. Vectors of two models never mix: a writer must ``reset`` the index
(dropping every vector) before it adds vectors of another identity.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from offyai_tui.fileio import atomic_write_bytes, atomic_write_text
from offyai_tui.locations import ensure_private_dir
from offyai_tui.rag.documents import Chunk, location
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import IndexBusy, IndexCorrupt, IndexModelMismatch

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock
    fcntl = None  # type: ignore[assignment]

FORMAT_VERSION = 1
DB_NAME = "index.sqlite"
_VECTORS = re.compile(r"^vectors\.(\d+)\.faiss$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    lines INTEGER NOT NULL, pages INTEGER NOT NULL, chunks INTEGER NOT NULL,
    title TEXT NOT NULL, notes TEXT NOT NULL, indexed_at REAL NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, ordinal INTEGER NOT NULL,
    header TEXT NOT NULL, body TEXT NOT NULL, heading TEXT NOT NULL, title TEXT NOT NULL,
    line_start INTEGER NOT NULL, line_end INTEGER NOT NULL,
    page_start INTEGER, page_end INTEGER, tokens INTEGER NOT NULL, overlap_chars INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS roots (
    path TEXT PRIMARY KEY, excluded INTEGER NOT NULL, added_at REAL NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    header, body, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
"""


def _checkpoint(step: str) -> None:
    """Called between the steps of a commit; tests replace it to simulate a crash."""


@dataclass(frozen=True)
class DocumentRecord:
    """One row of the documents list (also exported to ``documents.json``)."""

    path: str
    kind: str
    size: int
    sha256: str
    lines: int = 0
    pages: int = 0
    chunks: int = 0
    title: str = ""
    notes: list[str] = field(default_factory=list)
    indexed_at: float = 0.0
    status: str = "indexed"
    """``indexed`` or ``skipped`` (then ``reason`` says why)."""
    reason: str = ""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored, with its id; what retrieval returns and prompts cite."""

    id: int
    path: str
    ordinal: int
    header: str
    text: str
    heading_path: tuple[str, ...]
    title: str
    line_start: int
    line_end: int
    page_start: int | None
    page_end: int | None
    tokens: int

    @property
    def location(self) -> str:
        return location(self.line_start, self.line_end, self.page_start, self.page_end)

    def indexed_text(self) -> str:
        return f"{self.header}\n\n{self.text}" if self.header else self.text


def _private_file(path: Path) -> None:
    """Create ``path`` 0600 if missing, so SQLite (and its journal) inherit the mode."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _faiss():
    import faiss

    # One query is a single matrix-vector product: OpenMP threads only add
    # spin-waiting, which costs tens of milliseconds on a busy machine.
    faiss.omp_set_num_threads(1)
    return faiss


def _empty_vectors(dim: int):
    faiss = _faiss()
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


_CHUNK_COLUMNS = (
    "id, path, ordinal, header, body, heading, title, line_start, line_end, "
    "page_start, page_end, tokens"
)


def _row_to_chunk(row: Sequence) -> StoredChunk:
    return StoredChunk(
        id=row[0], path=row[1], ordinal=row[2], header=row[3], text=row[4],
        heading_path=tuple(json.loads(row[5])), title=row[6], line_start=row[7],
        line_end=row[8], page_start=row[9], page_end=row[10], tokens=row[11],
    )


class DocumentIndex:
    """Read side of an index, plus :meth:`writer` for the single writer.

    Searches use the last committed state: a writer prepares its changes on a
    copy and swaps it in at commit, so a chat can retrieve while indexing runs.
    """

    def __init__(self, directory: Path, manifest_path: Path | None = None) -> None:
        self.directory = directory
        self.manifest_path = manifest_path
        self._lock = threading.RLock()
        ensure_private_dir(directory)
        db = directory / DB_NAME
        _private_file(db)
        self._db = _connect(db)
        try:
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexCorrupt(
                f"{db}: cannot be read ({exc}); delete the folder to rebuild"
            ) from None
        self._generation = -1
        self._vectors = None
        self.problem = ""
        """Why the vectors cannot be used (then only a re-embed helps), else empty."""
        self.refresh()

    @classmethod
    def open(cls, directory: Path, manifest_path: Path | None = None) -> DocumentIndex:
        return cls(directory, manifest_path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- manifest --------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    @property
    def generation(self) -> int:
        return int(self.meta().get("generation", "0"))

    @property
    def identity(self) -> EmbeddingIdentity | None:
        meta = self.meta()
        if "model" not in meta:
            return None
        return EmbeddingIdentity(meta["engine"], meta["model"], int(meta["dim"]))

    def check_identity(self, identity: EmbeddingIdentity) -> None:
        """Raise :class:`IndexModelMismatch` unless ``identity`` built this index."""
        stored = self.identity
        if stored is not None and stored != identity and self.chunk_count() > 0:
            raise IndexModelMismatch(stored.describe(), identity.describe())

    # -- reading -----------------------------------------------------------------

    def refresh(self) -> None:
        """Load the vector file of the committed generation if it changed on disk.

        Damage is recorded in :attr:`problem` (searches then raise it) instead of
        raised here, so the documents list and a re-embed still work.
        """
        try:
            self._load()
        except IndexCorrupt as exc:
            with self._lock:
                self.problem, self._vectors = str(exc), None
                self._generation = int(self.meta().get("generation", "0"))
        else:
            self.problem = ""

    def _load(self) -> None:
        for _ in range(3):
            with self._lock:
                meta = self.meta()
                generation = int(meta.get("generation", "0"))
                if generation == self._generation:
                    return
                if "dim" not in meta:
                    self._vectors, self._generation = None, generation
                    return
                path = self.directory / f"vectors.{generation}.faiss"
                try:
                    data = np.fromfile(path, dtype=np.uint8)
                except FileNotFoundError:
                    if int(self.meta().get("generation", "0")) != generation:
                        continue  # another process committed meanwhile: read again
                    raise IndexCorrupt(
                        f"{path.name} is missing; re-index the documents to rebuild"
                    ) from None
                try:
                    vectors = _faiss().deserialize_index(data)
                except RuntimeError as exc:
                    raise IndexCorrupt(f"{path.name} cannot be read ({exc})") from None
                count = self.chunk_count()
                if vectors.ntotal != count:
                    raise IndexCorrupt(
                        f"{path.name} holds {vectors.ntotal} vectors for {count} chunks; "
                        "re-index the documents to rebuild"
                    )
                self._vectors, self._generation = vectors, generation
                return

    def _adopt(self, vectors: object, generation: int) -> None:
        """Take the writer's committed vectors without reading them back from disk."""
        with self._lock:
            self._vectors, self._generation, self.problem = vectors, generation, ""

    def vector_count(self) -> int:
        """Vectors searchable now (equals :meth:`chunk_count`, without a table scan)."""
        vectors = self._vectors
        return int(vectors.ntotal) if vectors is not None else 0

    def chunk_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def documents(self) -> list[DocumentRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path, kind, size, sha256, lines, pages, chunks, title, notes, "
                "indexed_at, status, reason FROM documents ORDER BY path"
            ).fetchall()
        return [_row_to_record(row) for row in rows]

    def document(self, path: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT path, kind, size, sha256, lines, pages, chunks, title, notes, "
                "indexed_at, status, reason FROM documents WHERE path = ?", (path,)
            ).fetchone()
        return _row_to_record(row) if row else None

    def roots(self) -> list[str]:
        """Files and folders added by the user (canonical paths), in the order added."""
        return self._root_paths(excluded=False)

    def excluded(self) -> list[str]:
        """Paths removed from inside a root: walks of the roots leave them out."""
        return self._root_paths(excluded=True)

    def _root_paths(self, excluded: bool) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path FROM roots WHERE excluded = ? ORDER BY added_at, path",
                (int(excluded),),
            ).fetchall()
        return [row[0] for row in rows]

    def targets(self) -> list[str]:
        """What a re-index walks: every root, plus listed documents outside all roots
        (indexes made before roots were recorded, or files given one by one)."""
        roots = self.roots()
        loose = [r.path for r in self.documents() if not any(is_under(r.path, p) for p in roots)]
        return [*roots, *loose]

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        wanted = [int(i) for i in ids]
        out: dict[int, StoredChunk] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part
                ).fetchall()
                out.update((row[0], _row_to_chunk(row)) for row in rows)
        return out

    def chunks_of(self, path: str) -> list[StoredChunk]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE path = ? ORDER BY ordinal", (path,)
            ).fetchall()
        return [_row_to_chunk(row) for row in rows]

    def iter_chunks(self, batch: int = 512) -> Iterator[list[StoredChunk]]:
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [_row_to_chunk(row) for row in rows]

    def search_vectors(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Ids and cosine similarities of the ``k`` nearest chunks."""
        if self.problem:
            raise IndexCorrupt(self.problem)
        vectors = self._vectors
        if vectors is None or vectors.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if q.shape[1] != vectors.d:
            raise IndexCorrupt(f"query has {q.shape[1]} dimensions, index has {vectors.d}")
        scores, ids = vectors.search(q, min(k, vectors.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def vector_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact similarities for chosen chunks (candidates found only by BM25)."""
        vectors = self._vectors
        if vectors is None or not ids:
            return {}
        out = {}
        q = query.astype(np.float32).reshape(-1)
        for chunk_id in ids:
            try:
                out[int(chunk_id)] = float(vectors.reconstruct(int(chunk_id)) @ q)
            except RuntimeError:
                continue
        return out

    def search_lexical(
        self, match: str, k: int, weights: tuple[float, float] = (1.0, 1.0),
        restrict: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """BM25 (FTS5) scores, larger is better, for an FTS5 ``match`` expression.

        Args:
            match: An FTS5 query (see ``retriever.fts_query``); empty gives nothing.
            k: How many results.
            weights: Column weights of the header (title, headings) and the body.
            restrict: Only score these chunk ids.
        """
        if not match:
            return []
        sql = f"SELECT rowid, bm25(chunks_fts, {weights[0]:f}, {weights[1]:f}) AS s " \
              "FROM chunks_fts WHERE chunks_fts MATCH ?"
        params: list[object] = [match]
        if restrict is not None:
            if not restrict:
                return []
            sql += f" AND rowid IN ({','.join('?' * len(restrict))})"
            params += [int(i) for i in restrict]
        sql += " ORDER BY s LIMIT ?"
        params.append(int(k))
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError:
                return []
        return [(int(r[0]), -float(r[1])) for r in rows]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks contain each term (after the index's own stemming)."""
        out: dict[str, int] = {}
        with self._lock:
            for term in terms:
                phrase = '"' + term.replace('"', '""') + '"'
                try:
                    out[term] = self._db.execute(
                        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (phrase,)
                    ).fetchone()[0]
                except sqlite3.OperationalError:
                    continue
        return out

    # -- writing -------------------------------------------------------------------

    def writer(self) -> IndexWriter:
        """The writer of this index; raises :class:`IndexBusy` if another process writes."""
        return IndexWriter(self)

    def _export_manifest(self) -> None:
        if self.manifest_path is None:
            return
        data = {
            "generation": self.generation,
            "embedding": self.meta().get("model", ""),
            "roots": self.roots(),
            "excluded": self.excluded(),
            "documents": [asdict(r) for r in self.documents()],
        }
        atomic_write_text(self.manifest_path, json.dumps(data, indent=1, ensure_ascii=False))

    def manifest_is_current(self) -> bool:
        if self.manifest_path is None:
            return True
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("generation") == self.generation


def is_under(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` itself or inside the folder ``prefix``."""
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)


def _row_to_record(row: Sequence) -> DocumentRecord:
    return DocumentRecord(
        path=row[0], kind=row[1], size=row[2], sha256=row[3], lines=row[4], pages=row[5],
        chunks=row[6], title=row[7], notes=json.loads(row[8]), indexed_at=row[9],
        status=row[10], reason=row[11],
    )


class IndexWriter:
    """Stages changes and applies them in one atomic :meth:`commit`.

    Changes go into an open SQLite transaction and a copy of the vectors;
    nothing is visible to searches, or on disk as the current state, before
    the commit. :meth:`rollback` (or a crash) discards them.
    """

    def __init__(self, index: DocumentIndex) -> None:
        self.index = index
        self._lock_file = _acquire(index.directory / "lock")
        self._db = _connect(index.directory / DB_NAME)
        self._vectors = None
        self._dim: int | None = None
        self._pending = False
        self._remove_debris()
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
        current = None if self.index.problem else self.index._vectors
        self._vectors = _faiss().clone_index(current) if current is not None else None
        self._pending = False

    def _remove_debris(self) -> None:
        generation = self.index.generation
        for entry in self.index.directory.iterdir():
            match = _VECTORS.match(entry.name)
            stale = (match and int(match.group(1)) != generation) or (
                entry.name.startswith(".vectors.") and entry.name.endswith(".tmp")
            )
            if stale:
                with contextlib.suppress(OSError):
                    entry.unlink()

    @property
    def identity(self) -> EmbeddingIdentity | None:
        return self._identity

    def reset(self, identity: EmbeddingIdentity) -> None:
        """Drop every vector and adopt ``identity``; chunks and documents stay.

        The caller then gives a new vector to every stored chunk with
        :meth:`put_vectors` before committing (a commit refuses otherwise).
        """
        self._vectors = _empty_vectors(identity.dim)
        self._set_identity(identity)

    def clear(self) -> None:
        """Remove every document, chunk, vector and root."""
        self._db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all')")
        self._db.execute("DELETE FROM chunks")
        self._db.execute("DELETE FROM documents")
        self._db.execute("DELETE FROM roots")
        if self._vectors is not None:
            self._vectors = _empty_vectors(self._vectors.d)
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
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE path = ?", (path,))]
        if ids and self._vectors is not None:
            self._vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        self._db.execute(
            "INSERT INTO chunks_fts(chunks_fts, rowid, header, body) "
            "SELECT 'delete', id, header, body FROM chunks WHERE path = ?", (path,)
        )
        self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
        self._db.execute("DELETE FROM documents WHERE path = ?", (path,))
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
        if self._identity is None or (self._identity != identity and self._is_empty()):
            self._vectors = _empty_vectors(identity.dim)
            self._set_identity(identity)
        elif self._identity != identity:
            raise IndexModelMismatch(self._identity.describe(), identity.describe())
        if self._vectors is None:
            raise IndexCorrupt(self.index.problem or "the index has no vectors; re-embed it")
        self.remove_document(record.path)
        ids = []
        for ordinal, chunk in enumerate(chunks):
            if isinstance(chunk, Chunk):
                header, body, heading = chunk.header(), chunk.text, chunk.heading_path
                overlap = chunk.overlap_chars
            else:
                header, body, heading, overlap = chunk.header, chunk.text, chunk.heading_path, 0
            cursor = self._db.execute(
                "INSERT INTO chunks (path, ordinal, header, body, heading, title, line_start, "
                "line_end, page_start, page_end, tokens, overlap_chars) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.path, ordinal, header, body, json.dumps(list(heading), ensure_ascii=False),
                 chunk.title, chunk.line_start, chunk.line_end, chunk.page_start,
                 chunk.page_end, chunk.tokens, overlap),
            )
            chunk_id = int(cursor.lastrowid)
            self._db.execute(
                "INSERT INTO chunks_fts(rowid, header, body) VALUES (?, ?, ?)",
                (chunk_id, header, body),
            )
            ids.append(chunk_id)
        if ids:
            self._vectors.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )
        self._write_record(record, len(ids))
        return ids

    def put_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Give stored chunks their vectors (re-embedding after :meth:`reset`)."""
        if self._vectors is None:
            raise RuntimeError("reset() the index before adding vectors to stored chunks")
        self._vectors.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )
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
        held = self._vectors.ntotal if self._vectors is not None else 0
        if held != chunks:
            raise RuntimeError(f"refusing to commit {held} vectors for {chunks} chunks")
        if self._vectors is not None:
            data = _faiss().serialize_index(self._vectors)
            atomic_write_bytes(self.index.directory / f"vectors.{generation}.faiss", data.tobytes())
        _checkpoint("vectors-written")
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),)
        )
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
        self._db.execute("COMMIT")
        _checkpoint("committed")
        old = self._generation
        with contextlib.suppress(OSError):
            (self.index.directory / f"vectors.{old}.faiss").unlink()
        self.index._adopt(self._vectors, generation)
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


def _acquire(path: Path):
    _private_file(path)
    handle = open(path, "r+b")  # noqa: SIM115 - held for the writer's lifetime
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise IndexBusy("another indexing run is writing this workspace's index") from None
    return handle


def _release(handle) -> None:
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()
