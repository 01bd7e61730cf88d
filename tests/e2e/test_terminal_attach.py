"""Dropped files as a terminal pastes them: bytes through tmux, not Pilot events.

Terminals paste a dropped file as its path inside a bracketed paste
(``ESC[200~ … ESC[201~``), quoted or with backslash-escaped spaces. The real
``offyai`` in tmux gets exactly those bytes; the chips are read back from the
screen and the attachments from the transcript. tmux passes no graphics, so an
image preview there is half-block cells.
"""

from __future__ import annotations

import pytest
from PIL import Image

from offyai_tui.chat.transcript import read_transcript
from tests.e2e.conftest import start_tui, transcripts, wait_ready
from tests.e2e.keys import wait_user_messages
from tests.e2e.scripted_ollama import scripted_ollama

pytestmark = pytest.mark.slow

PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"


def test_dropped_paths_pasted_as_bytes_become_chips(app_home, user_home, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "my notes.txt").write_text("the meeting is on Tuesday\n")
    (drop / "other file.txt").write_text("bring the slides\n")
    Image.new("RGB", (64, 32), "orange").save(drop / "shot 1.png")
    with (
        scripted_ollama(["Noted."]) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        wait_ready(tui, model="scripted")
        quoted = f"'{drop / 'my notes.txt'}'".encode()
        tui.send_bytes(PASTE_START + quoted + PASTE_END)
        tui.wait_for("[file 1: my notes.txt")
        escaped = str(drop / "other file.txt").replace(" ", "\\ ").encode()
        tui.send_bytes(PASTE_START + escaped + PASTE_END)
        tui.wait_for("[file 2: other file.txt")
        tui.send_bytes(PASTE_START + str(drop / "shot 1.png").encode() + PASTE_END)
        tui.wait_for("[image 3: shot 1.png 64×32")

        tui.send_bytes(b"\x1ba")  # Alt+A: the chip bar
        tui.wait_for("Delete removes")
        tui.send("Left", "Enter")  # the last chip, the image: its preview
        screen = tui.wait_for("Esc closes")
        assert "▀" in screen, screen
        tui.send("Escape")
        tui.wait_until(lambda text: "Esc closes" not in text, "the preview closed")
        tui.send("Delete")  # the image goes: no vision model is needed
        tui.wait_until(lambda text: "[image 3" not in text, "the image chip removed")
        tui.send("Escape")  # back to the prompt (waited for: ESC then a letter is Alt)
        tui.wait_until(lambda text: "Delete removes" not in text, "the prompt focused")

        tui.submit("what is on?")
        wait_user_messages(app_home, ["what is on?"])
        message = [m for m in read_transcript(transcripts(app_home)[-1]).messages
                   if m.role == "user"][-1]
        assert [a.name for a in message.files] == ["my notes.txt", "other file.txt"]
        assert message.images == []
        assert "[file 1: my notes.txt" in tui.screen()
