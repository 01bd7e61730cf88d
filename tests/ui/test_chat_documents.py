"""Chatting with documents: the toggle, retrieval, the sources panel, and failures.

The answers come from a scripted chat engine; the documents are real files
indexed through the real pipeline. One test embeds with the real llama.cpp
engine and the bundled MiniLM from indexing to reopening the conversation;
the failure tests use small fake embedding engines (down, remote, another
model) so each failure is exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.engines.base import ChatEvent, ChatOptions, Engine, Health, Message, ModelInfo
from offyai_tui.engines.errors import EngineUnavailable, Unsupported
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.rag.service import Documents, index_paths
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.screens.documents_job import DocumentsJob
from offyai_tui.ui.screens.remote_docs import RemoteDocumentsScreen
from offyai_tui.ui.widgets.chat.sources_panel import SourceList, SourcesPanel
from offyai_tui.ui.widgets.documents.chunk import ChunkScreen
from tests.ui.conftest import chat, idle, palette, screen_text, send, transcript_events, wait_for
from tests.ui.fakes import Script, ScriptedEngine

QUESTION = "How many days of annual leave do employees get?"


# ----------------------------------------------------------------- helpers


class WordsEmbedder(Engine):
    """Embeds by hashing words into buckets; ``down`` makes every call fail."""

    kind = "words"
    IMPLEMENTS_EMBED = True

    def __init__(self, *, model: str = "words-embed", remote: bool = False,
                 down: bool = False, hold: bool = False) -> None:
        self.model = model
        self.remote = remote
        self.down = down
        self.hold = hold
        self.held = asyncio.Event()
        self.texts: list[str] = []

    @property
    def endpoint(self) -> str:
        return "http://203.0.113.9:11434" if self.remote else "local"

    @property
    def is_remote(self) -> bool:
        return self.remote

    async def health(self) -> Health:
        return Health(not self.down, self.kind, self.endpoint)

    async def list_models(self) -> list[ModelInfo]:
        if self.down:
            raise EngineUnavailable("connection refused by 127.0.0.1:9")
        return [ModelInfo(self.model, self.kind, capabilities=("embedding",))]

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        raise Unsupported("words-embed cannot chat")
        yield  # pragma: no cover

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        if self.down:
            raise EngineUnavailable("connection refused by 127.0.0.1:9")
        if self.hold:
            self.held.set()
            await asyncio.Event().wait()
        self.texts.extend(texts)
        await asyncio.sleep(0)
        return [_vector(t) for t in texts]


def _vector(text: str, dim: int = 64) -> list[float]:
    vector = [0.0] * dim
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dim] += 1.0
    return vector


def write_corpus(folder: Path) -> Path:
    """Three small real files; the leave rule is on lines 5-6 of handbook.md."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handbook.md").write_text(
        "# Staff handbook\n"
        "\n"
        "## Annual leave\n"
        "\n"
        "Employees receive twenty-seven days of annual leave per year.\n"
        "Unused leave days expire at the end of March.\n"
        "\n"
        "## Expenses [b]policy[/b]\n"
        "\n"
        "Travel expenses are reimbursed within thirty days of the claim.\n",
        encoding="utf-8",
    )
    (folder / "garden.txt").write_text(
        "Tomatoes need six hours of sun and water every second day.\n"
        "Basil grows well next to tomatoes.\n",
        encoding="utf-8",
    )
    (folder / "servers.rst").write_text(
        "Servers\n=======\n\nThe backup server runs every night at two o'clock.\n",
        encoding="utf-8",
    )
    return folder


def use_documents(app: OffyApp, engine: Engine | None, settings: Settings) -> Documents:
    """Make ``engine`` the app's embedding engine (the app would take the registry's)."""
    docs = Documents(Workspace.open("default"), engine, settings)
    app.documents_job = DocumentsJob(app, docs)
    return docs


def panel(app: OffyApp) -> SourcesPanel:
    return chat(app).messages.views[-1].query_one(SourcesPanel)


def panel_text(app: OffyApp) -> str:
    found = panel(app)
    parts = [str(w.render()) for w in found.query(".title, .note")]
    sources = found.source_list
    if sources is not None:
        parts += [str(sources.get_option_at_index(i).prompt)
                  for i in range(sources.option_count)]
    return "\n".join(parts)


def sent_question(engine: ScriptedEngine) -> str:
    return [m for m in engine.requests[-1].messages if m.role == "user"][-1].content


async def documents_on(app: OffyApp, pilot: Any) -> None:
    await pilot.press("alt+d")
    await wait_for(lambda: chat(app).conversation.documents, pilot)


