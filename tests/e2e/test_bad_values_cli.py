"""One bad value never stops ``offyai``: the real binary, real files, real loopback sockets.

Each test is a reproduction from issue 22 as a user meets it: an odd
``OLLAMA_HOST``, an explicit engine that is down, a server that accepts and
never answers, bytes that are not UTF-8 on stdin, numbers out of range, a typo
in ``offyai index``, a mode file written as the README once said, and a data
directory on a read-only mount. Each ends in an answer or in one line on
stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import closed_port, port_in_use, run_offyai
from tests.tmux import OFFYAI, base_env

pytestmark = pytest.mark.slow

ODD_HOSTS = ["http://:::", "http://user:pass@127.0.0.1:11434", "127.0.0.1\r\n:11434"]


def config(home: Path, text: str = "", threads: int | None = 1) -> Path:
    """``config.toml`` with ``text``; engines on their default ports are pointed away.

    Unlike ``conftest.write_config`` the ``[llamacpp]`` table is optional, so a
    test can set its own ``n_threads``.
    """
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"[llamacpp]\nn_threads = {threads}\n"] if threads is not None else []
    if port_in_use(11434) and "[ollama]" not in text:
        lines.append(f'[ollama]\nhost = "127.0.0.1:{closed_port()}"\n')
    if port_in_use(8080) and "[[openai]]" not in text:
        lines.append(f'[[openai]]\nname = "llamafile"\nurl = "http://127.0.0.1:{closed_port()}/v1"\n')
    path.write_text("\n".join([*lines, text]), encoding="utf-8")
    return path


def one_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The single stderr line of a command that exited with ``code``."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def answered(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.strip(), result.stderr


def notes(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Stderr lines, less the wait notice a slow model load on a busy machine may add."""
    return [x for x in result.stderr.splitlines() if not x.startswith("offyai: waiting for")]


def chats(server: str) -> list[dict]:
    state = httpx.get(f"{server}/_test/state", timeout=5, trust_env=False).json()
    return [r["body"] for r in state["requests"] if r["path"] == "/api/chat"]


# ------------------------------------------------------------------ OLLAMA_HOST


