"""Tool approval in a real terminal: the real ``offyai`` in tmux, the Ollama-protocol
stand-in on loopback (``tools-model`` makes the calls the prompt scripts, then answers
from the real model), and the real ``mcp-server-time`` from PyPI.

What is checked is what a user relies on: nothing runs before a key is pressed in the
question, Enter (or keys typed in a burst with the prompt) denies since Deny is focused,
and ``a`` runs the call once; the transcript records each call and result.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.conftest import events, start_tui, transcripts, wait_ready, write_config
from tests.e2e.keys import ENTER
from tests.tools.helpers import own_server_block, stdio_block, time_server

pytestmark = pytest.mark.slow

CALL = 'calls: [{"name": "time__get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}]'


def _tool_results(app_home) -> list[dict]:
    path = transcripts(app_home)[-1]
    return [e for e in events(path) if e.get("type") == "message" and e.get("role") == "tool"]


def test_a_call_waits_for_a_key_enter_denies_and_a_allows(
    app_home, user_home, ollama_server: str
) -> None:
    write_config(app_home, stdio_block("time", time_server(), []))
    with start_tui(app_home, user_home, "--model", "tools-model",
                   OLLAMA_HOST=ollama_server) as tui:
        wait_ready(tui, model="tools-model")
        # The prompt and an extra Enter arrive in one read: the Enter must not approve.
        tui.send_bytes((CALL + ENTER + ENTER).encode())
        screen = tui.wait_for("wants to run the tool time__get_current_time", timeout=60)
        assert "Asia/Tokyo" in screen and "Deny (d)" in screen
        assert not transcripts(app_home) or not _tool_results(app_home)  # nothing ran yet
        tui.send("Enter")  # Deny is focused
        tui.wait_until(lambda s: "wants to run the tool" not in s, "the question closed", 30)
        tui.wait_until(lambda s: "tok/s" in s, "the answer after the denial", 90)
        denied = _tool_results(app_home)
        assert len(denied) == 1 and "denied" in denied[0]["content"]

        # Typing on after sending: an "a" in the same burst as the prompt allows nothing.
        tui.send_bytes((CALL + ENTER + "a").encode())
        tui.wait_for("wants to run the tool time__get_current_time", timeout=60)
        time.sleep(1.0)
        assert len(_tool_results(app_home)) == 1  # still waiting for the user
        tui.send("a")
        tui.wait_until(lambda s: len(_tool_results(app_home)) == 2, "the second result", 60)
        result = _tool_results(app_home)[-1]
        assert json.loads(result["content"])["timezone"] == "Asia/Tokyo"
        tui.wait_for("Tool result · time__get_current_time")


def test_a_long_result_shows_cut_and_enter_on_it_shows_it_whole(
    app_home, user_home, ollama_server: str
) -> None:
    """An allowed server's long result: its first lines, then Enter on the selected
    result shows every line, and Enter again cuts it; nothing is sent or edited."""
    write_config(app_home, '[tools.policy]\ntest = "allow"\n\n' + own_server_block())
    call = 'calls: [{"name": "test__lines", "arguments": {"count": 14}}]'
    with start_tui(app_home, user_home, "--model", "tools-model",
                   OLLAMA_HOST=ollama_server) as tui:
        wait_ready(tui, model="tools-model")
        tui.send_bytes((call + ENTER).encode())
        tui.wait_for("Tool result · test__lines", timeout=90)

        def answered(_: str) -> bool:
            saved = [e for e in events(transcripts(app_home)[-1]) if e.get("type") == "message"]
            return [e["role"] for e in saved][-2:] == ["tool", "assistant"] and all(
                e["status"] == "complete" for e in saved)

        tui.wait_until(answered, "the answer after the result", 90)
        screen = tui.wait_for("6 more lines (Enter on it shows all)")
        assert "line 8 of 14" in screen and "line 9 of 14" not in screen
        sent = len(events(transcripts(app_home)[-1]))
        tui.send("M-Up")  # select the last message (the answer), then the one before it
        time.sleep(0.3)
        tui.send("Up")
        time.sleep(0.3)
        tui.send("Enter")
        screen = tui.wait_for("line 14 of 14")
        assert "more lines" not in screen
        tui.send("Enter")
        tui.wait_for("6 more lines (Enter on it shows all)")
        assert "line 14 of 14" not in tui.screen()
        assert len(events(transcripts(app_home)[-1])) == sent  # nothing was sent or edited
