"""The offline audit: a full session sends 0 bytes off the machine and writes nowhere else.

One scripted session of the real binary, every process traced by ``strace``
and guarded by the offline guard: chat in the TUI (tmux), open the Models
screen and change a default (so the app writes its config), switch theme, quit;
then ``offyai index`` a folder and ``offyai ask --docs``. Then:

- the guard logged no refused connection (Python code never tried);
- ``strace`` saw no connection attempt and not one byte sent beyond loopback,
  and no DNS traffic (native code never tried either);
- ``HOME``, ``TMPDIR`` and the working directory are still empty, so nothing
  was cached or downloaded outside ``OFFYAI_HOME`` (no tiktoken or Hugging
  Face cache: those variables are unset, as on a user's machine);
- every file the session left in ``OFFYAI_HOME`` is 0600 and every dir 0700.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import answered, set_parameter, wait_messages, wait_ready, write_config
from tests.e2e.traffic import Traffic, parse_line, read_logs, strace_command
from tests.tmux import OFFYAI, TmuxSession, base_env

pytestmark = pytest.mark.slow

DOCS = {
    "heron.md": "# Project Heron\n\nThe launch code of project Heron is BLUEBIRD-42.\n"
    "Heron is a bird-watching app for the coast.\n",
    "notes.txt": "Meeting notes\n\nThe budget for the third quarter is twelve apples.\n",
}


def require_strace() -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    probe = subprocess.run(
        ["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.strip()}")


@pytest.fixture
def audit_dirs(tmp_path: Path, offyai_home: Path) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in ("user", "tmp", "cwd", "trace", "docs")}
    for path in dirs.values():
        path.mkdir()
    for name, text in DOCS.items():
        (dirs["docs"] / name).write_text(text, encoding="utf-8")
    offyai_home.mkdir(mode=0o700)
    # Written 0644 on purpose: the app rewrites it when a default changes.
    write_config(offyai_home, mode=0o644)
    dirs["home"] = offyai_home
    return dirs


def audit_env(dirs: dict[str, Path]) -> dict[str, str]:
    return base_env(
        dirs["user"],
        OFFYAI_HOME=dirs["home"],
        TMPDIR=dirs["tmp"],
        OFFYAI_NETGUARD_LOG=dirs["trace"] / "guard.log",
        PYTHONDONTWRITEBYTECODE="1",
    )


def traced_cli(args: list[str], dirs: dict[str, Path], name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*strace_command(dirs["trace"] / name), str(OFFYAI), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=audit_env(dirs),
        cwd=dirs["cwd"],
    )


def test_full_session_sends_nothing_off_the_machine(audit_dirs: dict[str, Path]) -> None:
    require_strace()
    dirs = audit_dirs
    command = [*strace_command(dirs["trace"] / "tui"), str(OFFYAI)]
    with TmuxSession(command, audit_env(dirs), 100, 30, cwd=dirs["cwd"]) as tui:
        wait_ready(tui)
        set_parameter(tui, "num_predict", "8")
        tui.submit("Say hello.")
        wait_messages(dirs["home"], answered(1), "an answer")
        tui.send("F3")
        tui.wait_for("all-minilm-l6-v2", timeout=30)
        tui.wait_for("Embed default")
        tui.send("e")
        tui.wait_for("is now the embedding default", timeout=30)
        tui.send("Escape")
        tui.wait_for("Message OffyAI")
        tui.send("C-p")
        tui.wait_for("🔎")
        tui.type("Theme: offyai-light")
        tui.wait_for("switch the colour theme")
        tui.send("Enter")
        tui.wait_until(lambda s: "🔎" not in s, "the palette closed")
        tui.send("C-q")
        assert tui.wait_dead(timeout=30) == 0, tui.screen()

    index = traced_cli(["index", str(dirs["docs"])], dirs, "index")
    assert index.returncode == 0, index.stderr
    ask = traced_cli(
        ["ask", "--docs", "--max-tokens", "24", "What is the launch code of project Heron?"],
        dirs,
        "ask",
    )
    assert ask.returncode == 0, ask.stderr
    assert ask.stdout.strip()

    guard_log = dirs["trace"] / "guard.log"
    refused = guard_log.read_text().splitlines() if guard_log.exists() else []
    assert refused == [], refused

    traffic = read_logs(dirs["trace"] / "tui")
    for name in ("index", "ask"):
        more = read_logs(dirs["trace"] / name)
        traffic.connects += more.connects
        for dest, count in more.bytes_to.items():
            traffic.bytes_to[dest] = traffic.bytes_to.get(dest, 0) + count
        traffic.lines += more.lines
    print(
        f"audit: {traffic.lines} traced calls, {len(traffic.connects)} connects "
        f"(all loopback: {not traffic.offsite_connects}), "
        f"{traffic.loopback_bytes} B to loopback, {traffic.offsite_bytes} B off-machine"
    )
    assert traffic.lines > 0
    # The engine probes (Ollama, llamafile) are loopback connects: proof the trace saw them.
    assert traffic.connects, "strace saw no connect at all; the trace is not working"
    assert traffic.offsite_connects == []
    assert traffic.offsite_bytes == 0, traffic.bytes_to
    assert traffic.dns == []

    # Every file check is collected, so one failure does not hide another.
    problems = []
    for name in ("user", "tmp", "cwd"):
        left = sorted(str(p.relative_to(dirs[name])) for p in dirs[name].rglob("*"))
        if left:
            problems.append(f"files outside OFFYAI_HOME in {name}: {left}")
    config = dirs["home"] / "config" / "config.toml"
    if "all-minilm-l6-v2" not in config.read_text():
        problems.append("the Models screen did not write the config")
    for path in [dirs["home"], *dirs["home"].rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            problems.append(f"{oct(mode)} {path.relative_to(dirs['home'])}")
    written = {p.parent.name for p in dirs["home"].rglob("*") if p.is_file()}
    if not {"chats", "config", "index"} <= written:
        problems.append(f"expected transcripts, config and index files; found dirs {written}")
    assert problems == []


def test_the_audit_detectors_see_a_non_loopback_connect(tmp_path: Path) -> None:
    """A UDP ``connect`` sends no packet, yet both detectors must report it."""
    require_strace()
    code = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n    s.connect(('192.0.2.1', 9))\nexcept OSError as exc:\n    print(exc)\n"
    )
    plain = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    prefix = tmp_path / "trace"
    subprocess.run([*strace_command(prefix), sys.executable, "-c", code], env=plain, check=True,
                   capture_output=True, timeout=60)
    assert read_logs(prefix).offsite_connects == ["192.0.2.1:9"]

    log = tmp_path / "guard.log"
    guarded = base_env(tmp_path, OFFYAI_NETGUARD_LOG=log)
    result = subprocess.run([sys.executable, "-c", code], env=guarded, capture_output=True,
                            text=True, timeout=60)
    assert "offline guard" in result.stdout
    assert "192.0.2.1" in log.read_text()


def test_traffic_parser_counts_bytes_per_destination() -> None:
    traffic = Traffic()
    for line in [
        'connect(5<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(11434), '
        'sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)',
        'connect(7<TCPv6:[2]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 EINPROGRESS',
        'sendto(5<TCP:[127.0.0.1:4000->127.0.0.1:11434]>, ""..., 87, MSG_NOSIGNAL, NULL, 0) = 87',
        'write(6<TCP:[10.0.0.2:4001->198.51.100.7:443]>, ""..., 10) = 10',
        'sendto(3<UDP:[0.0.0.0:5353]>, ""..., 30, 0, {sa_family=AF_INET, sin_port=htons(53), '
        'sin_addr=inet_addr("127.0.0.53")}, 16) = 30',
        'write(1</dev/pts/3>, ""..., 500) = 500',
        'write(4<pipe:[123]>, ""..., 40) = 40',
    ]:
        parse_line(line, traffic)
    assert traffic.connects == ["127.0.0.1:11434", "2001:db8::1:443"]
    assert traffic.offsite_connects == ["2001:db8::1:443"]
    assert traffic.loopback_bytes == 87 + 30
    assert traffic.offsite_bytes == 10
    assert traffic.dns == ["127.0.0.53:53"]
