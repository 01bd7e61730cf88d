"""Alt keys and pastes as a terminal sends them: bytes through tmux, not Pilot key names.

Terminals send Alt+D as ESC d and Alt+Enter as ESC CR; a bracketed paste
arrives between ``ESC[200~`` and ``ESC[201~`` and may itself hold escape codes
(a copied compiler error). The real ``offyai`` in tmux gets exactly those
bytes; what it did is read back from the screen, from tmux's paste buffer
(OSC 52 copies) and from the transcript.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import events, start_tui, transcripts, wait_ready
from tests.e2e.keys import ENTER, user_messages, wait_user_messages
from tests.e2e.scripted_ollama import scripted_ollama

pytestmark = pytest.mark.slow

ANSWER = ["Here it is:\n\n", "```python\n", "print(1)\n", "```\n"]
PASTED = "\x1b[31mfailed\x1b[0m at line 3\nline3 end\nline1 ok\nerror: "
SHOWN = "␛[31mfailed␛[0m at line 3\nline3 end\nline1 ok\nerror: "


def test_alt_keys_and_a_paste_with_escape_codes_in_a_real_terminal(app_home, user_home) -> None:
    with (
        scripted_ollama(ANSWER) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        tui.set_option("set-clipboard", "on")
        wait_ready(tui, model="scripted")
        tui.submit("show me code")  # typed, then Enter: the Alt keys are what is tested here
        expected = ["show me code"]
        wait_user_messages(app_home, expected)
        tui.wait_for("tok/s")

        tui.send_bytes(b"\x1bc")  # Alt+C
        tui.wait_for("Copied the last answer")
        assert tui.buffer() == "".join(ANSWER)
        tui.send_bytes(b"\x1bb")  # Alt+B
        tui.wait_for("Copied code block 1 of 1 (python)")
        assert tui.buffer().rstrip("\n") == "print(1)"
        tui.send_bytes(b"\x1bs")  # Alt+S
        tui.wait_for("No answer on screen has sources")
        tui.send_bytes(b"\x1bd")  # Alt+D
        tui.wait_for("Documents on")
        tui.send_bytes(b"\x1bd")
        tui.wait_for("Documents off")
        path = transcripts(app_home)[-1]
        toggles = [e["documents"] for e in events(path) if e["type"] == "params"]
        assert toggles == [True, False], toggles

        # Alt keys inside a burst, then text: each key once, in order, nothing typed.
        tui.send_bytes(b"\x1bd\x1bdone" + b"\x1b\r" + b"two" + ENTER.encode())
        expected.append("one\ntwo")
        wait_user_messages(app_home, expected)
        toggles = [e["documents"] for e in events(path) if e["type"] == "params"]
        assert toggles == [True, False, True, False], toggles

        # A bracketed paste with colour codes and line ends: one prompt, not sent.
        tui.paste(PASTED)
        tui.wait_for("␛[31mfailed␛[0m at line 3")
        screen = tui.wait_for("error:")
        assert "line3 end" in screen and "line1 ok" in screen, screen
        assert user_messages(app_home) == expected  # a paste never sends
        tui.send("Enter")
        expected.append(SHOWN)
        wait_user_messages(app_home, expected)
        assert "failed" not in tui.pane_title()


def test_a_suspended_app_hands_the_terminal_back_in_its_own_mode(app_home, user_home) -> None:
    """offyai reads the terminal raw from its first line; a suspend must not leave it raw."""
    with (
        scripted_ollama(ANSWER) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        wait_ready(tui, model="scripted")
        before = _mode(tui)
        assert "-icanon" in before and "-echo " in before  # the app's raw mode
        os.kill(tui.pid, signal.SIGTSTP)
        deadline = time.monotonic() + 10
        while "-icanon" in (mode := _mode(tui)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert " icanon" in mode and " echo " in mode, mode
        os.kill(tui.pid, signal.SIGCONT)
        tui.wait_until(lambda _: "-icanon" in _mode(tui), "raw mode again after SIGCONT", 10)
        tui.send_bytes(b"after resume" + ENTER.encode())
        wait_user_messages(app_home, ["after resume"])


def _mode(tui) -> str:
    tty = tui.pane_tty()
    return " " + subprocess.run(["stty", "-F", tty, "-a"], capture_output=True, text=True,
                                timeout=10).stdout.replace("\n", " ") + " "
