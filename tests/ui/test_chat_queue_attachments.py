"""Prompts with attachments sent while an answer streams are queued like any prompt.

The engine is the real Ollama client against the loopback stand-in. The answer
being written comes from its ``stall-model`` (three lines, then silence), so the
prompts are queued for as long as the test needs; the test then ends that answer
as a stop does (the worker cancelled), which is when the queue is sent. Images
are real PNGs, and ``/_test/state`` shows the bytes each request carried.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.ui.app import OffyApp
from tests.ui.conftest import chat, screen_text, send, wait_for
from tests.ui.test_chat_attachments import attached, bar, chat_requests, make_app, png

pytestmark = pytest.mark.slow


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the app runs in (``/image`` paths are relative to it)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def stalled_answer(app: OffyApp, pilot: Any, server: str) -> None:
    """Send a first prompt whose answer stalls: it is being written until ended."""
    before = len(chat_requests(server))
    await send(pilot, "hold on")
    await wait_for(lambda: len(chat_requests(server)) > before and chat(app).generating,
                   pilot, timeout=30)


async def queue_with_image(app: OffyApp, pilot: Any, image: str, words: str) -> None:
    await send(pilot, f"/image {image}")
    await attached(app, pilot, 1)
    await send(pilot, words)
    await wait_for(lambda: bar(app).labels == [], pilot)


def end_answer(app: OffyApp) -> None:
    """End the answer being written as a stop does, without Esc's return of the queue."""
    screen = chat(app)
    screen.workers.cancel_group(screen, "generate")


async def test_two_prompts_with_images_queued_while_streaming_go_in_order_with_their_bytes(
    build: Any, ollama_server: str, folder: Path
) -> None:
    red = png(folder / "red.png", (40, 30), "red")
    blue = png(folder / "blue.png", (50, 20), "blue")
    app = make_app(build, ollama_server, "stall-model")
    async with app.run_test(size=(110, 32)) as pilot:
        screen = chat(app)
        await stalled_answer(app, pilot, ollama_server)
        # The model is switched while the prompts wait (as the palette does): the
        # vision check is made when each is sent, for the model answering then.
        screen.conversation.model = "vision-model"
        await queue_with_image(app, pilot, "red.png", "first picture")
        await queue_with_image(app, pilot, "blue.png", "second picture")
        assert [(q.text, [a.name for a in q.images]) for q in screen.queue] == [
            ("first picture", ["red.png"]), ("second picture", ["blue.png"])]
        assert "2 prompts queued" in screen_text(app)
        assert screen.prompt.text == ""
        before = len(chat_requests(ollama_server))
        end_answer(app)
        await wait_for(lambda: len(chat_requests(ollama_server)) >= before + 2
                       and not screen.queue and not screen.generating, pilot, timeout=120)
        bodies = chat_requests(ollama_server)[before:]
        assert [b["model"] for b in bodies] == ["vision-model", "vision-model"]
        for body, words, data in zip(bodies, ["first picture", "second picture"], [red, blue],
                                     strict=True):
            user = [m for m in body["messages"] if m["role"] == "user"][-1]
            assert user["content"] == words
            assert [sha(base64.b64decode(i)) for i in user["images"]] == [sha(data)]
        users = [m for m in screen.conversation.messages if m.role == "user"]
        assert [(m.content, [a.name for a in m.images]) for m in users] == [
            ("hold on", []), ("first picture", ["red.png"]), ("second picture", ["blue.png"])]
        assert "queued" not in screen_text(app)


async def test_a_queued_image_refused_when_sent_comes_back_with_its_chip_and_what_followed(
    build: Any, ollama_server: str, folder: Path
) -> None:
    png(folder / "red.png")
    app = make_app(build, ollama_server, "stall-model")
    async with app.run_test(size=(110, 32)) as pilot:
        screen = chat(app)
        await stalled_answer(app, pilot, ollama_server)
        await queue_with_image(app, pilot, "red.png", "first picture")
        await send(pilot, "and then?")
        assert [q.text for q in screen.queue] == ["first picture", "and then?"]
        before = len(chat_requests(ollama_server))
        end_answer(app)
        await wait_for(lambda: "has no vision" in screen_text(app), pilot, timeout=30)
        assert "the 1 prompt queued after it is back in the prompt too" in screen_text(app)
        assert screen.prompt.text == "first picture\n\nand then?"
        assert [label.split(" ")[2] for label in bar(app).labels] == ["red.png"]
        assert not screen.queue and not screen.generating
        assert [m.content for m in screen.conversation.messages if m.role == "user"] == [
            "hold on"]
        await pilot.pause(0.3)
        assert len(chat_requests(ollama_server)) == before, "nothing was sent"


async def test_escape_returns_a_queued_prompt_with_its_chips_before_new_ones(
    build: Any, ollama_server: str, folder: Path
) -> None:
    png(folder / "red.png", colour="red")
    png(folder / "blue.png", colour="blue")
    app = make_app(build, ollama_server, "stall-model")
    async with app.run_test(size=(110, 32)) as pilot:
        screen = chat(app)
        await stalled_answer(app, pilot, ollama_server)
        await queue_with_image(app, pilot, "red.png", "first picture")
        await send(pilot, "/image blue.png")  # the next prompt's chip, not sent yet
        await attached(app, pilot, 1)
        await pilot.press(*"draft")
        await pilot.press("escape")
        await wait_for(lambda: not screen.generating, pilot, timeout=30)
        assert not screen.queue
        assert screen.prompt.text == "first picture\n\ndraft"
        assert [label.split(" ")[2] for label in bar(app).labels] == ["red.png", "blue.png"]
        assert "queued" not in screen_text(app)
