"""A tiny host app for the Documents screen and what its tests share: an embedder whose
vectors are a hash of the words (it can hold a run at an exact call), a corpus of real
files good and bad, and readers of the table, progress line, note and summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from offyai_tui.engines.base import ChatEvent, ChatOptions, Engine, Health, Message, ModelInfo
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.screens.documents import make_screen
from offyai_tui.ui.screens.documents_job import DocumentsJob, documents_job
from offyai_tui.ui.widgets.documents.progress import IndexProgressPanel
from offyai_tui.ui.widgets.documents.table import DocumentTable


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
