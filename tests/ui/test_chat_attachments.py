"""Attachments in the chat screen: chips under the prompt, what a send carries, refusals.

Real PNGs made with Pillow and real text files; the engine is the real Ollama
client against the loopback stand-in, whose ``vision-model`` lists the vision
capability and whose ``/_test/state`` shows the bytes each request carried.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from textual import events

from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.ui.app import OffyApp
from offyai_tui.ui.screens.file_picker import FilePicker
from offyai_tui.ui.screens.image_preview import ImagePreview
from offyai_tui.ui.widgets.chat.attach_bar import AttachBar
from tests.ollama_fixtures import ollama_settings
from tests.ollama_server import CHAT_MODEL
from tests.ui.conftest import chat, screen_text, send, transcript_events, wait_for

pytestmark = pytest.mark.slow


def png(path: Path, size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def chat_requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"
            and r["body"].get("messages")]


def make_app(build: Any, server: str, model: str) -> OffyApp:
    settings = ollama_settings(server)
    settings.chat.model = model
    return build(settings=settings, engine=OllamaEngine(settings))


def bar(app: OffyApp) -> AttachBar:
    return chat(app).query_one("#attachments", AttachBar)


async def attached(app: OffyApp, pilot: Any, count: int) -> None:
    await wait_for(lambda: len(bar(app).labels) == count and not chat(app).attachments.busy,
                   pilot, timeout=15)
    await pilot.pause()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the app runs in (``@path`` and the picker start there)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


async def test_an_image_reaches_a_vision_model_with_its_bytes(
    build: Any, ollama_server: str, folder: Path
) -> None:
    data = png(folder / "photo.png", (120, 80))
    app = make_app(build, ollama_server, "vision-model")
    async with app.run_test(size=(110, 32)) as pilot:
        await send(pilot, "/image photo.png")
        await attached(app, pilot, 1)
        assert bar(app).labels[0].startswith("[image 1: photo.png 120×80 ")
        assert "[image 1: photo.png 120×80" in screen_text(app)
        before = len(chat_requests(ollama_server))
        await send(pilot, "what colour is it?")
        await wait_for(lambda: len(chat_requests(ollama_server)) > before, pilot, timeout=30)
        await wait_for(lambda: not chat(app).generating, pilot, timeout=60)
        body = chat_requests(ollama_server)[-1]
        user = [m for m in body["messages"] if m["role"] == "user"][-1]
        assert user["content"].endswith("what colour is it?")
        sent = [hashlib.sha256(base64.b64decode(i)).hexdigest() for i in user["images"]]
        assert sent == [hashlib.sha256(data).hexdigest()]
        assert bar(app).labels == [], "the chips went with the message"
        shown = chat(app).conversation.messages[-2]
        assert [a.name for a in shown.images] == ["photo.png"]
        assert "[image 1: photo.png 120×80" in screen_text(app), "the message shows its chip"
        stored = [e for e in transcript_events(chat(app).conversation.id)
                  if e.get("type") == "message" and e.get("role") == "user"]
        assert stored[-1]["images"][0]["name"] == "photo.png"
        await pilot.press("alt+up", "up")  # the answer, then the prompt with the image
        assert chat(app).messages.selected == shown.id
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, ImagePreview), pilot)
        await pilot.pause(0.2)
        assert "[image 1: photo.png 120×80" in screen_text(app) and "▀" in screen_text(app)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ImagePreview), pilot)


async def test_a_model_without_vision_refuses_and_keeps_the_prompt_and_chips(
    build: Any, ollama_server: str, folder: Path
) -> None:
    png(folder / "photo.png")
    app = make_app(build, ollama_server, CHAT_MODEL)
    async with app.run_test(size=(110, 32)) as pilot:
        await send(pilot, "/image photo.png")
        await attached(app, pilot, 1)
        before = len(chat_requests(ollama_server))
        await send(pilot, "describe it")
        await wait_for(lambda: "has no vision" in screen_text(app), pilot, timeout=15)
        assert chat(app).prompt.text == "describe it"
        assert len(bar(app).labels) == 1
        assert not [m for m in chat(app).conversation.messages if m.role == "user"]
        await pilot.pause(0.3)
        assert len(chat_requests(ollama_server)) == before, "nothing was sent"


async def test_an_at_path_and_a_chip_removed_before_sending(
    build: Any, ollama_server: str, folder: Path
) -> None:
    (folder / "notes.txt").write_text("alpha beta gamma\n" * 20)
    png(folder / "photo.png")
    app = make_app(build, ollama_server, CHAT_MODEL)
    async with app.run_test(size=(110, 32)) as pilot:
        await send(pilot, "/image photo.png")
        await attached(app, pilot, 1)
        await send(pilot, "/file notes.txt")
        await attached(app, pilot, 2)
        assert bar(app).labels[1].startswith("[file 2: notes.txt ")
        await pilot.press("alt+a")
        assert bar(app).has_focus
        await pilot.press("delete")  # the image: the first chip is selected
        await attached(app, pilot, 1)
        assert bar(app).labels[0].startswith("[file 1: notes.txt ")
        assert bar(app).has_focus, "one chip is left: the bar keeps the focus"
        await pilot.press("escape")
        assert chat(app).prompt.has_focus
        before = len(chat_requests(ollama_server))
        await send(pilot, "sum up")
        await wait_for(lambda: len(chat_requests(ollama_server)) > before, pilot, timeout=30)
        await wait_for(lambda: not chat(app).generating, pilot, timeout=60)
        user = [m for m in chat_requests(ollama_server)[-1]["messages"]
                if m["role"] == "user"][-1]
        assert "alpha beta gamma" in user["content"] and "notes.txt" in user["content"]
        assert not user.get("images")


async def test_the_meter_counts_a_pending_file_and_an_at_path_is_taken(
    build: Any, ollama_server: str, folder: Path
) -> None:
    (folder / "log.txt").write_text("error at line 3\n" * 200)
    app = make_app(build, ollama_server, CHAT_MODEL)
    async with app.run_test(size=(110, 32)) as pilot:
        status = chat(app).status
        await wait_for(lambda: status.context_window > 0, pilot, timeout=15)
        await pilot.pause(0.3)
        empty = status.context_used
        await send(pilot, "/file log.txt")
        await attached(app, pilot, 1)
        tokens = chat(app).attachments.file_tokens()
        assert tokens > 500
        await wait_for(lambda: status.context_used >= empty + tokens, pilot, timeout=10)
        await pilot.press("alt+a", "backspace")
        await attached(app, pilot, 0)
        await wait_for(lambda: status.context_used == empty, pilot, timeout=10)
        before = len(chat_requests(ollama_server))
        await send(pilot, "why @log.txt?")
        await wait_for(lambda: len(chat_requests(ollama_server)) > before, pilot, timeout=30)
        await wait_for(lambda: not chat(app).generating, pilot, timeout=60)
        user = [m for m in chat_requests(ollama_server)[-1]["messages"]
                if m["role"] == "user"][-1]
        assert "error at line 3" in user["content"] and user["content"].endswith("why?")


async def test_a_file_over_the_budget_is_refused_with_the_numbers(
    build: Any, ollama_server: str, folder: Path
) -> None:
    (folder / "book.txt").write_text("word " * 40_000)
    app = make_app(build, ollama_server, CHAT_MODEL)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(lambda: chat(app).status.context_window > 0, pilot, timeout=15)
        await send(pilot, "/file book.txt")
        await wait_for(lambda: "book.txt is" in screen_text(app), pilot, timeout=15)
        text = screen_text(app)
        assert "tokens" in text and "nothing attached" in text
        assert bar(app).labels == []


async def test_the_picker_attaches_by_keyboard_and_a_chip_previews(
    build: Any, ollama_server: str, folder: Path
) -> None:
    (folder / "shots").mkdir()
    (folder / ".secret").write_text("hidden")
    png(folder / "shots" / "error.png", (40, 40), "blue")
    app = make_app(build, ollama_server, "vision-model")
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(lambda: isinstance(app.screen, FilePicker), pilot)
        assert ".secret" not in screen_text(app)
        await pilot.press("enter")  # into shots/
        await pilot.pause()
        await pilot.press("enter")  # error.png
        await attached(app, pilot, 1)
        assert bar(app).labels[0].startswith("[image 1: error.png 40×40")
        await pilot.press("alt+a", "enter")
        await wait_for(lambda: isinstance(app.screen, ImagePreview), pilot)
        await pilot.pause(0.3)
        assert "▀" in screen_text(app), "half-block cells outside a graphics terminal"
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, ImagePreview), pilot)


async def test_a_pasted_file_path_becomes_a_chip_and_a_sentence_stays_text(
    build: Any, ollama_server: str, folder: Path
) -> None:
    png(folder / "my photo.png")
    app = make_app(build, ollama_server, "vision-model")
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        # What a terminal pastes for a dropped file, quoted because of the space.
        await chat(app).prompt._on_paste(events.Paste(f"'{folder / 'my photo.png'}'"))
        await attached(app, pilot, 1)
        assert chat(app).prompt.text == ""
        await chat(app).prompt._on_paste(events.Paste(f"see {folder}/x"))
        await pilot.pause()
        assert chat(app).prompt.text == f"see {folder}/x"
