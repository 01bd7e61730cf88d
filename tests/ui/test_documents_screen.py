"""The Documents screen, driven with Pilot in a tiny host app.

Files are real (Markdown, text, code, HTML, PDFs made with pypdf, binary,
empty, damaged, encrypted, a symlink loop) and go through the real pipeline.
One test embeds with the real llama.cpp engine and the bundled MiniLM; the
flow tests (cancel, leave and come back, remove, re-index) use an engine whose
vectors are a hash of the words, so they can hold a run at an exact point.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from offyai_tui.engines.base import ChatEvent, ChatOptions, Engine, Health, Message, ModelInfo
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.rag.service import index_paths, list_documents
from offyai_tui.settings.config import Settings
from offyai_tui.settings.privacy import Consent, destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.screens.dialogs import ConfirmScreen
from offyai_tui.ui.screens.documents import DocumentsScreen, make_screen
from offyai_tui.ui.screens.documents_job import DocumentsJob, documents_job
from offyai_tui.ui.screens.remote_docs import RemoteDocumentsScreen
from offyai_tui.ui.widgets.common.path_suggest import complete_path
from offyai_tui.ui.widgets.documents import table as doc_table
from offyai_tui.ui.widgets.documents.chunk import ChunkScreen
from offyai_tui.ui.widgets.documents.hits import SearchHits
from offyai_tui.ui.widgets.documents.progress import IndexProgressPanel, running_line
from offyai_tui.ui.widgets.documents.table import DocumentTable

# ----------------------------------------------------------------- helpers


class HashEmbedder(Engine):
    """Embeds by hashing words into buckets; can hold one call until released."""

    kind = "hash"
    IMPLEMENTS_EMBED = True

    def __init__(self, *, remote: bool = False, hold_at_call: int | None = None) -> None:
        self.remote = remote
        self.hold_at_call = hold_at_call
        self.calls = 0
        self.texts: list[str] = []
        self.held = asyncio.Event()
        self._gate = asyncio.Event()

    @property
    def endpoint(self) -> str:
        return "http://203.0.113.9:11434" if self.remote else "local"

    @property
    def is_remote(self) -> bool:
        return self.remote

    async def health(self) -> Health:
        return Health(True, self.kind, self.endpoint)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo("hash-embed", self.kind, capabilities=("embedding",))]

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        raise Unsupported("hash-embed cannot chat")
        yield  # pragma: no cover

    def release(self) -> None:
        self._gate.set()

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        self.calls += 1
        if self.calls == self.hold_at_call:
            self.held.set()
            await self._gate.wait()
        await asyncio.sleep(0)
        self.texts.extend(texts)
        return [_hash_vector(t) for t in texts]


def _hash_vector(text: str, dim: int = 64) -> list[float]:
    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vector


class Host(App[None]):
    """The smallest app the screen needs: settings, workspace, an engine or a registry."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        registry: EngineRegistry | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.workspace = Workspace.open("default")
        self.engine = engine
        self.registry = registry
        self.documents_job: DocumentsJob | None = None
        self.declined_documents: set[tuple[str, str]] = set()

    def on_mount(self) -> None:
        self.push_screen(make_screen(self))

    def on_unmount(self) -> None:
        documents_job(self).close()  # as OffyApp does: the next app opens the same index


def make_pdf(path: Path, pages: list[str], password: str | None = None) -> None:
    writer = PdfWriter()
    for text in pages:
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET")
        page.replace_contents(stream)
    if password:
        writer.encrypt(password)
    with path.open("wb") as handle:
        writer.write(handle)


def build_corpus(root: Path) -> Path:
    """A folder with one file of each kind, good and bad."""
    docs = root / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Garden guide\n\n## Tomatoes\n\nWater tomatoes deeply twice a week in summer.\n\n"
        "## Roses\n\nPrune roses in early spring, before new growth starts.\n"
    )
    (docs / "notes.txt").write_text(
        "Meeting notes\n\nThe budget review moved to Friday afternoon.\n"
    )
    (docs / "tool.py").write_text(
        'def greet(name: str) -> str:\n    """Say hello to someone."""\n'
        '    return f"hello {name}"\n'
    )
    (docs / "page.html").write_text(
        "<html><head><title>Recipes</title></head><body><h1>Bread</h1>"
        "<p>Knead the dough for ten minutes, then let it rise.</p></body></html>"
    )
    make_pdf(
        docs / "contract.pdf",
        [
            "The termination notice period is thirty days.",
            "Liability is limited to the fees paid in one year.",
        ],
    )
    (docs / "photo.png").write_bytes(bytes(range(256)))
    (docs / "blob").write_bytes(b"\x00\x01\x02\x03" * 64)
    (docs / "empty.txt").write_text("")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a real pdf body\n")
    make_pdf(docs / "secret.pdf", ["Sealed text."], password="pw")
    (docs / "latin.txt").write_bytes("Café crème brûlée, served cold.\n".encode("cp1252"))
    os.symlink(docs, docs / "loop")
    return docs


