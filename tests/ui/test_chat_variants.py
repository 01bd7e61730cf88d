"""Regenerate, cycle, edit and continue by keyboard in the chat screen.

The engine is the real Ollama client talking to the loopback stand-in with the
bundled SmolLM2 behind it; what it was sent is read back from ``/_test/state`` and
what was stored from the transcript on disk. One continue runs on the embedded engine
(the default) with the same bundled model.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.settings.config import Settings
from offyai_tui.ui.app import OffyApp
from tests.ollama_fixtures import ollama_settings
from tests.ollama_server import CHAT_MODEL
from tests.ui.conftest import chat, screen_text, send, transcript_events, wait_for

pytestmark = pytest.mark.slow


def chat_requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"
            and r["body"].get("messages")]


def talk(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation a request carried (the mode's system prompt left out)."""
    return [m for m in body["messages"] if m["role"] != "system"]


def saved_messages(conv_id: str) -> dict[str, dict[str, Any]]:
    """The last stored line of every message of the transcript, by id."""
    out: dict[str, dict[str, Any]] = {}
    for event in transcript_events(conv_id):
        if event.get("type") == "message":
            out[event["id"]] = event
    return out


@pytest.fixture
def ollama_app(build, ollama_server: str):
    settings = ollama_settings(ollama_server)
    settings.chat.model = CHAT_MODEL
    settings.chat.temperature = 1.0
    engine = OllamaEngine(settings)
    yield build(settings=settings, engine=engine)


async def answered(app: OffyApp, pilot: Any) -> None:
    await wait_for(lambda: not chat(app).generating, pilot, timeout=60)
    await pilot.pause()


async def test_regenerate_then_cycle_and_the_chat_goes_on_from_the_version_shown(
    ollama_app: OffyApp, ollama_server: str
) -> None:
    app = ollama_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Name a colour.")
            await answered(app, pilot)
            conv = chat(app).conversation
            prompt, first = conv.messages
            before = len(chat_requests(ollama_server))
            await pilot.press("ctrl+r")
            await answered(app, pilot)
            second = conv.messages[-1]
            assert second.id != first.id and second.status == "complete"
            sent = chat_requests(ollama_server)[before:]
            assert len(sent) == 1
            assert talk(sent[0]) == [{"role": "user", "content": "Name a colour."}]
            stored = saved_messages(conv.id)
            assert stored[first.id]["parent_id"] == stored[second.id]["parent_id"] == prompt.id
            assert "‹ 2/2 ›" in screen_text(app)
            assert len(chat(app).messages.views) == 2  # the old answer is not drawn beside it

            await pilot.press("alt+left")  # the prompt has focus: the last answer cycles
            await pilot.pause()
            assert [m.id for m in conv.messages] == [prompt.id, first.id]
            assert "‹ 1/2 ›" in screen_text(app)
            shown = [e for e in transcript_events(conv.id) if e.get("type") == "shown"]
            assert shown and shown[-1]["id"] == first.id

            before = len(chat_requests(ollama_server))
            await send(pilot, "Another one?")
            await answered(app, pilot)
            history = talk(chat_requests(ollama_server)[before])
            assert [m["role"] for m in history] == ["user", "assistant", "user"]
            assert history[1]["content"] == first.content
            assert saved_messages(conv.id)[conv.messages[2].id]["parent_id"] == first.id
    finally:
        await app.engine.aclose()


async def test_edit_an_earlier_prompt_makes_a_branch_and_cycling_brings_the_old_back(
    ollama_app: OffyApp, ollama_server: str
) -> None:
    app = ollama_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Say hello.")
            await answered(app, pilot)
            await send(pilot, "Say goodbye.")
            await answered(app, pilot)
            screen = chat(app)
            conv = screen.conversation
            old_branch = [m.id for m in conv.messages]
            await pilot.press("alt+up", "up", "up", "up")  # answer 2, prompt 2, answer 1, prompt 1
            assert screen.messages.has_focus and screen.messages.selected == old_branch[0]
            await pilot.press("e")
            assert screen.prompt.has_focus and screen.prompt.text == "Say hello."
            assert "Editing message" in screen_text(app)
            await pilot.press(*["backspace"] * len("hello."), *"thanks.")
            before = len(chat_requests(ollama_server))
            await pilot.press("enter")
            await answered(app, pilot)
            sent = chat_requests(ollama_server)[before:]
            assert len(sent) == 1
            assert talk(sent[0]) == [{"role": "user", "content": "Say thanks."}]
            edited, answer = conv.messages
            assert edited.content == "Say thanks." and answer.status == "complete"
            stored = saved_messages(conv.id)
            assert stored[edited.id]["parent_id"] is None
            assert stored[old_branch[0]]["parent_id"] is None  # the old prompt stays
            assert "Editing message" not in screen_text(app)
            assert "‹ 2/2 ›" in screen_text(app) and "Say goodbye." not in screen_text(app)

            await pilot.press("alt+up", "up")  # the edited prompt
            assert screen.messages.selected == edited.id
            await pilot.press("left")
            await pilot.pause()
            assert [m.id for m in conv.messages] == old_branch  # the whole old branch
            assert "Say goodbye." in screen_text(app) and "‹ 1/2 ›" in screen_text(app)
            assert screen.messages.selected == old_branch[0]
            await pilot.press("escape")
            assert screen.prompt.has_focus
    finally:
        await app.engine.aclose()