def last_events(conv_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user and assistant message lines of the last turn."""
    messages = [e for e in transcript_events(conv_id) if e["type"] == "message"]
    return messages[-2], messages[-1]


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaCppEngine]:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    engine = LlamaCppEngine(settings)
    yield engine
    engine.close()


# ------------------------------------------------------------------- tests


@pytest.mark.slow
async def test_real_embedder_sources_are_cited_stored_and_shown_again(
    tmp_path: Path, build, engine: ScriptedEngine, llama: LlamaCppEngine
) -> None:
    settings = Settings()
    settings.llamacpp.n_threads = 1
    folder = write_corpus(tmp_path / "docs")
    report = await index_paths(Workspace.open("default"), llama, settings, [folder])
    assert len(report.added) == 3, report.summary()
    engine.scripts = [Script(["Employees get twenty-seven ", "days a year [1]."])]

    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        docs = use_documents(app, llama, settings)
        await palette(pilot, "Documents: on")
        await wait_for(lambda: chat(app).conversation.documents, pilot)
        assert "docs on" in str(chat(app).status.render())

        await send(pilot, QUESTION)
        await wait_for(lambda: not chat(app).generating, pilot, timeout=120)
        await pilot.pause()
        conv_id = chat(app).conversation.id

        # The request carries the numbered passages; the transcript, the user's words.
        sent = sent_question(engine)
        assert sent.startswith("Answer the question using only the numbered sources")
        assert "[1] handbook.md > Staff handbook > Annual leave, lines 5-6" in sent
        assert sent.rstrip().endswith("Answer (cite sources as [n]):")
        user, answer = last_events(conv_id)
        assert user["content"] == QUESTION
        assert answer["content"] == "Employees get twenty-seven days a year [1]."
        first = answer["sources"][0]
        assert Path(first["path"]).name == "handbook.md"
        assert (first["line_start"], first["line_end"]) == (5, 6)
        assert answer["retrieval"]["query"] == QUESTION
        assert answer["retrieval"]["mode"] == "hybrid"
        assert answer["retrieval"]["model"] == "all-minilm-l6-v2"

        text = panel_text(app)
        assert "[1] handbook.md > Staff handbook > Annual leave · lines 5-6" in text
        assert "twenty-seven days a year [1]." in screen_text(app)
        docs.close()

    # A restart: the toggle and the sources come back from the transcript.
    engine.scripts = []
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = chat(app)
        await screen.open_conversation(screen.store.load(conv_id))
        await pilot.pause()
        assert "docs on" in str(screen.status.render())
        assert "[1] handbook.md > Staff handbook > Annual leave · lines 5-6" in panel_text(app)
        await pilot.press("alt+s")
        await wait_for(lambda: isinstance(app.focused, SourceList), pilot)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChunkScreen), pilot)
        chunk = str(app.screen.query_one("#chunk-text").render())
        assert "twenty-seven days of annual leave" in chunk
        assert "lines 5-6" in str(app.screen.query_one("#chunk-meta").render())
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ChunkScreen), pilot)


async def test_toggle_is_per_conversation_stored_and_in_the_palette(build, engine) -> None:
    app = build()
    async with app.run_test() as pilot:
        screen = chat(app)
        titles = [title for title, _, _ in await screen.palette_commands()]
        assert "Documents: on" in titles and "Documents: off" not in titles
        await documents_on(app, pilot)  # before the first message: saved with it
        assert "docs on" in str(screen.status.render())
        titles = [title for title, _, _ in await screen.palette_commands()]
        assert "Documents: off" in titles and "Documents: on" not in titles
        await send(pilot, "hello")
        await idle(app, pilot)
        first = screen.conversation
        params = [e for e in transcript_events(first.id) if e["type"] == "params"]
        assert params[-1]["documents"] is True

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not screen.conversation.documents
        assert "docs on" not in str(screen.status.render())
        await screen.open_conversation(screen.store.load(first.id))
        assert "docs on" in str(screen.status.render())
        await pilot.press("alt+d")
        await wait_for(lambda: not first.documents, pilot)
        params = [e for e in transcript_events(first.id) if e["type"] == "params"]
        assert params[-1]["documents"] is False
        assert "docs on" not in str(screen.status.render())


async def test_no_index_yet_sends_the_question_without_sources(build, engine) -> None:
    engine.scripts = [Script(["I cannot see any documents."])]
    app = build()  # the app's own wiring: no registry, so the chat engine embeds
    async with app.run_test() as pilot:
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await idle(app, pilot)
        assert sent_question(engine) == QUESTION
        text = panel_text(app)
        assert "no documents are indexed in this workspace yet" in text
        assert "sent without sources" in text
        assert "Sources" not in text
        _, answer = last_events(chat(app).conversation.id)
        assert answer["content"] == "I cannot see any documents."
        assert "sources" not in answer
        assert "no documents are indexed" in answer["retrieval"]["note"]


async def test_embedding_engine_down_falls_back_to_keywords_and_says_so(
    tmp_path: Path, build, engine: ScriptedEngine
) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(down=True), settings)
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await idle(app, pilot)
        text = panel_text(app)
        assert "keyword search only" in text
        assert "connection refused by 127.0.0.1:9" in text
        assert "handbook.md > Staff handbook > Annual leave · lines 5-6" in text
        assert "handbook.md > Staff handbook > Annual leave, lines 5-6" in sent_question(engine)
        _, answer = last_events(chat(app).conversation.id)
        assert answer["retrieval"]["mode"] == "lexical"
        assert answer["status"] == "complete"

        await send(pilot, "zebra quokka")  # no keyword matches: the model is told so
        await idle(app, pilot)
        assert "no passage of your documents matched" in panel_text(app)
        assert "No passage of the user's documents matched" in sent_question(engine)


async def test_index_of_another_model_is_searched_by_keywords_with_a_note(
    tmp_path: Path, build, engine: ScriptedEngine
) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(model="other-embed"), settings)
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await idle(app, pilot)
        text = panel_text(app)
        assert "keyword search only" in text
        assert "built with words-embed" in text
        assert "[1] handbook.md" in text


async def test_remote_embedding_engine_is_refused_and_the_chat_goes_on(
    tmp_path: Path, build, engine: ScriptedEngine
) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    remote = WordsEmbedder(remote=True)
    engine.scripts = [Script(["From general knowledge: it varies."])]
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, remote, settings)
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await wait_for(lambda: isinstance(app.screen, RemoteDocumentsScreen), pilot)
        await pilot.press("n")  # the workspace does not allow that host
        await idle(app, pilot)
        assert remote.texts == []  # nothing was sent to it
        assert sent_question(engine) == QUESTION
        text = panel_text(app)
        assert "is not on this machine" in text and "sent without documents" in text
        assert "From general knowledge" in screen_text(app)
        _, answer = last_events(chat(app).conversation.id)
        assert answer["status"] == "complete" and "sources" not in answer


async def test_escape_while_searching_stops_and_the_chat_goes_on(
    tmp_path: Path, build, engine: ScriptedEngine
) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    stuck = WordsEmbedder(hold=True)
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, stuck, settings)
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await wait_for(stuck.held.is_set, pilot)
        view = chat(app).messages.views[-1]
        assert "Searching your documents" in str(view.query_one(".note").render())
        await pilot.press("escape")
        await idle(app, pilot)
        assert view.status == "stopped"
        assert engine.requests == []
        await pilot.press("alt+d")  # documents off: the next question goes straight out
        await wait_for(lambda: not chat(app).conversation.documents, pilot)
        await send(pilot, "still there?")
        await idle(app, pilot)
        assert sent_question(engine) == "still there?"


async def test_sources_panel_shows_names_as_text_and_opens_with_enter(
    tmp_path: Path, build, engine: ScriptedEngine
) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    (folder / "[bold red]notes.md").write_text(
        "# Travel [bold]rules[/bold]\n\nTravel expenses need a receipt.\n", encoding="utf-8")
    await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    app = build(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(), settings)
        await documents_on(app, pilot)
        await send(pilot, "travel expenses receipt")
        await idle(app, pilot)
        text = panel_text(app)
        assert "[bold red]notes.md > Travel [bold]rules[/bold]" in text
        assert "Expenses [b]policy[/b]" in text
        assert "[bold red]notes.md" in screen_text(app)
        sources = panel(app).source_list
        assert sources is not None
        sources.focus()
        sources.highlighted = 0
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, ChunkScreen), pilot)
        opened = app.screen.source  # type: ignore[attr-defined]
        assert opened.number == 1
        assert opened.text in str(app.screen.query_one("#chunk-text").render())


def test_snapshot_answer_with_sources(snap_compare, tmp_path: Path) -> None:
    settings = Settings()
    folder = write_corpus(tmp_path / "docs")
    engine = ScriptedEngine(scripts=[Script(
        ["Employees receive ", "twenty-seven days ", "of annual leave [1]."])])
    app = OffyApp(settings=settings, workspace=Workspace.open("default"), engine=engine)
    app.animation_level = "none"

    async def run_before(pilot) -> None:
        await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
        use_documents(app, WordsEmbedder(), settings)
        chat(app).prompt.cursor_blink = False
        await documents_on(app, pilot)
        await send(pilot, QUESTION)
        await idle(app, pilot)
        app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
