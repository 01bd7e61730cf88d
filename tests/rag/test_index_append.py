"""The index grows by appending: work per commit is O(new), loading copies nothing,
and a kill -9 at any point leaves an index that opens, agrees with documents.json,
and finds every committed vector.

Vectors are made up (the index stores whatever it is given). Bytes written are
``wchar`` of ``/proc/self/io`` (what the process handed to ``write``), memory
is tracemalloc's peak (numpy arrays are traced).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.rag import index_writer as writer_module
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.rag.vectors import COMPACT_FRACTION
from offyai_tui.settings.workspace import Workspace

DIM = 256
IDENTITY = EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", DIM)


def _unit(seed: int, n: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _put(writer, n: int, chunks: int = 10) -> np.ndarray:
    path = f"/d/{n}.txt"
    vectors = _unit(n, chunks)
    writer.put_document(
        DocumentRecord(path, "text", 1, f"h{n}"),
        [Chunk(path, f"file {n} part {j}", (), j + 1, j + 1) for j in range(chunks)],
        vectors, IDENTITY,
    )
    return vectors


def _written_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.open("t").ensure()


def _open(ws: Workspace) -> DocumentIndex:
    return DocumentIndex.open(ws.index_dir, ws.documents_manifest)


def _vector_bytes(ws: Workspace) -> int:
    return sum(p.stat().st_size for p in ws.index_dir.glob("vectors.*"))


def _big(ws: Workspace, files: int = 40, chunks: int = 10) -> None:
    index = _open(ws)
    with index.writer() as writer:
        for n in range(files):
            _put(writer, n, chunks)
        writer.commit()
    index.close()


def test_adding_a_small_file_writes_and_holds_o_new_bytes(workspace: Workspace) -> None:
    _big(workspace, chunks=100)  # 4,000 chunks: 4 MB of vectors (few files: a small manifest)
    size = _vector_bytes(workspace)
    assert size >= 4000 * DIM * 4
    index = _open(workspace)
    tracemalloc.start()
    before = _written_bytes()
    with index.writer() as writer:
        added = _put(writer, 10_000)
        writer.commit()
    written = _written_bytes() - before
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # 10 rows are 10 KB; SQLite's WAL pages for the rows and FTS5 add some more.
    # Rewriting the vector file (the old commit) wrote all 4 MB, and held it twice.
    assert written < size // 8, (written, size)
    assert peak < size // 8, (peak, size)
    assert _vector_bytes(workspace) == size + 10 * (DIM * 4 + 8)
    assert index.search_vectors(added[3], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    index.close()


def test_loading_maps_the_vectors_instead_of_copying_them(workspace: Workspace) -> None:
    _big(workspace, chunks=100)
    size = _vector_bytes(workspace)
    tracemalloc.start()
    index = _open(workspace)
    found = index.search_vectors(_unit(7, 100)[0], 5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert peak < size // 8, (peak, size)  # reading the file (the old load) took all of it
    index.close()


def test_removed_chunks_are_masked_then_compacted_away(workspace: Workspace) -> None:
    _big(workspace)
    index = _open(workspace)
    size = _vector_bytes(workspace)
    with index.writer() as writer:
        writer.remove_document("/d/3.txt")
        writer.commit()
        assert _vector_bytes(workspace) == size  # a removal appends nothing
        gone = _unit(3, 10)[0]
        assert all(s < 0.99 for _, s in index.search_vectors(gone, 400))
        ids = [c.id for c in index.chunks_of("/d/4.txt")]
        assert index.vector_scores(gone, ids) != {}
        for n in range(4, 4 + int(40 * COMPACT_FRACTION) + 1):
            writer.remove_document(f"/d/{n}.txt")
        writer.commit()
    assert index.vector_scores(gone, ids) == {}
    assert _vector_bytes(workspace) < size * 0.8  # a new epoch without the dead rows
    assert index.vector_count() == index.chunk_count() == 10 * 40 - 10 * 12
    assert index.search_vectors(_unit(39, 10)[9], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    assert int(index.meta()["vector_epoch"]) == 2
    index.close()


def test_rows_past_the_committed_ones_are_ignored_then_cut_off(workspace: Workspace) -> None:
    _big(workspace, files=5)
    epoch = _open(workspace).meta()["vector_epoch"]
    matrix = workspace.index_dir / f"vectors.{epoch}.f32"
    with open(matrix, "ab") as torn:  # an append a kill cut in the middle of a row
        torn.write(b"\x7f" * (DIM * 4 * 3 + 100))
    index = _open(workspace)
    assert not index.problem and index.vector_count() == 50
    with index.writer() as writer:
        added = _put(writer, 99)
        writer.commit()
    assert matrix.stat().st_size == 60 * DIM * 4
    assert index.search_vectors(added[9], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    index.close()


def test_a_format_1_index_opens_and_its_next_commit_converts_it(workspace: Workspace) -> None:
    import faiss

    _big(workspace, files=3)
    index = _open(workspace)
    meta = index.meta()
    index.close()
    vectors = np.concatenate([_unit(n, 10) for n in range(3)])
    old = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    old.add_with_ids(vectors, np.arange(1, 31, dtype=np.int64))
    for path in workspace.index_dir.glob("vectors.*"):
        path.unlink()
    faiss.write_index(old, str(workspace.index_dir / f"vectors.{meta['generation']}.faiss"))
    import sqlite3

    with sqlite3.connect(workspace.index_dir / "index.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key IN ('vector_epoch', 'vector_rows')")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    index = _open(workspace)
    assert not index.problem and index.vector_count() == 30
    assert index.search_vectors(vectors[12], 1) == [(13, pytest.approx(1.0, abs=1e-5))]
    with index.writer() as writer:
        _put(writer, 7)
        writer.commit()
    names = sorted(p.name for p in workspace.index_dir.glob("vectors.*"))
    epoch = index.meta()["vector_epoch"]
    assert names == [f"vectors.{epoch}.f32", f"vectors.{epoch}.ids"]
    again = _open(workspace)
    assert again.vector_count() == again.chunk_count() == 40
    assert again.search_vectors(vectors[29], 1) == [(30, pytest.approx(1.0, abs=1e-5))]
    again.close()
    index.close()


@pytest.mark.parametrize("step", ["vectors-written", "committed"])
def test_crash_while_a_new_epoch_is_written(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    _big(workspace, files=8)
    index = _open(workspace)
    writer = index.writer()
    for n in range(5):
        writer.remove_document(f"/d/{n}.txt")  # past the compaction share

    def crash(name: str) -> None:
        if name == step:
            raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(writer_module, "_checkpoint", crash)
    with pytest.raises(KeyboardInterrupt):
        writer.commit()
    writer.close()
    monkeypatch.setattr(writer_module, "_checkpoint", lambda name: None)
    index.close()
    again = _open(workspace)
    assert not again.problem
    assert again.chunk_count() == again.vector_count() == (80 if step == "vectors-written" else 30)
    with again.writer():
        pass
    epoch = again.meta()["vector_epoch"]
    names = sorted(p.name for p in workspace.index_dir.glob("vectors.*"))
    assert names == [f"vectors.{epoch}.f32", f"vectors.{epoch}.ids"]
    again.close()


_APPENDER = """
import sys
import numpy as np
from pathlib import Path
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
dim = int(sys.argv[3])
ident = EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", dim)
idx = DocumentIndex.open(Path(sys.argv[1]), Path(sys.argv[2]))
w = idx.writer()
for n in range(1000, 100000):
    path = f"/d/{n}.txt"
    v = np.random.default_rng(n).standard_normal((10, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    w.put_document(DocumentRecord(path, "text", 1, f"h{n}"),
                   [Chunk(path, f"file {n} part {j}", (), j + 1, j + 1) for j in range(10)],
                   v, ident)
    if n % 7 == 0:
        w.remove_document(f"/d/{n - 5}.txt")
    w.commit()
    print(n, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.013, 0.031, 0.057])
def test_kill_9_while_appending_leaves_a_consistent_index(
    workspace: Workspace, delay: float
) -> None:
    _big(workspace, files=20)
    child = subprocess.Popen(
        [sys.executable, "-c", _APPENDER, str(workspace.index_dir),
         str(workspace.documents_manifest), str(DIM)],
        stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    for _ in range(3):  # a few commits in, then at some point of the next ones
        assert child.stdout.readline()
    time.sleep(delay)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    index = _open(workspace)
    assert not index.problem
    documents = index.documents()
    assert index.vector_count() == index.chunk_count() == sum(d.chunks for d in documents)
    for record in documents:  # every committed vector is found, and only those
        n = int(Path(record.path).stem)
        vectors = _unit(n, 10)
        hit = index.search_vectors(vectors[n % 10], 1)[0]
        assert hit[1] == pytest.approx(1.0, abs=1e-5)
        assert index.chunks([hit[0]])[hit[0]].path == record.path
    with index.writer() as writer:  # the next writer brings documents.json up to date
        _put(writer, 500_000)
        writer.commit()
    manifest = json.loads(workspace.documents_manifest.read_text())
    assert [d["path"] for d in manifest["documents"]] == [d.path for d in index.documents()]
    assert manifest["generation"] == index.generation
    epoch = index.meta()["vector_epoch"]
    rows = int(index.meta()["vector_rows"])
    assert (workspace.index_dir / f"vectors.{epoch}.f32").stat().st_size == rows * DIM * 4
    index.close()


def test_a_writer_opened_on_a_stale_reader_keeps_rows_committed_since(
    workspace: Workspace,
) -> None:
    _big(workspace, files=2)
    app = _open(workspace)  # the app's reader, while `offyai index` runs elsewhere
    assert app.vector_count() == 20
    other = _open(workspace)
    with other.writer() as writer:
        added = _put(writer, 77)
        writer.commit()
    other.close()
    with app.writer():  # the app writes next, before any search refreshed its view
        pass
    again = _open(workspace)
    assert not again.problem and again.vector_count() == again.chunk_count() == 30
    assert again.search_vectors(added[4], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    again.close()
    app.close()
