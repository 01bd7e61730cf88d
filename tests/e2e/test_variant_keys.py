"""Versions by keyboard at terminal level: the real ``offyai`` in tmux, keys as bytes.

Each burst is one write (``send-keys -H``): selecting a prompt with Alt+Up and Up,
editing it and sending; cycling versions with Alt+Left/Right and sending right after;
selecting, copying and deleting a turn (Delete, then ``y`` in the dialog).
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
ALT_RIGHT = "\x1b[1;3C"
CTRL_G = "\x07"
DELETE = "\x1b[3~"
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
        tui.set_option("set-clipboard", "on")
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
        tui.send_bytes((ALT_LEFT + ALT_RIGHT + ALT_LEFT + "three" + ENTER).encode())
        stored = wait_answers(app_home, 5)
        uno = next(m for m in stored if m.get("content") == "uno")
        versions = [m for m in stored if m.get("parent_id") == uno["id"]]
        assert len(versions) == 2
        three = next(m for m in stored if m.get("content") == "three")
        assert three["parent_id"] == versions[0]["id"]  # the first version, shown by Alt+Left
        sent = server.chats[-1]["messages"]
        assert [m["role"] for m in sent if m["role"] != "system"] == [
            "user", "assistant", "user"]
        tui.wait_for("‹ 1/2 ›", timeout=10)

        # Ctrl+G on a complete answer: one line, nothing sent.
        tui.send_bytes(CTRL_G.encode())
        tui.wait_for("Cannot continue", timeout=10)
        assert len(server.chats) == 5

        # Select "uno" (answer 3, three, answer, uno), copy it, delete its turn: asked
        # first; the turn goes with every version of the prompt ("one", which "uno"
        # edited) and their answers, and "three" moves up to the start.
        tui.send_bytes((ALT_UP + UP * 3 + "c").encode())
        tui.wait_for("Copied your message", timeout=10)
        assert tui.buffer() == "uno"
        tui.send_bytes((DELETE + "y").encode())
        tui.wait_until(lambda screen: "uno" not in screen, "the turn deleted", 10)
        deleted = {e["id"] for e in events(transcripts(app_home)[-1])
                   if e.get("type") == "deleted"}
        one = next(m for m in stored if m.get("content") == "one")
        assert deleted == {uno["id"], *(v["id"] for v in versions), one["id"], first_answer["id"]}
        assert "Back to prompt" in tui.screen()  # the list still has focus
        tui.send_bytes(b"\x1b")  # Esc alone (ESC and a letter in one write is Alt+letter)
        tui.wait_until(lambda screen: "Back to prompt" not in screen, "the prompt focused", 10)
        tui.send_bytes(("four" + ENTER).encode())
        stored = wait_answers(app_home, 6)
        four = next(m for m in stored if m.get("content") == "four")
        assert four["parent_id"] == next(
            m for m in stored if m.get("parent_id") == three["id"])["id"]
