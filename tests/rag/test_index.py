"""The index on disk: add, replace, remove, model changes, crash safety, file modes.

Vectors here are made up (the index stores whatever vectors it is given); the
embedder and the engine are exercised in test_pipeline.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from offyai_tui.rag import index_writer as writer_module
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.errors import IndexBusy, IndexCorrupt, IndexModelMismatch
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.settings.workspace import Workspace

MINI = EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", 8)
OTHER = EmbeddingIdentity("ollama", "nomic-embed-text", 8)


def _unit(seed: int, n: int = 1, dim: int = 8) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _chunks(path: str, texts: list[str]) -> list[Chunk]:
    return [Chunk(path, t, ("Doc",), i + 1, i + 1, tokens=len(t.split()), title="Doc")
            for i, t in enumerate(texts)]


def _put(writer, path: str, texts: list[str], seed: int, identity=MINI) -> np.ndarray:
    vectors = _unit(seed, len(texts))
    record = DocumentRecord(path, "text", 10, f"hash-{seed}")
    writer.put_document(record, _chunks(path, texts), vectors, identity)
    return vectors


@pytest.fixture
def workspace() -> Workspace:
    return Workspace.open("t").ensure()


def _open(ws: Workspace) -> DocumentIndex:
    return DocumentIndex.open(ws.index_dir, ws.documents_manifest)


def test_add_search_replace_remove(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        a = _put(writer, "/d/a.txt", ["apples grow on trees", "pears too"], seed=1)
        _put(writer, "/d/b.txt", ["bananas are yellow"], seed=2)
        assert index.search_vectors(a[0], 3) == []  # nothing visible before the commit
        writer.commit()
        hits = index.search_vectors(a[0], 3)
        assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
        first_id = hits[0][0]
        assert index.chunks([first_id])[first_id].text == "apples grow on trees"
        assert [i for i, _ in index.search_lexical('"banana"', 5)] != []

        new = _put(writer, "/d/a.txt", ["apricots now"], seed=3)
        writer.commit()
        assert index.chunk_count() == 2
        assert first_id not in dict(index.search_vectors(a[0], 10))
        assert index.search_vectors(new[0], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
        assert index.search_lexical('"apples"', 5) == []

        assert writer.remove_document("/d/b.txt") == 1
        writer.commit()
    assert [d.path for d in index.documents()] == ["/d/a.txt"]
    assert index.search_lexical('"bananas"', 5) == []
    assert index.chunk_count() == 1 and index.vector_count() == 1
    index.close()


def test_reopened_index_has_the_committed_state(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        vectors = _put(writer, "/d/a.txt", ["one", "two"], seed=5)
        writer.commit()
        _put(writer, "/d/b.txt", ["uncommitted"], seed=6)
    index.close()
    again = _open(workspace)
    assert [d.path for d in again.documents()] == ["/d/a.txt"]
    assert again.search_vectors(vectors[1], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    assert again.identity == MINI
    again.close()


def test_vectors_of_two_models_never_mix(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        _put(writer, "/d/a.txt", ["alpha", "beta"], seed=1)
        writer.commit()
        with pytest.raises(IndexModelMismatch, match="built with all-minilm-l6-v2"):
            _put(writer, "/d/b.txt", ["gamma"], seed=2, identity=OTHER)
        with pytest.raises(IndexModelMismatch):
            index.check_identity(OTHER)
        # Switching model: drop the vectors, then every chunk needs a new one.
        writer.reset(OTHER)
        with pytest.raises(RuntimeError, match="refusing to commit 0 vectors for 2 chunks"):
            writer.commit()
        ids = [c.id for batch in index.iter_chunks() for c in batch]
        writer.put_vectors(ids, _unit(9, len(ids)))
        writer.commit()
    assert index.identity == OTHER
    index.check_identity(OTHER)
    assert index.chunk_count() == 2 and index.vector_count() == 2
    index.close()


def test_empty_index_adopts_a_new_model(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        _put(writer, "/d/a.txt", ["alpha"], seed=1)
        writer.commit()
        writer.remove_document("/d/a.txt")
        _put(writer, "/d/b.txt", ["beta"], seed=2, identity=OTHER)
        writer.commit()
    assert index.identity == OTHER
    index.close()


@pytest.mark.parametrize("step", ["vectors-written", "committed"])
def test_crash_between_commit_steps(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    index = _open(workspace)
    writer = index.writer()
    old = _put(writer, "/d/a.txt", ["kept"], seed=1)
    writer.commit()
    new = _put(writer, "/d/b.txt", ["maybe"], seed=2)

    def crash(name: str) -> None:
        if name == step:
            raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(writer_module, "_checkpoint", crash)
    with pytest.raises(KeyboardInterrupt):
        writer.commit()
    writer.close()
    monkeypatch.setattr(writer_module, "_checkpoint", lambda name: None)
    again = _open(workspace)
    assert not again.problem
    expected = ["/d/a.txt"] if step == "vectors-written" else ["/d/a.txt", "/d/b.txt"]
    assert [d.path for d in again.documents()] == expected
    assert again.search_vectors(old[0], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    found = again.search_vectors(new[0], 1)[0][1]
    assert (found == pytest.approx(1.0, abs=1e-5)) == (step == "committed")
    # The next writer removes the debris of the interrupted commit.
    with again.writer():
        pass
    names = sorted(p.name for p in workspace.index_dir.glob("vectors.*"))
    epoch = again.meta()["vector_epoch"]
    assert names == [f"vectors.{epoch}.f32", f"vectors.{epoch}.ids"]
    rows = int(again.meta()["vector_rows"])  # rows past the committed ones are cut off
    assert (workspace.index_dir / f"vectors.{epoch}.ids").stat().st_size == rows * 8
    again.close()


_KILL = """
import os, sys
import numpy as np
from pathlib import Path
from offyai_tui.rag import index as m, index_writer
from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
ident = EmbeddingIdentity("llamacpp", "all-minilm-l6-v2", 8)
idx = m.DocumentIndex.open(Path(sys.argv[1]))
w = idx.writer()
for n in range(50):
    path = f"/d/new{n}.txt"
    w.put_document(m.DocumentRecord(path, "text", 1, "h"),
                   [Chunk(path, f"text {n}", (), 1, 1)], np.eye(8, dtype=np.float32)[:1], ident)