async def test_editing_is_cancelled_with_esc_and_the_draft_comes_back(
    ollama_app: OffyApp,
) -> None:
    app = ollama_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Say hello.")
            await answered(app, pilot)
            screen = chat(app)
            await pilot.press(*"draft")
            await pilot.press("alt+up", "up", "enter")  # Enter edits too
            assert screen.prompt.text == "Say hello."
            await pilot.press("escape")
            assert screen.prompt.text == "draft" and screen.variants.editing is None
            assert "Editing message" not in screen_text(app)
            assert len(screen.conversation.messages) == 2
    finally:
        await app.engine.aclose()


async def test_continue_grows_a_length_cut_answer_in_its_own_view(
    ollama_app: OffyApp, ollama_server: str
) -> None:
    app = ollama_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "/set parameter num_predict 6")
            # Greedy: the words that follow are known prose (a sampled "\n2." would be an
            # empty list item, which Markdown draws as nothing to find on screen).
            await send(pilot, "/set parameter temperature 0")
            await send(pilot, "Tell me a long story about a cat.")
            await answered(app, pilot)
            screen = chat(app)
            conv = screen.conversation
            answer = conv.messages[-1]
            cut = answer.content
            assert answer.stats.get("done_reason") == "length" and cut
            view = screen.messages.view_for(answer.id)
            before = len(chat_requests(ollama_server))
            await pilot.press("ctrl+g")
            await answered(app, pilot)
            sent = chat_requests(ollama_server)[before:]
            assert len(sent) == 1
            assert sent[0]["messages"][-1] == {"role": "assistant", "content": cut}
            assert conv.messages[-1] is answer and len(conv.messages) == 2
            assert answer.content.startswith(cut) and len(answer.content) > len(cut)
            assert screen.messages.view_for(answer.id) is view
            assert view.status == answer.status and len(screen.messages.views) == 2
            events = transcript_events(conv.id)
            assert any(e.get("type") == "continue" and e["id"] == answer.id for e in events)
            assert saved_messages(conv.id)[answer.id]["content"] == answer.content
            shown = screen_text(app).replace("▕", " ")  # the sidebar's edge on every line
            assert " ".join(answer.content.split()[-2:]) in " ".join(shown.split())
    finally:
        await app.engine.aclose()


async def test_continue_on_the_embedded_engine_grows_the_answer_in_its_view(build) -> None:
    settings = Settings()
    settings.llamacpp.n_threads = 2
    app = build(settings=settings, engine=LlamaCppEngine(settings))
    try:
        async with app.run_test() as pilot:
            await send(pilot, "/set parameter num_predict 6")
            await send(pilot, "Tell me a long story about a cat.")
            await answered(app, pilot)
            screen = chat(app)
            conv = screen.conversation
            answer = conv.messages[-1]
            cut = answer.content
            assert answer.stats.get("done_reason") == "length" and cut
            view = screen.messages.view_for(answer.id)
            await pilot.press("ctrl+g")
            await answered(app, pilot)
            assert conv.messages[-1] is answer and len(conv.messages) == 2
            assert answer.content.startswith(cut) and len(answer.content) > len(cut)
            assert screen.messages.view_for(answer.id) is view and view.status == answer.status
            assert saved_messages(conv.id)[answer.id]["content"] == answer.content
            assert not [n for n in app._notifications if "continue" in str(n.message)]
    finally:
        await app.engine.aclose()


async def test_continue_of_a_complete_answer_is_one_line_and_sends_nothing(
    ollama_app: OffyApp, ollama_server: str
) -> None:
    app = ollama_app
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Say hi.")
            await answered(app, pilot)
            answer = chat(app).conversation.messages[-1]
            if answer.stats.get("done_reason") == "length":
                pytest.skip("the model ran to the length limit")
            before = len(chat_requests(ollama_server))
            await pilot.press("ctrl+g")
            await pilot.pause()
            notes = [str(n.message) for n in app._notifications]
            assert any("Cannot continue: only an answer that was stopped" in n for n in notes)
            assert len(chat_requests(ollama_server)) == before
            assert not chat(app).generating
    finally:
        await app.engine.aclose()


async def test_continue_a_stopped_answer_then_stop_it_again_keeps_both_parts(
    build, ollama_server: str
) -> None:
    settings = ollama_settings(ollama_server)
    settings.chat.model = "slow-model"
    app = build(settings=settings, engine=OllamaEngine(settings))
    try:
        async with app.run_test() as pilot:
            await send(pilot, "Tell me a long story about a lighthouse.")
            screen = chat(app)
            conv = screen.conversation
            await wait_for(lambda: len(conv.messages) == 2
                           and len(conv.messages[-1].content) > 10, pilot, timeout=60)
            await pilot.press("escape")
            await answered(app, pilot)
            answer = conv.messages[-1]
            assert answer.status == "stopped"
            first = answer.content
            before = len(chat_requests(ollama_server))
            await pilot.press("ctrl+g")
            await wait_for(lambda: len(answer.content) > len(first) + 10, pilot, timeout=60)
            assert screen.messages.views[-1].status == "streaming"
            await pilot.press("escape")
            await answered(app, pilot)
            sent = chat_requests(ollama_server)[before:]
            assert len(sent) == 1 and sent[0]["messages"][-1] == {
                "role": "assistant", "content": first}
            assert answer.status == "stopped" and answer.content.startswith(first)
            assert conv.messages[-1] is answer and len(screen.messages.views) == 2
            stored = saved_messages(conv.id)[answer.id]
            assert stored["status"] == "stopped" and stored["content"] == answer.content
    finally:
        await app.engine.aclose()
