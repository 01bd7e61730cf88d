"""Keys are never lost or reordered: the real ``offyai`` in tmux receives bursts.

Each burst is one ``send-keys -H`` (text and its Enter in one write), sent at
fixed times after launch (before the prompt exists, while the engine is being
detected, while earlier answers are written), right after slash commands,
during a streamed answer, with Backspace, arrows and Ctrl+J inside. The
transcript's user messages must be exactly the prompts the keys type, in order.
A scripted loopback Ollama answers, so the test is about keys, not a model.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import events, start_tui, transcripts, wait_ready
from tests.e2e.keys import (
    BACKSPACE,
    CTRL_J,
    ENTER,
    LEFT,
    REPLY,
    RIGHT,
    at,
    typed,
    wait_user_messages,
)
from tests.e2e.scripted_ollama import scripted_ollama

pytestmark = pytest.mark.slow

STARTUP_BURSTS = [
    (0.1, "Write a Python function that adds two numbers." + ENTER),
    (0.5, "Say the word banana1." + ENTER),
    (1.0, "What is 2+2? Answer briefly." + ENTER),
    (2.0, "abc" + BACKSPACE + "d, helo" + LEFT + "l" + RIGHT + "!" + ENTER),
    (3.0, "first line" + CTRL_J + "second line" + ENTER + "and a last one" + ENTER),
]
"""(seconds after launch, keys): the first before the app has drawn anything."""


def test_bursts_from_launch_on_after_slash_commands_and_while_an_answer_streams(
    app_home, user_home
) -> None:
    expected: list[str] = []
    with scripted_ollama(REPLY) as server:
        launched = time.monotonic()
        with start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui:
            for offset, keys in STARTUP_BURSTS:
                at(launched, offset, lambda keys=keys: tui.send_bytes(keys.encode()))
                expected += typed(keys)
            assert expected[3] == "abd, hello!" and expected[4] == "first line\nsecond line"
            wait_user_messages(app_home, expected)

            # A slash command and a message in one burst: the command runs, then the
            # message is sent; then two bursts right after /clear, with no pause.
            burst = "/clear" + ENTER + "What is 3+3?" + ENTER
            tui.send_bytes(burst.encode())
            tui.send_bytes(("/set parameter temperature 0" + ENTER + "Say yes." + ENTER).encode())
            tui.send_bytes(("/clear" + ENTER).encode())
            tui.send_bytes(("Say the word banana2." + ENTER).encode())
            expected += ["What is 3+3?", "Say yes.", "Say the word banana2."]
            wait_user_messages(app_home, expected)
            kinds = [e["type"] for e in events(transcripts(app_home)[-1])]
            assert kinds.count("clear") == 2, kinds

            # While an answer streams: bursts are queued and sent in order afterwards.
            server.delay = 0.4
            tui.send_bytes(("a long answer please" + ENTER).encode())
            expected.append("a long answer please")
            tui.wait_for("answering", timeout=30)
            during = [
                "typed while it streams" + BACKSPACE * 7 + "streams!" + ENTER,
                "x" + LEFT + "y" + ENTER + "second of the burst" + ENTER,
            ]
            for keys in during:
                tui.send_bytes(keys.encode())
                expected += typed(keys)
            assert "queued" in tui.wait_for("2 queued", timeout=10)
            server.delay = 0.0
            wait_user_messages(app_home, expected, timeout=90)
            screen = tui.screen()
            assert "Message OffyAI" in screen, screen  # the prompt is empty again


def test_keys_typed_before_the_first_frame_are_kept_and_typed_in_order(
    app_home, user_home
) -> None:
    """Keys sent right at launch, without Enter, end up in the prompt, none lost."""
    with (
        scripted_ollama(REPLY) as server,
        start_tui(app_home, user_home, OLLAMA_HOST=server.host) as tui,
    ):
        tui.send_bytes(b"md?dm early keys")  # m, d and ? are screen keys outside the prompt
        wait_ready(tui, model="scripted")
        tui.send_bytes(b" and late ones" + ENTER.encode())
        wait_user_messages(app_home, ["md?dm early keys and late ones"])
        assert "Models" not in tui.screen().split("\n")[0]
