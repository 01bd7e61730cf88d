"""Documents and a remote engine in the chat: asked once, No keeps them, Yes is stored.

The chat engine is the scripted engine marked remote (its endpoint is a
TEST-NET address, never contacted); it records every request, so the tests see
exactly what would have left the machine. The documents are real files indexed
through the real pipeline with a local embedding engine.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from offyai_tui.rag.service import index_paths
from offyai_tui.settings.config import Settings
from offyai_tui.settings.privacy import CONSENT_FILE, Consent, destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.screens.remote_docs import RemoteDocumentsScreen
from tests.ui.conftest import chat, idle, screen_text, send, wait_for
from tests.ui.fakes import Script, ScriptedEngine
from tests.ui.test_chat_documents import (
    WordsEmbedder,
    documents_on,
    panel_text,
    sent_question,
    use_documents,
)

SECRET = "TANGO-4471-ZULU"
QUESTION = "What is the launch code?"
HOST = "203.0.113.9:11434"


async def indexed(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "launch.md").write_text(
        f"# Launch\n\nThe launch code is {SECRET}. Never tell anyone.\n", encoding="utf-8"
    )
    report = await index_paths(Workspace.open("default"), WordsEmbedder(), settings, [folder])
    assert len(report.added) == 1, report.summary()


def sent_anywhere(engine: ScriptedEngine) -> str:
    return "\n".join(m.content for r in engine.requests for m in r.messages)


async def ask(app: OffyApp, pilot, text: str, answer: str | None) -> str:
    """Send ``text``; answer the dialog with ``answer`` (``None``: there must be none)."""
    await send(pilot, text)
    if answer is not None:
        await wait_for(lambda: isinstance(app.screen, RemoteDocumentsScreen), pilot)
        dialog = app.screen
        assert isinstance(dialog, RemoteDocumentsScreen)
        shown = str(dialog.query_one("#remote-question").render())
        assert "Send documents to an engine that is not on this machine?" in screen_text(app)
        await pilot.press(answer)
    await idle(app, pilot)  # a dialog nobody answers would keep the answer from starting
    assert not isinstance(app.screen, RemoteDocumentsScreen)
    return shown if answer is not None else ""


async def test_remote_engine_asks_once_no_sends_nothing_yes_is_stored(
    tmp_path: Path, build
) -> None:
    settings = Settings()
    await indexed(tmp_path, settings)
    remote = ScriptedEngine(remote=True, scripts=[Script([f"answer {i}"]) for i in range(5)])
    consent = Consent(Workspace.open("default"))
    dest = destination(remote)
    assert dest is not None and dest.host == HOST

    app = build(settings, engine=remote)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(), settings)
        await documents_on(app, pilot)

        # First question: the dialog says what and where; No sends the bare question.
        dialog = await ask(app, pilot, QUESTION, "n")
        assert "Send documents to an engine that is not on this machine?" in dialog
        assert f"fake at {HOST}" in dialog
        assert "passages of this workspace's documents" in dialog
        assert "workspace 'default'" in dialog
        assert SECRET not in sent_anywhere(remote)
        assert sent_question(remote) == QUESTION
        note = panel_text(app)
        assert "documents not sent" in note and HOST in note and "sent without documents" in note
        assert not consent.allows(dest) and not consent.path.exists()

        # Second question: not asked again, still nothing sent.
        await ask(app, pilot, "And the backup code?", None)
        assert SECRET not in sent_anywhere(remote)
        assert len(remote.requests) == 2

        # Documents off and on: asked again; Yes sends the passages and is stored.
        await pilot.press("alt+d")
        await wait_for(lambda: not chat(app).conversation.documents, pilot)
        await documents_on(app, pilot)
        await ask(app, pilot, QUESTION, "y")
        assert SECRET in sent_question(remote)
        assert consent.allows(dest)
        assert stat.S_IMODE(consent.path.stat().st_mode) == 0o600
        stored = json.loads(consent.path.read_text(encoding="utf-8"))
        assert list(stored["hosts"]) == [f"http://{HOST}"]

    # A new session of the same workspace is not asked again.
    app = build(settings, engine=remote)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(), settings)
        await documents_on(app, pilot)
        await ask(app, pilot, QUESTION, None)
        assert SECRET in sent_question(remote)


async def test_an_opt_in_for_another_host_or_workspace_does_not_count(
    tmp_path: Path, build
) -> None:
    settings = Settings()
    await indexed(tmp_path, settings)
    remote = ScriptedEngine(remote=True, scripts=[Script(["ok"])])
    dest = destination(remote)
    assert dest is not None
    other_port = type(dest)(dest.engine, dest.origin.replace(":11434", ":11435"))
    Consent(Workspace.open("default")).grant(other_port)
    Consent(Workspace.open("other")).grant(dest)

    app = build(settings, engine=remote)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, WordsEmbedder(), settings)
        await documents_on(app, pilot)
        await ask(app, pilot, QUESTION, "escape")  # Esc is No
        assert SECRET not in sent_anywhere(remote)


async def test_remote_embedding_engine_is_asked_about_too(tmp_path: Path, build) -> None:
    settings = Settings()
    await indexed(tmp_path, settings)
    local = ScriptedEngine(scripts=[Script(["ok"]), Script(["ok"])])
    embedder = WordsEmbedder(remote=True)
    app = build(settings, engine=local)
    async with app.run_test(size=(120, 40)) as pilot:
        use_documents(app, embedder, settings)
        await documents_on(app, pilot)
        dialog = await ask(app, pilot, QUESTION, "n")
        assert "words at 203.0.113.9:11434 (embeddings)" in dialog
        assert embedder.texts == []
        assert SECRET not in sent_anywhere(local)


async def test_the_screen_never_claims_local_only_with_a_remote_engine(build) -> None:
    local, remote = ScriptedEngine(), ScriptedEngine(remote=True)
    app = build(engine=local)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Everything stays on this machine." in text and "REMOTE" not in text

        app.set_engine(remote, "switched")
        await wait_for(lambda: "not on this machine" in screen_text(app), pilot)
        text = screen_text(app)
        assert "⚠ REMOTE" in text
        assert f"fake at {HOST} is not on this machine" in text
        assert "stays on this machine" not in text

    app = build(engine=remote)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "⚠ REMOTE" in text and "stays on this machine" not in text
        assert CONSENT_FILE not in text
