"""``offyai ask -c`` / ``--chat``: multi-turn chats from the shell, saved where the app
shows them. Real ``offyai`` processes against the Ollama stand-in (the bundled SmolLM2
behind it); what each request carried is read back from the stand-in."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.chat import ConversationStore, read_transcript
from offyai_tui.settings.workspace import Workspace
from tests.e2e.conftest import run_offyai, transcripts

pytestmark = pytest.mark.slow


def chat_requests(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/_test/state", timeout=10) as reply:
        state = json.load(reply)
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]


def ask(url: str, app_home: Path, user_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_offyai(["--engine", "ollama", "ask", "--max-tokens", "6", *args],
                        app_home, user_home, OLLAMA_HOST=url)
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_continue_carries_the_history_and_saves_each_turn(
    app_home: Path, user_home: Path, ollama_server: str
) -> None:
    plain = ask(ollama_server, app_home, user_home, "Remember the word lantern.")
    assert plain.returncode == 0 and transcripts(app_home) == []  # plain ask saves nothing
    first = ask(ollama_server, app_home, user_home, "-c", "Remember the word lantern.")
    assert first.returncode == 0, first.stderr
    [path] = transcripts(app_home)
    second = ask(ollama_server, app_home, user_home, "--continue", "Which word?")
    assert second.returncode == 0, second.stderr
    sent = chat_requests(ollama_server)[-1]["messages"]
    assert [m["role"] for m in sent if m["role"] != "system"] == ["user", "assistant", "user"]
    assert sent[-3]["content"] == "Remember the word lantern."
    assert sent[-1]["content"] == "Which word?"
    data = read_transcript(path)
    assert transcripts(app_home) == [path] and data.warnings == []
    assert [m.role for m in data.messages] == ["user", "assistant"] * 2
    assert data.messages[1].content == first.stdout.strip()
    assert data.messages[3].content == second.stdout.strip()
    assert data.title == "Remember the word lantern."
    # --chat names a conversation, even when it is not the latest.
    with ConversationStore.open(Workspace.open("default")) as store:
        store.create().add_user("a newer conversation")
    third = ask(ollama_server, app_home, user_home, "--chat", path.stem, "And again?")
    assert third.returncode == 0, third.stderr
    assert len(read_transcript(path).messages) == 6
    assert len(chat_requests(ollama_server)[-1]["messages"]) >= 5


def test_a_workspace_open_in_the_app_is_refused_in_one_line_before_sending(
    app_home: Path, user_home: Path, ollama_server: str
) -> None:
    with ConversationStore.open(Workspace.open("default").ensure()) as store:
        conv = store.create()
        conv.add_user("kept")
        before = len(chat_requests(ollama_server))
        line = one_line_error(ask(ollama_server, app_home, user_home, "-c", "Hello?"))
        assert "is open in another OffyAI instance" in line and "without -c" in line
        assert len(chat_requests(ollama_server)) == before  # nothing was sent
        assert [m.content for m in read_transcript(store.path_for(conv.id)).messages] == ["kept"]


def test_an_unknown_chat_id_is_one_line(
    app_home: Path, user_home: Path, ollama_server: str
) -> None:
    line = one_line_error(ask(ollama_server, app_home, user_home, "--chat", "nope", "Hi"))
    assert "no conversation 'nope'" in line
    line = one_line_error(ask(ollama_server, app_home, user_home, "--chat", "../x", "Hi"))
    assert "conversation" in line
