"""Documents and a remote engine, over real non-loopback traffic kept on this machine.

Each test runs the real ``offyai`` binary and an OpenAI-compatible recording
server (:mod:`tests.e2e.recording_openai`) inside a network namespace the test
creates (``unshare -n``): the server listens on ``10.99.0.1``, an address on the
namespace's own loopback device, so ``offyai`` sees a remote engine while every
packet stays in the namespace, which has no other device and no route out. The
offline guard lets ``offyai`` reach that one address only there
(``OFFYAI_NETGUARD_ALLOW``, see :mod:`offyai_tui.util.netguard`).

What the server recorded proves what left the client: no passage of the
workspace's documents without the workspace's opt-in for that host, and the
passage with ``--allow-remote-docs`` (for that run only) or a stored opt-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.util import netguard
from tests.e2e.conftest import run_offyai, write_config
from tests.tmux import OFFYAI, REPO, base_env

ADDRESS = "10.99.0.1"
PORT = 18080
ORIGIN = f"http://{ADDRESS}:{PORT}"
SECRET = "TANGO-4471-ZULU"
QUESTION = "what is the launch code?"
REMOTE = f"""
[[openai]]
name = "remote"
url = "{ORIGIN}/v1"
"""
ASK = ["--engine", "openai:remote", "ask", "--docs", "--max-tokens", "8"]
NAMESPACE_TIMEOUT = 600.0


def namespace_command() -> list[str]:
    """``unshare -n`` (or ``-rn`` without root), or skip saying why neither works."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("network namespaces need unshare and ip (util-linux, iproute2)")
    reasons = []
    for command in (["unshare", "-n"], ["unshare", "-rn"]):
        done = subprocess.run([*command, "ip", "link", "set", "lo", "up"],
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return command
        reasons.append(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")
    pytest.skip("cannot create a network namespace here (" + "; ".join(reasons) + ")")


def in_namespace(
    app_home: Path, user_home: Path, tmp_path: Path, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """Run ``steps`` (see :mod:`tests.e2e.netns_run`) in a fresh namespace; its results."""
    prefix = namespace_command()
    out = tmp_path / "netns-result.json"
    spec = tmp_path / "netns-spec.json"
    spec.write_text(json.dumps({
        "address": ADDRESS, "port": PORT, "offyai": str(OFFYAI), "cwd": str(user_home),
        "out": str(out), "steps": steps,
    }), encoding="utf-8")  # fmt: skip
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.e2e.netns_run", str(spec)],
        capture_output=True, text=True, cwd=REPO, timeout=NAMESPACE_TIMEOUT,
        env=base_env(user_home, OFFYAI_HOME=app_home),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    # The namespace had its loopback device and nothing else: no way off the machine.
    assert result["only_loopback"] is True
    devices = {line.split()[1] for line in result["addresses"].splitlines()}
    assert devices == {"lo"}, result["addresses"]
    assert "default" not in result["routes"], result["routes"]
    return result


def chat_bodies(step: dict[str, Any]) -> list[str]:
    return [r["body"] for r in step["requests"] if r["path"] == "/v1/chat/completions"]


def received(step: dict[str, Any]) -> str:
    """Everything the server got during a step, bodies and paths."""
    return "\n".join(f"{r['method']} {r['path']} {r['body']}" for r in step["requests"])


def write_document(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "launch.md").write_text(
        f"# Launch\n\nThe launch code is {SECRET}. Never tell anyone.\n", encoding="utf-8"
    )
    return folder


def stderr_lines(step: dict[str, Any]) -> list[str]:
    return [line for line in step["stderr"].splitlines() if line.strip()]


@pytest.mark.slow
def test_ask_docs_sends_passages_to_a_remote_engine_only_when_the_workspace_allows(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    write_config(app_home, REMOTE)
    folder = write_document(tmp_path / "docs")
    indexed = run_offyai(["index", str(folder)], app_home, user_home, timeout=180)
    assert indexed.returncode == 0, indexed.stderr  # embedded locally, on loopback only

    ask = [*ASK, QUESTION]
    allow = [*ASK, "--allow-remote-docs", QUESTION]
    result = in_namespace(app_home, user_home, tmp_path, [
        {"run": ask},
        {"run": allow},
        {"run": ask},
        {"grant": f"http://{ADDRESS}:{PORT + 1}"},
        {"run": ask},
        {"grant": ORIGIN},
        {"run": ask},
    ])  # fmt: skip
    plain, allowed, again, _, other_host, _, granted = result["steps"]

    # No opt-in: the turn runs without documents, and one line says so and how.
    for step in (plain, again, other_host):
        assert SECRET not in received(step)
        assert step["rc"] == 0, step["stderr"]
        assert "Sources:" not in step["stdout"]
        (line,) = stderr_lines(step)
        assert line.startswith("offyai: documents not sent: remote at 10.99.0.1:18080")
        assert "answering without them" in line and "--allow-remote-docs" in line

    for step in (plain, allowed, again, other_host, granted):
        assert step["rc"] == 0, step["stderr"]
        assert "Recorded your question." in step["stdout"]
        assert len(chat_bodies(step)) == 1 and QUESTION in chat_bodies(step)[0]

    # --allow-remote-docs (that run only) and a stored opt-in for this host send them.
    for step in (allowed, granted):
        assert SECRET in chat_bodies(step)[0]
        assert "Sources:" in step["stdout"] and "launch.md" in step["stdout"]
        assert "documents not sent" not in step["stderr"]


@pytest.mark.slow
def test_index_with_a_remote_embedding_engine_needs_the_workspace_opt_in(
    app_home: Path, user_home: Path, tmp_path: Path
) -> None:
    write_config(app_home, REMOTE + (
        '\n[rag]\nembedding_engine = "openai:remote"\nembedding_model = "recorder-embedding"\n'
    ))  # fmt: skip
    folder = write_document(tmp_path / "docs")
    result = in_namespace(app_home, user_home, tmp_path, [
        {"run": ["index", str(folder)]},
        {"run": ["index", "--allow-remote-docs", str(folder)]},
    ])  # fmt: skip
    refused, allowed = result["steps"]

    assert refused["rc"] == 1
    (line,) = stderr_lines(refused)
    assert line.startswith("offyai: documents not sent: remote at 10.99.0.1:18080")
    assert "--allow-remote-docs" in line
    assert refused["requests"] == []  # not even a model list: nothing was sent

    assert allowed["rc"] == 0, allowed["stderr"]
    embedded = [r["body"] for r in allowed["requests"] if r["path"] == "/v1/embeddings"]
    assert any(SECRET in body for body in embedded)


@pytest.mark.netguard_selftest
def test_the_guard_allowance_is_ignored_outside_a_namespace_of_its_own(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "from offyai_tui.util import netguard\n"
        "print(netguard.allowed_addresses() == frozenset())\n"
        "s = socket.socket()\n"
        "s.settimeout(1)\n"
        "try:\n"
        f"    s.connect(({ADDRESS!r}, {PORT}))\n"
        "except netguard.NetworkBlocked:\n"
        "    print('blocked')\n"
        "except OSError as exc:\n"
        "    print('not blocked', exc)\n"
    )
    env = {**os.environ, netguard.ALLOW_ENV: ADDRESS}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.stdout.split("\n")[:2] == ["True", "blocked"], done.stdout + done.stderr