INDEXED = {"guide.md", "notes.txt", "tool.py", "page.html", "contract.pdf", "latin.txt"}
SKIPPED = {"photo.png", "blob", "empty.txt", "broken.pdf", "secret.pdf", "loop"}


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)


def rows(app: App[Any]) -> dict[str, tuple[str, ...]]:
    """The documents table as ``{name: (type, extent, chunks, size, indexed, status)}``."""
    table = app.screen.query_one(DocumentTable)
    out = {}
    for key in table.rows:
        cells = [str(c) for c in table.get_row(key)]
        out[cells[0]] = tuple(cells[1:])
    return out


def progress_line(app: App[Any]) -> str:
    panel = app.screen.query_one(IndexProgressPanel)
    return str(panel.query_one("#progress-line").render())


def note(app: App[Any]) -> str:
    return str(app.screen.query_one("#note").render())


def summary(app: App[Any]) -> str:
    return str(app.screen.query_one("#summary").render())


def write_parts(folder: Path, count: int) -> None:
    """``count`` Markdown files of about 40 chunks each at ``chunk_tokens = 24``."""
    folder.mkdir()
    for i in range(count):
        paragraphs = [
            f"Paragraph {j} of part {i} is about item{i} and topic{j} today." for j in range(40)
        ]
        (folder / f"part{i}.md").write_text(f"# Part {i}\n\n" + "\n\n".join(paragraphs))


async def add_path(pilot: Pilot, path: Path) -> None:
    box = pilot.app.screen.query_one("#path", Input)
    box.focus()
    box.value = str(path)
    await pilot.press("enter")


def job_idle(app: App[Any]) -> Callable[[], bool]:
    """True once a run has ended and the screen shows it."""
    job = documents_job(app)

    def idle() -> bool:
        panel = app.screen.query_one(IndexProgressPanel)
        ended = job.phase in ("done", "cancelled", "failed")
        return not job.busy and ended and not panel.has_class("-running")

    return idle


# ------------------------------------------------------------------- tests


@pytest.mark.slow
async def test_real_embedder_indexes_folder_shows_reasons_and_searches(tmp_path: Path) -> None:
    docs = build_corpus(tmp_path)
    settings = Settings()
    settings.llamacpp.n_threads = 1
    registry = EngineRegistry(settings)
    app = Host(settings, registry=registry)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await add_path(pilot, docs)
            await wait_for(pilot, job_idle(app), timeout=240)
            await wait_for(pilot, lambda: len(rows(app)) == len(INDEXED | SKIPPED))
            job = documents_job(app)
            assert job.phase == "done", job.error
            table = rows(app)
            for name in INDEXED:
                assert table[name][-1].startswith("indexed"), (name, table[name])
                assert int(table[name][2]) >= 1
            assert table["contract.pdf"][1] == "2 pages"
            assert table["guide.md"][1] == "9 lines"
            assert "Windows-1252" in table["latin.txt"][-1]
            reasons = {name: table[name][-1] for name in SKIPPED}
            assert reasons["photo.png"] == "skipped: unsupported file type (.png)"
            assert reasons["blob"] == "skipped: binary file"
            assert reasons["empty.txt"] == "skipped: empty file"
            assert "damaged" in reasons["broken.pdf"] or "corrupt" in reasons["broken.pdf"]
            assert "encrypted" in reasons["secret.pdf"]
            assert "symlink loop" in reasons["loop"]
            line = progress_line(app)
            assert line.startswith("Done: 6 added"), line
            assert "6 skipped" in line
            bar = app.screen.query_one("#bar")
            assert bar.total == bar.progress == 11  # type: ignore[attr-defined]
            line = summary(app)
            assert "all-minilm-l6-v2 via llamacpp (384 dimensions)" in line
            assert "12 documents (6 skipped)" in line
            assert line.splitlines()[1] == "Re-index (F5) walks 1 folder: docs/"

            search = app.screen.query_one("#search", Input)
            search.focus()
            search.value = "how long is the termination notice period"
            await pilot.press("enter")
            hits = app.screen.query_one(SearchHits)
            await wait_for(pilot, lambda: bool(hits.sources))
            top = hits.sources[0]
            assert Path(top.path).name == "contract.pdf"
            assert top.location in ("p. 1", "pp. 1-2")  # a PDF cites pages, not lines
            assert "[1]" in str(hits.get_option_at_index(0).prompt)
            assert "contract.pdf" in str(hits.get_option_at_index(0).prompt)
            assert "hybrid" in note(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ChunkScreen))
            text = str(app.screen.query_one("#chunk-text").render())
            assert "thirty days" in text
            assert top.location in str(app.screen.query_one("#chunk-meta").render())
            await pilot.press("escape")
            assert isinstance(app.screen, DocumentsScreen)
    finally:
        await registry.aclose()


