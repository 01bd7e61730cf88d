"""Versions by keyboard at terminal level: the real ``offyai`` in tmux, keys as bytes.

Each burst is one write (``send-keys -H``): selecting a prompt with Alt+Up and Up,
editing it and sending; cycling a version with Alt+Left and sending right after it.
Applied out of order, the edit would land in the wrong prompt and the message sent
after the cycle would hang below the wrong version; the transcript says which.
A scripted loopback Ollama answers.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import events, start_tui, transcripts, wait_ready
from tests.e2e.keys import BACKSPACE, ENTER, REPLY
from tests.e2e.scripted_ollama import scripted_ollama

pytestmark = pytest.mark.slow

UP = "\x1b[A"
ALT_UP = "\x1b[1;3A"
ALT_LEFT = "\x1b[1;3D"
CTRL_R = "\x12"


def messages(home) -> list[dict]:
    """Every stored message line, last state per id, in the order first written."""
    out: dict[str, dict] = {}
    for event in events(transcripts(home)[-1]):
        if event.get("type") == "message":
            out[event["id"]] = {**out.get(event["id"], {}), **event}
    return list(out.values())


def wait_answers(home, count: int, timeout: float = 45.0) -> list[dict]:
    """Wait for ``count`` ended answers on disk, on any branch (versions count)."""
    deadline = time.monotonic() + timeout
    stored: list[dict] = []
    while time.monotonic() < deadline:
        stored = messages(home) if transcripts(home) else []
        ended = [m for m in stored if m.get("role") == "assistant"
                 and m.get("status") in ("complete", "stopped", "error")]
        if len(ended) >= count:
            return stored
        time.sleep(0.2)
    raise AssertionError(f"{count} answers not on disk: {stored}")


def test_edit_regenerate_and_cycle_keys_in_bursts(app_home, user_home) -> None:
    with (
        scripted_ollama(REPLY) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        wait_ready(tui, model="scripted")
        tui.send_bytes(("one" + ENTER + "two" + ENTER).encode())
        wait_answers(app_home, 2)

        # Select the first prompt (answer 2, prompt 2, answer 1, prompt 1), edit it, send.
        burst = ALT_UP + UP * 3 + "e" + BACKSPACE * 3 + "uno" + ENTER
        tui.send_bytes(burst.encode())
        stored = wait_answers(app_home, 3)
        users = [m for m in stored if m.get("role") == "user"]
        first_answer = next(m for m in stored if m.get("role") == "assistant")
        assert [(m["content"], m.get("parent_id")) for m in users] == [
            ("one", None), ("two", first_answer["id"]), ("uno", None)]
        assert "Editing message" not in tui.screen()
        assert len(server.chats) == 3
        assert [m["content"] for m in server.chats[-1]["messages"] if m["role"] == "user"] == [
            "uno"]

        # A new version of the answer to "uno", then back to the first one and a
        # message sent in the same burst: it must follow the version shown.
        tui.send_bytes(CTRL_R.encode())
        wait_answers(app_home, 4)
        tui.wait_for("‹ 2/2 ›", timeout=30)
        tui.send_bytes((ALT_LEFT + "three" + ENTER).encode())
        stored = wait_answers(app_home, 5)
        uno = next(m for m in stored if m.get("content") == "uno")
        versions = [m for m in stored if m.get("parent_id") == uno["id"]]
        assert len(versions) == 2
        three = next(m for m in stored if m.get("content") == "three")
        assert three["parent_id"] == versions[0]["id"]  # the first version, shown by Alt+Left
        sent = server.chats[-1]["messages"]
        assert [m["role"] for m in sent if m["role"] != "system"] == [
            "user", "assistant", "user"]
        assert tui.wait_for("‹ 1/2 ›", timeout=10)
