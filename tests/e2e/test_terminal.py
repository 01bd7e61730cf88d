"""The real app in a real terminal: tmux at 100x30, the bundled SmolLM2 answering.

Two runs of the real model per test at most; everything a user would see is read
back from the pane (``capture-pane``) and everything the app promised to keep is
read back from the transcript on disk.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime

import pytest

from offyai_tui.chat import ConversationStore, read_transcript
from offyai_tui.settings.workspace import Workspace
from tests.e2e.conftest import (
    STATS_LINE,
    answered,
    events,
    set_parameter,
    start_tui,
    transcripts,
    wait_messages,
    wait_ready,
    words,
    workers,
)
from tests.tmux import wait_gone

pytestmark = pytest.mark.slow

LONG_PROMPT = "Write a very long essay about the history of computers, with many sections."
CHECKPOINT_LIMIT_S = 1.6
"""Kill time minus the last checkpoint's time, at most: the 1 s interval plus slack."""
KILL_AFTER_S = 2.3
"""How long the answer streams past its second checkpoint before the kill: over
two intervals, so a writer that stopped checkpointing would be caught."""


def test_chat_switch_mode_quit_and_find_the_conversation_again(app_home, user_home) -> None:
    with start_tui(app_home, user_home) as tui:
        wait_ready(tui)
        set_parameter(tui, "num_predict", "24")
        set_parameter(tui, "temperature", "0")
        prompt = "Write one sentence about the sea."
        tui.submit(prompt)
        path, messages = wait_messages(app_home, answered(1), "finished answer")
        answer = messages[-1]
        assert answer.status == "complete", answer.error
        assert answer.content.strip()
        screen = tui.wait_until(lambda s: STATS_LINE.search(s) is not None, "answer statistics")
        fresh = [w for w in words(answer.content) if w.lower() not in prompt.lower()]
        if fresh:  # the model said something of its own: it is on screen
            assert any(w in screen for w in fresh), (fresh, screen)
        assert prompt in screen

        tui.send("C-p")
        tui.wait_for("🔎")
        tui.type("Mode: Coder")
        tui.wait_for("Concise programming help")
        tui.send("Enter")
        tui.wait_until(lambda s: "· Coder ·" in s, "Coder in the status bar")
        modes = [e["mode"] for e in events(path) if e["type"] == "mode"]
        assert modes[-1] == "coder"

        worker_pids = workers(tui)
        assert worker_pids, "the embedded engine should run in a worker process"
        tui.send("C-q")
        assert tui.wait_dead() == 0, tui.screen()
        for pid in worker_pids:
            assert wait_gone(pid), f"llama.cpp worker {pid} outlived the app"

    with start_tui(app_home, user_home) as tui:
        screen = wait_ready(tui)
        assert "Write one sentence about" in screen  # the sidebar lists it
        assert "Read-only" not in screen
        tui.send("C-l")
        tui.type("sea")
        tui.send("Enter")
        screen = tui.wait_until(
            lambda s: "You" in s and STATS_LINE.search(s) is not None, "the reopened conversation"
        )
        assert prompt in screen
        assert "· Coder ·" in screen  # the mode came back with the conversation
        tui.send("C-q")
        assert tui.wait_dead() == 0


def test_kill_9_mid_stream_keeps_completed_messages_and_marks_the_partial_one(
    app_home, user_home
) -> None:
    with start_tui(app_home, user_home) as tui:
        wait_ready(tui)
        set_parameter(tui, "num_predict", "12")
        tui.submit("Say hello to Bob.")
        wait_messages(app_home, answered(1), "first answer")

        set_parameter(tui, "num_predict", "600")
        set_parameter(tui, "temperature", "0")  # this prompt then runs to the token limit
        tui.submit(LONG_PROMPT)
        path = _wait_for_checkpoints(app_home, count=2)
        time.sleep(KILL_AFTER_S)
        screen = tui.wait_for("Writing…", timeout=5)
        assert "Bob" in screen or "Say hello" in screen or LONG_PROMPT[:30] in screen
        worker_pids = workers(tui)
        assert worker_pids

        os.kill(tui.pid, signal.SIGKILL)
        killed_at = time.time()
        tui.wait_dead()
        for pid in worker_pids:
            assert wait_gone(pid), f"llama.cpp worker {pid} outlived the killed app"

    saved = read_transcript(path)
    assert saved.warnings == []
    shape = [(m.role, m.status) for m in saved.messages]
    assert shape == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "interrupted"),
    ], shape
    assert saved.messages[1].content.strip()
    partial = saved.messages[-1].content
    assert partial.strip()
    last = max(
        datetime.fromisoformat(e["created"]).timestamp()
        for e in events(path)
        if e["type"] == "checkpoint"
    )
    lost = killed_at - last
    print(f"seconds of streaming after the last checkpoint: {lost:.2f}")
    assert lost <= CHECKPOINT_LIMIT_S, f"last checkpoint {lost:.2f}s before the kill"

    with start_tui(app_home, user_home) as tui:
        screen = wait_ready(tui)
        assert "Read-only" not in screen  # kill -9 released the workspace lock
        assert "Say hello to Bob." in screen  # titled by its first prompt
        tui.send("C-l")
        tui.type("Bob")
        tui.send("Enter")
        screen = tui.wait_for("Interrupted")
        tail = words(partial)[-3:]
        assert any(w in screen for w in tail), (tail, screen)
        tui.send("C-q")
        assert tui.wait_dead() == 0


def _wait_for_checkpoints(home, count: int, timeout: float = 60.0):
    """Wait until the streaming answer has ``count`` checkpoint lines on disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = transcripts(home)
        try:
            lines = events(files[-1]) if files else []
        except ValueError:  # a line being written right now
            lines = []
        if lines:
            done = {e["id"] for e in lines if e["type"] == "message"}
            pending = [e for e in lines if e["type"] == "checkpoint" and e["id"] not in done]
            if len(pending) >= count:
                return files[-1]
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} checkpoints after {timeout:.0f}s")


def test_a_filter_with_spaces_typed_into_the_sidebar_narrows_the_list(
    app_home, user_home
) -> None:
    """Ctrl+L, then a filter typed in one go: every character reaches the filter box.

    The list forwards printable keys to the filter box until the box has focus;
    the space must survive that hand-over ("the sea" must not match "theseus").
    """
    with ConversationStore.open(Workspace.open("default")) as store:
        store.create().add_user("Notes about the sea")
        store.create().add_user("Notes about theseus")
    with start_tui(app_home, user_home) as tui:
        wait_ready(tui)
        tui.send("C-l")
        tui.wait_until(lambda s: "▊ ● New chat" in s, "the list focused", timeout=10)
        tui.type("the sea")  # one write: a paste, or a fast typist
        screen = tui.wait_until(
            lambda s: "the sea" in s.split("\n")[0], "the filter text", timeout=10
        )
        assert "theseus" not in screen, screen
        tui.send("C-q")
        tui.wait_dead()
