"""The per-workspace index: FAISS vectors + SQLite chunks, documents and BM25.

Layout of ``workspace.index_dir`` (files 0600, folder 0700)::

    index.sqlite          chunks, documents, FTS5 table, roots, meta (the manifest),
                          dead_vectors (rows of removed chunks)
    vectors.<epoch>.f32   unit vectors, append-only rows (see ``rag/vectors.py``)
    vectors.<epoch>.ids   the chunk id of each row
    lock                  held by the one process allowed to write

Crash safety comes from one commit point. A commit first writes the new vector
rows after the committed ones (or a whole new epoch's files) and fsyncs them,
then commits the SQLite transaction that records the row count (and epoch)
together with the chunk rows. A crash before the SQLite commit leaves rows past
the committed count, which readers never map and the next writer cuts off; a
crash after it leaves the new state. Files of other epochs are debris, removed
by the next writer. ``generation`` counts commits (the manifest names it). A
format-1 index (``vectors.<gen>.faiss``) is read as before and written in this
format by its next commit.

The meta table is the manifest: format version, embedding engine, model and
dimension. The roots table keeps the files and folders a user added (and the
paths removed from inside them), so a re-index after a restart walks them
again and finds new files. Vectors of two models never mix: a writer must ``reset`` the index
(dropping every vector) before it adds vectors of another identity.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from offyai_tui.rag import fts_text, lexical
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import IndexCorrupt, IndexModelMismatch
from offyai_tui.rag.index_schema import (
    CHUNK_COLUMNS,
    DB_NAME,
    FORMAT_VERSION,
    SCHEMA,
    DocumentRecord,
    StoredChunk,
    connect,
    is_under,
    load_faiss,
    private_file,
    row_to_chunk,
    row_to_record,
)
from offyai_tui.rag.index_writer import IndexWriter
from offyai_tui.rag.vectors import DEAD_SCHEMA, VectorsDamaged, VectorView, legacy_view, open_view
from offyai_tui.util.fileio import atomic_write_text, ensure_private_dir

__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "DocumentIndex",
    "DocumentRecord",
    "IndexWriter",
    "StoredChunk",
    "is_under",
]


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
        private_file(db)
        self._db = connect(db)
        try:
            self._db.executescript(SCHEMA + DEAD_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexCorrupt(
                f"{db}: cannot be read ({exc}); delete the folder to rebuild"
            ) from None
        self._generation = -1
        self._vectors: VectorView | None = None
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

    def _load(self, retry: bool = True) -> None:
        with self._lock:
            self._db.execute("BEGIN")  # meta and dead rows of one commit
            try:
                meta = self.meta()
                generation = int(meta.get("generation", "0"))
                if generation == self._generation:
                    return
                dead = [r[0] for r in self._db.execute("SELECT row FROM dead_vectors")]
            finally:
                self._db.execute("COMMIT")
            if "dim" not in meta:
                self._vectors, self._generation = None, generation
                return
            dim = int(meta["dim"])
            try:
                if "vector_epoch" not in meta:
                    vectors = self._load_format_1(generation)
                else:
                    try:
                        vectors = open_view(
                            self.directory, dim, int(meta["vector_epoch"]),
                            int(meta.get("vector_rows", "0")), np.asarray(dead, dtype=np.int64),
                        )
                    except VectorsDamaged as exc:
                        raise IndexCorrupt(f"{exc}; re-index the documents to rebuild") from None
            except IndexCorrupt:
                if retry and int(self.meta().get("generation", "0")) != generation:
                    self._load(retry=False)  # a writer replaced the files meanwhile
                    return
                raise
            count = self.chunk_count()
            if vectors.ntotal != count:
                raise IndexCorrupt(
                    f"the vector files hold {vectors.ntotal} vectors for {count} chunks; "
                    "re-index the documents to rebuild"
                )
            self._vectors, self._generation = vectors, generation

    def _load_format_1(self, generation: int) -> VectorView:
        """A format-1 index's one FAISS file, read whole (its next commit converts it)."""
        path = self.directory / f"vectors.{generation}.faiss"
        try:
            data = np.fromfile(path, dtype=np.uint8)
        except FileNotFoundError:
            raise IndexCorrupt(
                f"{path.name} is missing; re-index the documents to rebuild"
            ) from None
        try:
            return legacy_view(load_faiss().deserialize_index(data))
        except RuntimeError as exc:
            raise IndexCorrupt(f"{path.name} cannot be read ({exc})") from None

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
        return [row_to_record(row) for row in rows]

    def document(self, path: str) -> DocumentRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT path, kind, size, sha256, lines, pages, chunks, title, notes, "
                "indexed_at, status, reason FROM documents WHERE path = ?", (path,)
            ).fetchone()
        return row_to_record(row) if row else None

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
                    f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part
                ).fetchall()
                out.update((row[0], row_to_chunk(row)) for row in rows)
        return out

    def chunks_of(self, path: str) -> list[StoredChunk]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE path = ? ORDER BY ordinal", (path,)
            ).fetchall()
        return [row_to_chunk(row) for row in rows]

    def chunk_at(self, path: str, ordinal: int) -> StoredChunk | None:
        """One chunk of a document by its position (a resumed large file checks
        that its last stored chunk is the one it would make again)."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE path = ? AND ordinal = ?",
                (path, ordinal),
            ).fetchone()
        return row_to_chunk(row) if row else None

    def iter_chunks(self, batch: int = 512) -> Iterator[list[StoredChunk]]:
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [row_to_chunk(row) for row in rows]

    def vectors_of(self, path: str) -> dict[str, np.ndarray]:
        """The committed vectors of a document's chunks, by the text each embedded, so
        that an edited file's unchanged chunks keep theirs instead of being embedded
        again (copies: the view may be replaced by a commit)."""
        vectors = self._vectors
        if vectors is None or self.problem:
            return {}
        chunks = {chunk.id: chunk for chunk in self.chunks_of(path)}
        return {chunks[i].indexed_text(): np.array(vectors.matrix[row], dtype=np.float32)
                for i, row in vectors.rows_of(chunks).items()}

    def search_vectors(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Ids and cosine similarities of the ``k`` nearest chunks."""
        if self.problem:
            raise IndexCorrupt(self.problem)
        vectors = self._vectors
        if vectors is None or vectors.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != vectors.d:
            raise IndexCorrupt(f"query has {q.shape[0]} dimensions, index has {vectors.d}")
        return vectors.search(q, k)

    def vector_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Exact similarities for chosen chunks (candidates found only by BM25)."""
        vectors = self._vectors
        if vectors is None or not ids:
            return {}
        return vectors.scores(np.asarray(query, dtype=np.float32).reshape(-1), ids)

    def search_lexical(
        self, match: str, k: int, weights: tuple[float, float] = (1.0, 1.0),
        restrict: Sequence[int] | None = None, counts: dict[str, int] | None = None,
    ) -> list[tuple[int, float]]:
        """BM25 (FTS5) scores, larger is better, for an FTS5 ``match`` expression.

        Args:
            match: An FTS5 query (see ``retriever.fts_query``); empty gives nothing.
            k: How many results.
            weights: Column weights of the header (title, headings) and the body.
            restrict: Only score these chunk ids.
            counts: Rows per FTS5 phrase, shared with :meth:`document_frequencies`
                within one query (``lexical.phrase_hits``).
        """
        if not match:
            return []
        if restrict is None:
            with self._lock:
                try:
                    quick = lexical.top_k(
                        self._db, match, int(k), weights, lexical.fts_rows(self._db), counts
                    )
                except sqlite3.OperationalError:
                    quick = None
            if quick is not None:
                return [(r, -s) for r, s in quick]
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

    def document_frequencies(
        self, terms: Sequence[str], counts: dict[str, int] | None = None
    ) -> dict[str, int]:
        """How many chunks contain each term (after the index's own stemming);
        ``counts`` as in :meth:`search_lexical`."""
        out: dict[str, int] = {}
        counts = {} if counts is None else counts
        with self._lock:
            for term in terms:
                phrase = fts_text.phrase(term)
                try:
                    out[term] = lexical.phrase_hits(self._db, [phrase], counts)[phrase]
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
