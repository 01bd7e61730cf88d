"""One bad value never stops the app: the real ``offyai`` in a real terminal (tmux 100x30).

A user theme with a colour Textual cannot parse, a ``[keys]`` table with typos,
a garbled ``OLLAMA_HOST``, an explicit engine that is down, a data directory on
a read-only mount and a context window far beyond the model's: each used to
exit the app, disable a key, queue a prompt forever, switch engines silently or
blame another instance. Here each starts, says what is wrong in one line, and
keeps working.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    STATS_LINE,
    answered,
    closed_port,
    set_parameter,
    start_tui,
    wait_messages,
    wait_ready,
    write_config,
)
from tests.e2e.test_bad_values_cli import read_only, silent_listener
from tests.tmux import OFFYAI, TmuxSession, base_env

pytestmark = pytest.mark.slow

@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_listener() as address:
        yield address


BAD_VARIABLE = '[variables]\nfooter-key-foreground = "#12345"\n'


def theme_file(home: Path, name: str, extra: str) -> Path:
    themes = home / "config" / "themes"
    themes.mkdir(parents=True, exist_ok=True)
    path = themes / f"{name}.toml"
    path.write_text(f'name = "{name}"\nprimary = "#4FA3E0"\ndark = true\n{extra}',
                    encoding="utf-8")
    return path


def alive_for(tui: TmuxSession, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not tui.dead(), tui.screen()
        time.sleep(0.2)


def test_a_theme_with_a_bad_colour_warns_and_the_app_keeps_running(
    offyai_home: Path, user_home: Path
) -> None:
    config = write_config(offyai_home, '[ui]\ntheme = "broken"\n')
    theme_file(offyai_home, "broken", BAD_VARIABLE)
    theme_file(offyai_home, "broken2", '[variables]\nblock-cursor-text-style = "#zz"\n')
    with start_tui(offyai_home, user_home) as tui:
        screen = tui.wait_for("footer-key-foreground", timeout=30)
        assert "themes/broken.t" in screen, screen  # the file, wrapped in its toast
        wait_ready(tui)

        # Picked in the palette mid-session: applied, saved, the app still runs.
        tui.send("C-p")
        tui.wait_for("🔎")
        tui.type("Theme: broken2")
        tui.wait_for("switch the colour theme")
        tui.send("Enter")
        alive_for(tui, 2.0)
        assert 'theme = "broken2"' in config.read_text(encoding="utf-8")
        tui.send("C-q")
        assert tui.wait_dead() == 0, tui.screen()


def test_keys_with_typos_are_warned_and_ctrl_q_in_any_case_quits(
    offyai_home: Path, user_home: Path
) -> None:
    write_config(offyai_home, '[keys]\n"app.quit" = "Ctrl+Q"\n"chat.new" = "ctrl+p"\n'
                              '"app.help" = "notakey"\n"chat.search" = ",,,"\n')
    with start_tui(offyai_home, user_home) as tui:
        screen = tui.wait_until(
            lambda s: all(w in s for w in ("chat.new", "notakey", "chat.search")),
            "a warning for each bad [keys] entry", timeout=30)
        assert "app.palette" in screen, screen  # says which binding ctrl+p belongs to
        wait_ready(tui)
        tui.send("C-p")  # still the palette: chat.new did not take it
        tui.wait_for("🔎")
        tui.send("Escape")
        time.sleep(0.3)
        tui.send("C-q")
        assert tui.wait_dead() == 0, tui.screen()


def test_a_garbled_ollama_host_is_one_warning_and_the_bundled_engine_answers(
    app_home: Path, user_home: Path
) -> None:
    with start_tui(app_home, user_home, OLLAMA_HOST="http://:::") as tui:
        tui.wait_for("OLLAMA_HOST", timeout=30)
        wait_ready(tui)
        set_parameter(tui, "num_predict", "8")
        tui.submit("Say hello.")
        _, messages = wait_messages(app_home, answered(1), "an answer")
        assert messages[-1].status == "complete", messages[-1].error
        assert "queued" not in tui.screen()


def test_an_explicit_engine_that_is_down_is_used_and_fails_visibly(
    offyai_home: Path, user_home: Path
) -> None:
    port = closed_port()
    write_config(offyai_home, f'[ollama]\nhost = "127.0.0.1:{port}"\n')
    with start_tui(offyai_home, user_home, "--engine", "ollama") as tui:
        screen = tui.wait_for("no other engine is used", timeout=30)
        assert "not answering" in screen and f"127.0.0.1:{port}" in screen, screen
        assert tui.wait_until(lambda s: s.splitlines()[-2].strip().startswith("ollama ·"),
                              "ollama in the status bar")
        tui.submit("hi")
        screen = tui.wait_for("✗ Error", timeout=30)  # not an answer from llama.cpp
        assert "llama.cpp" not in screen, screen
        assert STATS_LINE.search(screen) is None, screen


def test_a_read_only_data_dir_says_so_and_still_chats(app_home: Path, user_home: Path) -> None:
    (app_home / "data").mkdir()
    command = read_only(app_home, str(OFFYAI))
    with TmuxSession(command, base_env(user_home, OFFYAI_HOME=app_home), 100, 30) as tui:
        screen = wait_ready(tui)
        flat = " ".join(screen.split())
        assert "read-only" in flat.lower(), screen
        assert "another OffyAI instance" not in flat, screen
        assert "file system is read-only" in flat, screen
        tui.submit("Say hello in one word.")  # /set would be refused: it saves nothing
        tui.wait_until(lambda s: STATS_LINE.search(s) is not None, "an answer", 90)


def test_a_context_window_beyond_the_model_is_clamped_with_one_line(
    app_home: Path, user_home: Path
) -> None:
    with start_tui(app_home, user_home) as tui:
        wait_ready(tui)
        set_parameter(tui, "num_ctx", "1048576")
        screen = tui.wait_for("trained on 8,192 tokens")
        screen = tui.wait_until(lambda s: "/8,192 (" in s, "the meter at the model's window")
        assert "1,048,576 (" not in screen, screen


def test_ask_in_a_terminal_counts_the_wait_for_a_silent_server_and_ctrl_c_stops_it(
    app_home: Path, user_home: Path, silent_server: str
) -> None:
    command = [str(OFFYAI), "--engine", "ollama", "--model", "m", "ask", "hi"]
    env = base_env(user_home, OFFYAI_HOME=app_home, OLLAMA_HOST=silent_server)
    with TmuxSession(command, env, 100, 10) as tui:
        tui.wait_for(f"waiting for ollama at http://{silent_server}: 4 s", timeout=30)
        tui.wait_for(": 5 s", timeout=10)  # counting, on one line
        screen = tui.screen()
        assert screen.count("waiting for") == 1, screen
        assert "Ctrl+C stops" in screen and "gives up at 120 s" in screen, screen
        tui.send("C-c")
        assert tui.wait_dead(10) == 130, tui.screen()
        screen = tui.screen()
        assert "stopped" in screen and "Traceback" not in screen, screen
        assert "waiting for" not in screen, screen  # the line was cleared
