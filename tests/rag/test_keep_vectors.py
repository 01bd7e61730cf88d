"""An edited file embeds only the chunks whose text changed; the others keep their vectors.

Real files, the real index and the bundled MiniLM on the llama.cpp engine. The
engine is wrapped to count the texts it is asked to embed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.rag.index import DocumentIndex
from offyai_tui.rag.service import index_paths
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace

pytestmark = pytest.mark.slow

PROBE = "dimension probe"  # what the embedder sends to learn the vector size
TOPICS = ["glaciers", "tax law", "sourdough", "jet engines", "tide pools", "chess openings",
          "copper mining", "violin making"]


def _settings() -> Settings:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    settings.rag.chunk_tokens = 48
    settings.rag.chunk_overlap = 0
    return settings


class Counting(LlamaCppEngine):
    """The real engine, remembering every text it embedded."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        self.texts.extend(t for t in texts if t != PROBE)
        return await super().embed(texts, model)


@pytest.fixture(scope="module")
def engine() -> Iterator[Counting]:
    engine = Counting(_settings())
    yield engine
    engine.close()


def _notes(changed: str = "") -> str:
    sections = []
    for i, topic in enumerate(TOPICS):
        body = changed if changed and i == 3 else (
            f"These notes are about {topic}. Section {i} explains how {topic} work, "
            f"what the common mistakes with {topic} are, and where to read more.")
        sections.append(f"## Part {i}: {topic}\n\n{body}\n")
    return "# Field notes\n\n" + "\n".join(sections)


def _stored(workspace: Workspace, path: Path) -> dict[str, np.ndarray]:
    with DocumentIndex.open(workspace.index_dir, workspace.documents_manifest) as index:
        return index.vectors_of(str(path))


async def test_an_edited_file_embeds_only_its_changed_chunks(
    engine: Counting, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    notes = folder / "notes.md"
    notes.write_text(_notes())
    (folder / "other.md").write_text("# Other\n\nA second file that does not change.\n")
    workspace = Workspace.open("keep")
    first = await index_paths(workspace, engine, _settings(), [folder])
    assert first.chunks >= len(TOPICS) and first.kept == 0
    before = _stored(workspace, notes)
    assert len(before) == first.chunks - 1  # other.md is one chunk

    edit = "Jet engines were rewritten: turbofans bypass most air around the hot core."
    notes.write_text(_notes(changed=edit))
    engine.texts.clear()
    second = await index_paths(workspace, engine, _settings(), [folder])
    assert [Path(p).name for p in second.updated] == ["notes.md"]
    assert second.chunks == len(engine.texts) == 1
    assert all("turbofans" in text for text in engine.texts)  # only the changed chunk
    assert second.kept == len(before) - second.chunks
    line = second.summary()
    assert f"{second.chunks} chunk embedded, {second.kept} unchanged chunks kept" in line, line

    after = _stored(workspace, notes)
    assert len(after) == len(before)
    for text, vector in after.items():
        if text in before:
            assert np.array_equal(vector, before[text])  # kept as it was
    fresh = np.asarray(await engine.embed(list(after)))
    assert np.allclose(np.vstack(list(after.values())), fresh, atol=1e-5)  # as a fresh index