async def test_cancel_mid_index_keeps_finished_files_usable(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    write_parts(folder, 8)
    settings = Settings()
    settings.rag.chunk_tokens, settings.rag.chunk_overlap = 24, 0  # ~40 chunks a file
    engine = HashEmbedder(hold_at_call=5)  # the probe, three batches (two files), then held
    app = Host(settings, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.pause()
        assert app.screen.query_one(IndexProgressPanel).has_class("-running")
        assert app.screen.query_one("#cancel").display
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)  # Esc cancelled, did not leave
        await wait_for(pilot, job_idle(app))  # at once: the held batch is dropped, not awaited
        engine.release()
        job = documents_job(app)
        assert job.phase == "cancelled"
        report = job.report
        assert report is not None and report.cancelled
        finished = sorted(report.added)
        assert 1 <= len(finished) < 8
        assert progress_line(app).startswith("Cancelled (finished files kept)")
        await wait_for(pilot, lambda: len(rows(app)) == len(finished))
        assert all(int(cells[2]) >= 30 for cells in rows(app).values())

        name = Path(finished[0]).name
        item = name.removeprefix("part").removesuffix(".md")
        retrieval = await job.docs.retrieve(f"item{item} topic7", mode="vector")
        assert retrieval.sources and Path(retrieval.sources[0].path).name == name

        await pilot.press("f5")  # the rest is indexed; finished files are not redone
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and not job.report.cancelled
        assert sorted(job.report.unchanged) == finished
        assert len(job.report.added) == 8 - len(finished)
        await wait_for(pilot, lambda: len(rows(app)) == 8)


async def test_leaving_and_reentering_keeps_the_running_index(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(4):
        (folder / f"n{i}.txt").write_text(f"note {i} about subject{i}\n")
    engine = HashEmbedder(hold_at_call=2)  # the probe, then the one batch is held
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.press("ctrl+b")
        assert not isinstance(app.screen, DocumentsScreen)
        job = documents_job(app)
        assert job.busy
        app.push_screen(make_screen(app))
        await pilot.pause()
        assert app.screen.query_one(IndexProgressPanel).has_class("-running")
        titles = [title for title, _, _ in await app.screen.palette_commands()]
        assert titles[0] == "Documents: cancel indexing"
        assert progress_line(app) == running_line(job.progress, job.phase, False)
        engine.release()
        await wait_for(pilot, job_idle(app))
        assert progress_line(app).startswith("Done: 4 added")
        await wait_for(pilot, lambda: len(rows(app)) == 4)


async def test_remove_asks_first_and_reindex_skips_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    (folder / "b.md").write_text("# Beta\n\nBeta text about bananas.\n")
    (folder / "[red]c.txt").write_text("Gamma text about grapes.\n")  # shown as typed
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md", "[red]c.txt"})

        table = app.screen.query_one(DocumentTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(folder / "b.md")))
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert "b.md" in rows(app)
        detail = str(app.screen.query_one("#detail").render())
        assert detail == f"{folder / 'b.md'} · Beta"
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "[red]c.txt"})
        assert note(app) == "removed b.md"
        job = documents_job(app)
        retrieval = await job.docs.retrieve("bananas", mode="lexical")
        assert not retrieval.sources

        (folder / "a.md").write_text("# Alpha\n\nAlpha text about apricots now.\n")
        (folder / "[red]c.txt").unlink()
        embedded_before = len(engine.texts)
        await pilot.press("f5")
        assert note(app) == "re-indexing 1 folder (unchanged files are skipped)"
        await wait_for(pilot, job_idle(app))
        report = job.report
        assert report is not None
        assert report.updated == [str(folder / "a.md")]
        assert report.added == []  # the folder is walked again, but b.md stays removed
        assert report.removed == [str(folder / "[red]c.txt")]
        assert report.unchanged == []
        assert len(engine.texts) - embedded_before == 1  # a.md, nothing else
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md"})

        await add_path(pilot, folder / "b.md")  # adding it again takes it back
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and job.report.added == [str(folder / "b.md")]
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md"})

        embedded_before = len(engine.texts)
        await pilot.press("f5")
        await wait_for(pilot, job_idle(app))
        assert sorted(job.report.unchanged) == [str(folder / "a.md"), str(folder / "b.md")]
        assert len(engine.texts) == embedded_before
        assert "2 unchanged" in progress_line(app)