@pytest.mark.parametrize("host", ODD_HOSTS)
def test_odd_ollama_host_is_one_line_and_auto_detection_moves_on(
    host: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    result = run_offyai(["ask", "--max-tokens", "4", "Say hi"], offyai_home, user_home,
                        OLLAMA_HOST=host)
    answered(result)
    if "@" in host:  # credentials are dropped as Ollama drops them: a usable address
        return
    (line,) = notes(result)
    assert "OLLAMA_HOST" in line and "ollama skipped" in line, line


@pytest.mark.parametrize("host", [h for h in ODD_HOSTS if "@" not in h])
def test_odd_ollama_host_with_engine_ollama_is_one_line(
    host: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    line = one_line(run_offyai(["--engine", "ollama", "ask", "hi"], offyai_home, user_home,
                               OLLAMA_HOST=host))
    assert line.startswith("offyai: OLLAMA_HOST = ") and "not a usable" in line, line


def test_odd_ollama_host_in_models_is_one_line_and_the_rest_is_listed(
    offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    result = run_offyai(["models"], offyai_home, user_home, OLLAMA_HOST="http://:::")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "OLLAMA_HOST" in x]
    assert line.startswith("offyai: ") and line.endswith("ollama skipped"), line
    assert "smollm2-135m-instruct" in result.stdout


# ------------------------------------------------------------ explicit engine


def test_explicit_engine_that_is_down_is_never_swapped_silently(
    offyai_home: Path, user_home: Path
) -> None:
    port = closed_port()
    config(offyai_home, f'[engine]\ndefault = "ollama"\n[ollama]\nhost = "127.0.0.1:{port}"\n')
    line = one_line(run_offyai(["ask", "--max-tokens", "4", "hi"], offyai_home, user_home))
    assert f"127.0.0.1:{port}" in line and "ollama serve" in line, line

    doctor = run_offyai(["--engine", "ollama", "doctor"], offyai_home, user_home)
    assert doctor.returncode == 1, doctor.stdout
    assert "Traceback" not in doctor.stderr
    engine_line = next(x for x in doctor.stdout.splitlines() if x.startswith("engine"))
    assert "ollama" in engine_line.lower() and "llama.cpp" not in engine_line, doctor.stdout
    assert "not answering" in doctor.stdout and "--engine" in doctor.stdout, doctor.stdout


# ------------------------------------------------------- a server that never answers


@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_listener() as address:
        yield address


@contextlib.contextmanager
def silent_listener() -> Iterator[str]:
    """A loopback socket that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


def test_silent_server_shows_the_wait_and_gives_up_at_the_timeout(
    silent_server: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    started = time.monotonic()
    result = run_offyai(
        ["--engine", "ollama", "--model", "m", "ask", "--timeout", "4", "hi"],
        offyai_home, user_home, OLLAMA_HOST=silent_server, timeout=60,
    )  # fmt: skip
    took = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert "waiting for" in lines[0] and silent_server in lines[0], lines
    assert "no answer" in lines[1] and "4 s" in lines[1] and "--timeout" in lines[1], lines
    assert took < 30, took  # the 4 s limit, not the 120 s stall timeout


def test_silent_server_timeout_comes_from_config(
    silent_server: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home, "[chat]\ntimeout = 3\n")
    result = run_offyai(["--engine", "ollama", "--model", "m", "ask", "hi"],
                        offyai_home, user_home, OLLAMA_HOST=silent_server, timeout=60)
    assert result.returncode == 1 and "in 3 s" in result.stderr, result.stderr


def test_ctrl_c_while_a_server_is_silent_exits_at_once(
    silent_server: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    process = subprocess.Popen(
        [str(OFFYAI), "--engine", "ollama", "--model", "m", "ask", "hi"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=base_env(user_home, OFFYAI_HOME=offyai_home, OLLAMA_HOST=silent_server),
        cwd=user_home,
        # As a shell starts a foreground command: a test runner started in the
        # background has SIGINT ignored, and a child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert process.stderr is not None
    first = process.stderr.readline().decode()  # the wait is shown after a few seconds
    assert "waiting for" in first, first
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    code = process.wait(timeout=20)
    took = time.monotonic() - sent
    rest = process.stderr.read().decode()
    process.stderr.close()
    assert process.stdout is not None
    process.stdout.close()
    assert code == 130, rest
    assert "Traceback" not in rest
    assert [line for line in rest.splitlines() if line.strip()] == ["stopped"], rest
    assert took < 5, took  # not the 120 s the stream would otherwise wait


# -------------------------------------------------------------- stdin and numbers


def test_piped_bytes_that_are_not_utf8_are_read_as_latin(
    ollama_server: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    result = subprocess.run(
        [str(OFFYAI), "--engine", "ollama", "--model", "smollm2:135m", "ask",
         "--max-tokens", "4", "translate"],
        input=b"caf\xe9 cr\xe8me", capture_output=True, timeout=60,
        env=base_env(user_home, OFFYAI_HOME=offyai_home, OLLAMA_HOST=ollama_server),
        cwd=user_home,
    )  # fmt: skip
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "Traceback" not in stderr and "codec" not in stderr, stderr
    assert "not UTF-8" in stderr
    sent = chats(ollama_server)[-1]["messages"][-1]["content"]
    assert "café crème" in sent, sent


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--max-tokens", "-5"], "--max-tokens must be between -1"),
        (["--temperature", "nan"], "--temperature must be between 0 and 2, got nan"),
        (["--temperature", "-5"], "--temperature must be between 0 and 2"),
        (["--timeout", "-1"], "--timeout must be 0"),
    ],
)
def test_out_of_range_options_are_one_line(
    flags: list[str], fragment: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    line = one_line(run_offyai(["ask", *flags, "hi"], offyai_home, user_home))
    assert fragment in line, line


def test_nan_temperature_in_config_is_a_warning_and_none_is_sent(
    ollama_server: str, offyai_home: Path, user_home: Path
) -> None:
    """The bad value is dropped: the model's own temperature applies, as when unset."""
    config(offyai_home, "[chat]\ntemperature = nan\n")
    result = run_offyai(["--engine", "ollama", "--model", "smollm2:135m", "ask",
                         "--max-tokens", "4", "hi"], offyai_home, user_home,
                        OLLAMA_HOST=ollama_server)
    answered(result)
    (line,) = notes(result)
    assert "chat.temperature" in line and "nan" in line and "left unset" in line, line
    state = httpx.get(f"{ollama_server}/_test/state", timeout=5, trust_env=False).json()
    sent = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]
    assert "temperature" not in sent.get("options", {})


def test_more_threads_than_cpus_still_answers(offyai_home: Path, user_home: Path) -> None:
    config(offyai_home, threads=100000)
    result = run_offyai(["ask", "--max-tokens", "4", "Say hi"], offyai_home, user_home)
    answered(result)
    (line,) = notes(result)
    assert "llamacpp.n_threads = 100000" in line and "CPUs" in line, line


def test_index_of_a_missing_path_fails_and_still_indexes_the_others(
    offyai_home: Path, user_home: Path, tmp_path: Path
) -> None:
    config(offyai_home)
    line = one_line(run_offyai(["index", "/typo"], offyai_home, user_home))
    assert "/typo" in line and "no such file or folder" in line, line

    good = tmp_path / "notes.txt"
    good.write_text("The quarterly report is due on Friday.\n", encoding="utf-8")
    result = run_offyai(["index", "/typo", str(good)], offyai_home, user_home, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "1 added" in result.stdout, result.stdout
    assert "/typo" in one_line(result)


# --------------------------------------------------------------- mode files


def test_a_mode_file_with_system_as_the_readme_said_works(
    ollama_server: str, offyai_home: Path, user_home: Path
) -> None:
    config(offyai_home)
    modes = offyai_home / "config" / "modes"
    modes.mkdir(parents=True)
    (modes / "pirate.toml").write_text(
        'name = "Pirate"\ndescription = "Talks like a pirate"\n'
        'system = "You are a pirate. Answer in pirate speak."\n', encoding="utf-8")
    result = run_offyai(["--engine", "ollama", "--model", "smollm2:135m", "ask", "--mode",
                         "pirate", "--max-tokens", "4", "hi"], offyai_home, user_home,
                        OLLAMA_HOST=ollama_server)
    answered(result)
    first = chats(ollama_server)[-1]["messages"][0]
    assert first == {"role": "system", "content": "You are a pirate. Answer in pirate speak."}


# ------------------------------------------------------- a read-only data dir


def _unshare() -> str:
    tool = shutil.which("unshare")
    if tool is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run([tool, "-m", "true"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace: {probe.stderr.decode().strip()}")
    return tool


def read_only(home: Path, *command: str) -> list[str]:
    """``command`` with ``home`` bind-mounted read-only (root ignores chmod, not ``ro``)."""
    script = (f'mount --bind "{home}" "{home}" && mount -o remount,bind,ro "{home}" '
              '&& exec "$@"')
    return [_unshare(), "-m", "sh", "-c", script, "sh", *command]


def test_read_only_data_dir_still_answers_and_index_names_the_reason(
    offyai_home: Path, user_home: Path, tmp_path: Path
) -> None:
    config(offyai_home)
    (offyai_home / "data").mkdir()
    env = base_env(user_home, OFFYAI_HOME=offyai_home)
    ask = subprocess.run(read_only(offyai_home, str(OFFYAI), "ask", "--max-tokens", "4", "hi"),
                         capture_output=True, text=True, timeout=90, env=env, cwd=user_home)
    answered(ask)

    doc = tmp_path / "a.txt"
    doc.write_text("hello\n", encoding="utf-8")
    index = subprocess.run(read_only(offyai_home, str(OFFYAI), "index", str(doc)),
                           capture_output=True, text=True, timeout=90, env=env, cwd=user_home)
    line = one_line(index)
    assert "read-only" in line and str(offyai_home) in line and "Errno" not in line, line
