"""Keys over real SSH: ``offyai`` through ``ssh -tt`` to a private sshd, in an 80x24 pane.

Over SSH a prompt and its Enter often arrive in one read, and keys typed while
the connection and the app start are buffered by ssh and delivered at once to
a terminal that is not in raw mode yet. For each terminal type (the ``TERM``
the client announces, so the app draws and reads for it) bursts are sent from
the first moments on, with Backspace and arrows inside, after a slash command
and as a bracketed paste; the transcript's user messages must be exactly what
the keys typed. Skipped, with the reason, where sshd is missing or cannot run.
"""

from __future__ import annotations

import shlex
import time

import pytest

from tests.e2e.conftest import transcripts
from tests.e2e.keys import BACKSPACE, ENTER, LEFT, REPLY, RIGHT, at, typed, wait_user_messages
from tests.e2e.scripted_ollama import scripted_ollama
from tests.e2e.sshd import ssh_server
from tests.tmux import OFFYAI, TmuxSession, base_env

pytestmark = pytest.mark.slow

BURSTS = [
    (0.2, "Typed while ssh connects." + ENTER),
    (1.0, "helo" + LEFT + "l" + RIGHT + " there" + BACKSPACE * 6 + ", world" + ENTER),
    (2.5, "/clear" + ENTER + "Right after clear." + ENTER),
]
PASTE = "two lines\npasted \x1b[1mbold\x1b[0m"


@pytest.mark.parametrize("term", ["xterm-256color", "screen-256color", "linux"])
def test_bursts_over_ssh_keep_every_key_in_order(app_home, user_home, tmp_path, term) -> None:
    with ssh_server(tmp_path / "sshd") as sshd, scripted_ollama(REPLY) as ollama:
        env = base_env(user_home, OFFYAI_HOME=app_home, OLLAMA_HOST=ollama.host)
        env.pop("TERM")  # the remote side's TERM is the one the client announces
        remote = f"cd {shlex.quote(str(user_home))} && env {shlex.join(f'{k}={v}' for k, v in env.items())} {shlex.quote(str(OFFYAI))}"  # noqa: E501
        client_env = base_env(user_home, TERM=term)
        launched = time.monotonic()
        with TmuxSession(sshd.ssh_command(remote), client_env, 80, 24) as tui:
            expected: list[str] = []
            for offset, keys in BURSTS:
                at(launched, offset, lambda keys=keys: tui.send_bytes(keys.encode()))
                expected += [t for t in typed(keys) if not t.startswith("/")]
            assert expected[1] == "hello, world"
            wait_user_messages(app_home, expected, timeout=60)
            tui.paste(PASTE)
            tui.wait_for("␛[1mbold", timeout=20)
            tui.send_bytes(ENTER.encode())
            expected.append(PASTE.replace("\x1b", "␛"))
            wait_user_messages(app_home, expected, timeout=30)
            screen = tui.screen()
            assert len(screen.splitlines()) <= 24 and "Message OffyAI" in screen, screen
            kinds = [line for line in transcripts(app_home)[-1].read_text().splitlines()
                     if '"type": "clear"' in line or '"type":"clear"' in line]
            assert len(kinds) == 1