async def test_reindex_after_restart_finds_new_files_in_saved_folders(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    memo = tmp_path / "memo.txt"
    memo.write_text("A memo about the Friday meeting.\n")
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await add_path(pilot, memo)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "memo.txt"})

    (folder / "sub").mkdir()
    (folder / "sub" / "b.md").write_text("# Beta\n\nBeta text about bananas.\n")
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)  # a restart: nothing carried over but the index
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "memo.txt"})
        saved = "Re-index (F5) walks 1 folder and 1 file: docs/, memo.txt"
        assert summary(app).splitlines()[1] == saved
        tooltip = str(app.screen.query_one("#summary").tooltip)
        assert str(folder) in tooltip and str(memo) in tooltip
        await pilot.press("f5")
        assert note(app) == "re-indexing 1 folder and 1 file (unchanged files are skipped)"
        await wait_for(pilot, job_idle(app))
        report = documents_job(app).report
        assert report is not None and not report.cancelled
        assert report.added == [str(folder / "sub" / "b.md")]
        assert sorted(report.unchanged) == [str(folder / "a.md"), str(memo)]
        assert not any("apples" in text or "Friday" in text for text in engine.texts)
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "b.md", "memo.txt"})


async def test_skipped_files_are_listed_after_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Alpha\n\nAlpha text about apples.\n")
    (folder / "photo.png").write_bytes(bytes(range(256)))
    (folder / "empty.txt").write_text("")
    os.symlink(folder, folder / "loop")  # skipped by the walk, not by a loader
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: len(rows(app)) == 4)

    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 4)
        table = rows(app)
        assert table["a.md"][-1] == "indexed"
        assert table["photo.png"][-1] == "skipped: unsupported file type (.png)"
        assert table["empty.txt"][-1] == "skipped: empty file"
        assert "symlink loop" in table["loop"][-1]
        assert "4 documents (3 skipped)" in summary(app)

        grid = app.screen.query_one(DocumentTable)  # a skipped row can be removed too
        grid.focus()
        grid.move_cursor(row=grid.get_row_index(str(folder / "loop")))
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: set(rows(app)) == {"a.md", "photo.png", "empty.txt"})
        assert note(app) == "removed loop"


async def test_cancel_right_after_start_stops_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(f"note {i} about subject{i}\n")
    engine = HashEmbedder()
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: note(app).startswith("No documents yet"))
        job = documents_job(app)
        assert job.start([str(folder)]) == ""
        assert job.cancel()  # before the worker has even begun
        await wait_for(pilot, job_idle(app))
        assert job.phase == "cancelled"
        assert job.report is not None and job.report.cancelled
        assert engine.calls == 0
        assert progress_line(app).startswith("Cancelled (finished files kept)")
        assert not job.cancel()  # nothing is running any more

        engine.hold_at_call = 1  # the model's first call (its dimension probe) is held
        await add_path(pilot, folder)
        await wait_for(pilot, engine.held.is_set)
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)
        await wait_for(pilot, job_idle(app))  # the model's start is not waited for either
        engine.release()
        assert job.phase == "cancelled"
        assert job.report is not None and job.report.cancelled and job.report.added == []
        assert engine.calls == 1  # the probe, and no document text after it
        await pilot.pause()
        assert rows(app) == {}