index_writer._checkpoint = lambda step: os._exit(9) if step == sys.argv[2] else None
w.commit()
"""


@pytest.mark.parametrize("step", ["vectors-written", "committed"])
def test_killed_process_leaves_a_usable_index(workspace: Workspace, step: str) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        old = _put(writer, "/d/a.txt", ["kept"], seed=1)
        writer.commit()
    index.close()
    result = subprocess.run(
        [sys.executable, "-c", _KILL, str(workspace.index_dir), step], timeout=60
    )
    assert result.returncode == 9
    again = _open(workspace)
    assert not again.problem
    assert again.chunk_count() == (1 if step == "vectors-written" else 51)
    assert again.search_vectors(old[0], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    with again.writer() as writer:  # the lock died with the process
        writer.remove_document("/d/a.txt")
        writer.commit()
    again.close()


def test_one_writer_at_a_time(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer(), pytest.raises(IndexBusy):
        index.writer()
    with index.writer():
        pass
    index.close()


def test_missing_vector_file_is_reported_not_fatal(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        vectors = _put(writer, "/d/a.txt", ["x"], seed=1)
        writer.commit()
    index.close()
    for path in workspace.index_dir.glob("vectors.*"):
        path.unlink()
    again = _open(workspace)
    assert "missing" in again.problem
    assert [d.path for d in again.documents()] == ["/d/a.txt"]
    with pytest.raises(IndexCorrupt):
        again.search_vectors(vectors[0], 1)
    again.close()


def test_files_are_private_and_manifest_mirrors_documents(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        _put(writer, "/d/a.txt", ["alpha", "beta"], seed=1)
        writer.put_skipped(DocumentRecord("/d/s.pdf", "pdf", 0, "", status="skipped",
                                          reason="encrypted PDF: a password is required"))
        writer.commit()
    for path in [workspace.root, *workspace.root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path
    data = json.loads(workspace.documents_manifest.read_text())
    assert data["generation"] == index.generation
    rows = {d["path"]: (d["chunks"], d["status"], d["reason"]) for d in data["documents"]}
    assert rows == {
        "/d/a.txt": (2, "indexed", ""),
        "/d/s.pdf": (0, "skipped", "encrypted PDF: a password is required"),
    }
    index.close()


def test_stale_manifest_is_rewritten_by_the_next_writer(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        _put(writer, "/d/a.txt", ["alpha"], seed=1)
        writer.commit()
    os.unlink(workspace.documents_manifest)
    with index.writer():
        pass
    assert json.loads(workspace.documents_manifest.read_text())["documents"][0]["path"] == (
        "/d/a.txt"
    )
    index.close()


def test_roots_stay_minimal_and_removals_inside_them_are_remembered(
    workspace: Workspace,
) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        writer.put_root("/d/notes/a.md")
        writer.put_root("/d/notes")  # covers the file added before
        writer.put_root("/d/notes/sub")  # inside a root: nothing new to walk
        writer.put_root("/e/report.pdf")
        writer.commit()
    assert index.roots() == ["/d/notes", "/e/report.pdf"]

    with index.writer() as writer:
        writer.remove_root("/d/notes/sub/old.md")  # inside a root: excluded from its walk
        writer.remove_root("/e/report.pdf")  # a root: forgotten
        writer.commit()
    assert index.roots() == ["/d/notes"] and index.excluded() == ["/d/notes/sub/old.md"]
    manifest = json.loads(workspace.documents_manifest.read_text())
    assert manifest["roots"] == ["/d/notes"]
    assert manifest["excluded"] == ["/d/notes/sub/old.md"]

    with index.writer() as writer:
        writer.put_root("/d/notes/sub/old.md")  # added again: no longer excluded
        writer.commit()
    assert index.roots() == ["/d/notes"] and index.excluded() == []
    with index.writer() as writer:
        writer.remove_root("/d")
        writer.commit()
    assert index.roots() == [] and index.excluded() == []
    index.close()


def test_targets_are_roots_and_documents_outside_them(workspace: Workspace) -> None:
    index = _open(workspace)
    with index.writer() as writer:
        _put(writer, "/d/notes/a.txt", ["alpha"], seed=1)
        _put(writer, "/old/b.txt", ["beta"], seed=2)  # indexed before roots were kept
        writer.put_root("/d/notes")
        writer.commit()
    assert index.targets() == ["/d/notes", "/old/b.txt"]
    index.close()
