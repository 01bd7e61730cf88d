"""Names that try to leave the data dir, and model output that tries to drive the terminal.

Model output is untrusted text. These tests send markup and escape sequences
through the real HTTP client of the real binary, in a real terminal (tmux),
and check what the terminal did: its title and its screen. A control test
shows the same bytes do change the title and clear the screen when printed
raw, so the checks would catch a leak.
"""

from __future__ import annotations

import pytest

from offyai_tui.chat import ConversationNotFound, ConversationStore
from offyai_tui.settings.workspace import Workspace
from tests.e2e.conftest import events, run_offyai, transcripts, wait_ready
from tests.e2e.scripted_ollama import scripted_ollama
from tests.tmux import OFFYAI, TmuxSession, base_env

MARKUP = "[bold red]x[/]"
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
HOSTILE = ["Look: ", MARKUP, " then ", TITLE, "and ", CLEAR, "the end."]
BEFORE = "BEFORE-MARK-7F3A"


@pytest.mark.parametrize("name", ["../x", "..", "/tmp/x", "a/../../x", "x\\..\\y", ".hidden"])
def test_workspace_names_cannot_escape_the_data_dir(app_home, user_home, tmp_path, name) -> None:
    before = sorted(p for p in tmp_path.rglob("*"))
    result = run_offyai(["--workspace", name, "ask", "hi"], app_home, user_home)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "workspace name" in result.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before  # nothing created anywhere


@pytest.mark.parametrize("conv_id", ["../../../etc/passwd", "..", "a/b", "/etc/passwd"])
def test_conversation_ids_cannot_escape_the_chats_dir(conv_id) -> None:
    with ConversationStore.open(Workspace.open("default")) as store:
        with pytest.raises(ConversationNotFound):
            store.load(conv_id)
        with pytest.raises(ConversationNotFound):
            store.path_for(conv_id)


def test_control_raw_escapes_do_change_title_and_clear_screen(user_home) -> None:
    """The detector works: printed raw, the same bytes retitle and clear the pane."""
    raw = "".join(HOSTILE).replace("\x1b", "\\033").replace("\x07", "\\007")
    script = f"echo {BEFORE}; sleep 0.2; printf '{raw}'; echo; echo DONE; sleep 30"
    with TmuxSession(["sh", "-c", script], base_env(user_home), 100, 30) as tui:
        screen = tui.wait_for("DONE", timeout=10)
        assert tui.pane_title() == "pwned"
        assert BEFORE not in screen


def test_ask_to_a_terminal_prints_markup_literally_and_escapes_inert(app_home, user_home) -> None:
    with scripted_ollama(HOSTILE) as server:
        ask = f"{OFFYAI} --engine ollama --model scripted ask hi; echo EXIT=$?; sleep 30"
        env = base_env(user_home, OFFYAI_HOME=app_home, OLLAMA_HOST=server.host)
        with TmuxSession(["sh", "-c", f"echo {BEFORE}; {ask}"], env, 100, 30) as tui:
            # Read the pane while it runs: tmux moves lines to history once it dies.
            screen = tui.wait_for("EXIT=", timeout=30)
            title = tui.pane_title()
    assert "EXIT=0" in screen, screen
    assert title != "pwned"
    assert BEFORE in screen  # not cleared
    assert MARKUP in screen
    assert "the end." in screen


def test_tui_shows_markup_literally_and_escapes_cannot_drive_the_terminal(
    app_home, user_home
) -> None:
    with scripted_ollama(HOSTILE) as server:
        env = {"OLLAMA_HOST": server.host}
        with TmuxSession(
            [str(OFFYAI)], base_env(user_home, OFFYAI_HOME=app_home, **env), 100, 30
        ) as tui:
            wait_ready(tui, model="scripted")
            tui.submit("hello there")
            screen = tui.wait_for("the end.", timeout=30)
            title = tui.pane_title()
            assert MARKUP in screen
            assert "hello there" in screen  # the screen was not cleared under the app
            assert "Filter conversations" in screen
            tui.send("C-q")
            tui.wait_dead()
        assert server.chats, "the app should have asked the scripted server"
    assert title != "pwned"
    saved = [e for e in events(transcripts(app_home)[-1]) if e.get("role") == "assistant"]
    assert saved[-1]["content"] == "".join(HOSTILE)  # stored verbatim; only the view is inert