async def test_model_change_shows_reembedding_progress(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    write_parts(folder, 3)
    settings = Settings()
    settings.rag.chunk_tokens, settings.rag.chunk_overlap = 24, 0
    workspace = Workspace.open("default")
    await index_paths(workspace, HashEmbedder(), settings, [folder])
    total = sum(r.chunks for r in list_documents(workspace))
    assert total > 64  # more than two batches

    settings.rag.embedding_model = "hash-embed-2"  # another model: every vector is redone
    engine = HashEmbedder(hold_at_call=3)  # the probe, one batch, then the next is held
    app = Host(settings, engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: len(rows(app)) == 3)
        await pilot.press("f5")
        await wait_for(pilot, engine.held.is_set)
        job = documents_job(app)
        assert job.progress is not None and job.progress.phase == "reembedding"
        done = job.progress.chunks_done
        assert 0 < done < total
        expected = f"Re-embedding for the new model: {done}/{total} chunks"
        await wait_for(pilot, lambda: progress_line(app).startswith(expected))
        bar = app.screen.query_one("#bar")
        assert (bar.total, bar.progress) == (total, done)  # type: ignore[attr-defined]
        engine.release()
        await wait_for(pilot, job_idle(app))
        assert job.report is not None and job.report.reembedded == total
        assert f"{total} re-embedded for the new model" in progress_line(app)
        await wait_for(pilot, lambda: "hash-embed-2 via hash" in summary(app))


async def test_remote_embedding_engine_is_asked_about_and_no_sends_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "private.md").write_text("# Patient record\n\nConfidential.\n")
    engine = HashEmbedder(remote=True)
    dest = destination(engine)
    assert dest is not None
    app = Host(Settings(), engine=engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, folder)
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteDocumentsScreen))
        assert "(embeddings) would get" in app.screen.text  # type: ignore[attr-defined]
        assert "No: nothing is indexed." in app.screen.text  # type: ignore[attr-defined]
        await pilot.press("n")
        await wait_for(pilot, job_idle(app))
        line = progress_line(app)
        assert line.startswith("Indexing stopped:") and "documents not sent" in line
        assert "nothing was indexed" in line
        assert "\n" not in line
        assert engine.texts == []
        assert rows(app) == {}

        # Each request to index asks again; Yes indexes and is stored for that host.
        await add_path(pilot, folder)
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteDocumentsScreen))
        await pilot.press("y")
        await wait_for(pilot, job_idle(app))
        await wait_for(pilot, lambda: "private.md" in rows(app))
    assert Consent(Workspace.open("default")).allows(dest)

    app = Host(Settings(), engine=HashEmbedder(remote=True))
    async with app.run_test(size=(120, 36)) as pilot:  # not asked again
        await pilot.press("f5")
        await wait_for(pilot, job_idle(app))
        assert not isinstance(app.screen, RemoteDocumentsScreen)
        assert progress_line(app).startswith("Done:"), progress_line(app)


async def test_missing_path_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    app = Host(Settings(), engine=HashEmbedder())
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: note(app).startswith("No documents yet"))
        await add_path(pilot, tmp_path / "nowhere")
        assert note(app) == f"no such file or folder: {tmp_path / 'nowhere'}"
        assert not documents_job(app).busy
        assert app.screen.query_one("#path", Input).value == str(tmp_path / "nowhere")


async def test_unknown_embedding_engine_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\ntext\n")
    settings = Settings()
    settings.rag.embedding_engine = "nonsense"
    app = Host(settings, registry=EngineRegistry(settings))
    async with app.run_test(size=(120, 36)) as pilot:
        await add_path(pilot, tmp_path / "a.md")
        assert note(app).startswith("rag.embedding_engine: unknown engine 'nonsense'")
        assert not documents_job(app).busy


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "readme.md").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    base = str(tmp_path) + "/"
    assert complete_path(base + "rep") == base + "reports/"
    assert complete_path(base + "rea") == base + "readme.md"
    assert complete_path(base + "re") == base + "reports/"  # folders first
    assert complete_path(base + ".h") == base + ".hidden"
    assert complete_path(base + "zz") is None


def test_snapshot(tmp_path: Path, snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = build_corpus(tmp_path)
    settings = Settings()
    workspace = Workspace.open("default")
    asyncio.run(index_paths(workspace, HashEmbedder(), settings, [docs]))
    newest = max(r.indexed_at for r in list_documents(workspace))
    monkeypatch.setattr(doc_table, "_now", lambda: newest + 5)
    app = Host(settings, engine=HashEmbedder())

    async def loaded(pilot: Pilot) -> None:
        await wait_for(pilot, lambda: len(rows(app)) == 12)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 30), run_before=loaded)


def test_gguf_path_completion_offers_gguf_files_before_folders(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "mistral.gguf").write_text("x")
    (tmp_path / "manual.txt").write_text("x")
    base = str(tmp_path) + "/"
    gguf = {"suffix": ".gguf", "files_first": True}
    assert complete_path(base + "m", **gguf) == base + "mistral.gguf"
    assert complete_path(base + "mo", **gguf) == base + "models/"
    assert complete_path(base + "man", **gguf) is None  # not a model file
    assert complete_path(base + "man") == base + "manual.txt"
