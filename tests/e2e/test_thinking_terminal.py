"""Reasoning in a real terminal: the real ``offyai`` in tmux, the Ollama-protocol
stand-in on loopback (``thinking-model`` streams ``message.thinking`` a pace apart,
then the real model answers).

What a user sees: the reasoning on screen while it streams, one "Thought for" line
once the answer is written, Alt+T (sent as the terminal sends it, ESC t) showing and
hiding it, and ``t`` on a message selected with Alt+Up doing the same.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import start_tui, wait_ready
from tests.e2e.keys import ENTER

pytestmark = pytest.mark.slow

ALT_T = "\x1bt"
ALT_UP = "\x1b[1;3A"
ESC = "\x1b"


def test_thinking_live_folded_and_toggled_by_keys(app_home, user_home, ollama_server) -> None:
    with start_tui(app_home, user_home, "--model", "thinking-model",
                   OLLAMA_HOST=ollama_server) as tui:
        wait_ready(tui, model="thinking-model")
        tui.send_bytes(("Name a colour." + ENTER).encode())
        screen = tui.wait_for("réfléchis", timeout=60)  # live, before the answer
        assert "Thinking…" in screen
        screen = tui.wait_until(lambda s: "Thought for" in s and "tok/s" in s,
                                "the answer, its reasoning folded", 90)
        assert "réfléchis" not in screen and "alt+t shows" in screen

        tui.send_bytes(ALT_T.encode())
        screen = tui.wait_for("réfléchis", timeout=10)
        assert "alt+t hides" in screen
        tui.send_bytes(ALT_T.encode())
        tui.wait_until(lambda s: "réfléchis" not in s, "the reasoning hidden again", 10)

        tui.send_bytes((ALT_UP + "t").encode())  # one burst: select, then show
        tui.wait_for("réfléchis", timeout=10)
        tui.send_bytes(("t" + ESC).encode())
        tui.wait_until(lambda s: "réfléchis" not in s, "hidden from the selection", 10)
