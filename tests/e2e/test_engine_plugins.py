"""Engines are plugins: a package outside the tree answers through the real ``offyai``.

The plugin is the complete example of ``docs/plugins.md``, built from the page's
file blocks and installed outside the tree (``tests/plugin_site.py``). The engine
talks to the real ``llama_cpp.server`` through a recording proxy, so the test sees
that the ``[engines.completions]`` table of ``config.toml`` decided where the
request went.

Beside it sits a broken package: one entry point whose module does not exist and
one whose constructor raises with escapes and a line break in its message. Each
must be one inert line, and the rest must keep working.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capture_proxy import CaptureProxy
from tests.e2e.conftest import closed_port, run_offyai, write_config
from tests.llama_server import LlamaServer
from tests.plugin_site import install

ANSI = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The documented plugin and a broken one, installed as pip would (tests/plugin_site.py)."""
    return install(tmp_path / "site")


def _env(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def _config(home: Path, url: str) -> None:
    write_config(home, f'[engines.completions]\nurl = "{url}"\nmax_tokens = 64\n')


async def test_the_documented_plugin_answers_ask_with_its_config_table(
    site: Path, app_home: Path, user_home: Path, llama_server: LlamaServer
) -> None:
    async with CaptureProxy(llama_server.url) as proxy:
        _config(app_home, proxy.url)
        args = ["ask", "--engine", "completions", "--max-tokens", "6", "--temperature", "0",
                "Name a colour."]  # fmt: skip
        done = await asyncio.to_thread(run_offyai, args, app_home, user_home, **_env(site))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), done.stderr
    sent = proxy.bodies("/completions")
    assert len(sent) == 1, proxy.requests
    assert sent[0]["prompt"].endswith("User: Name a colour.\nAssistant:")
    assert sent[0]["max_tokens"] == 6 and sent[0]["stream"] is True
    assert "Traceback" not in done.stderr

    # The table decides where it goes: pointed elsewhere, the same command names that place.
    elsewhere = f"http://127.0.0.1:{closed_port()}/v1"
    _config(app_home, elsewhere)
    failed = run_offyai(["ask", "--engine", "completions", "Hi"], app_home, user_home,
                        **_env(site))  # fmt: skip
    assert failed.returncode == 1
    assert elsewhere in failed.stderr and len(failed.stderr.splitlines()) == 1, failed.stderr


def test_broken_plugins_are_one_line_each_and_everything_else_works(
    site: Path, app_home: Path, user_home: Path, llama_server: LlamaServer
) -> None:
    _config(app_home, llama_server.url)
    env = _env(site)
    listed = run_offyai(["models"], app_home, user_home, **env)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr + listed.stdout
    plugin_lines = [line for line in listed.stderr.splitlines() if "engine plugin" in line]
    assert plugin_lines == [
        "offyai: engine plugin 'broken-import' (offyai-broken 0.1) cannot be imported: "
        "ModuleNotFoundError: No module named 'offyai_missing_module'; skipped",
        "offyai: engine plugin 'broken-init' (offyai-broken 0.1) could not start: "
        "ValueError: no key \\x1b]0;pwned\\x07 in the table: {}; skipped",
    ], listed.stderr
    assert not ANSI.search(listed.stderr.replace("\n", ""))
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert any("completions" in row for row in rows), listed.stdout  # its model, its engine
    assert re.search(r"engines: ollama \(built in\); openai \(built in\); llamacpp \(built in\); "
                     r"broken-import \(plugin, offyai-broken 0\.1\): cannot be imported: "
                     r"ModuleNotFoundError: .*; completions \(plugin, offyai-completions "
                     r"0\.1\.0\): answering at ", listed.stderr), listed.stderr  # fmt: skip

    as_json = run_offyai(["models", "--json"], app_home, user_home, **env)
    engines = {e["name"]: e for e in json.loads(as_json.stdout)["engines"]}
    assert list(engines) == ["ollama", "openai", "llamacpp", "broken-import", "broken-init",
                             "broken-stream", "completions"]  # fmt: skip
    assert engines["completions"]["ok"] and not engines["completions"]["builtin"]
    assert not engines["broken-init"]["ok"]
    assert any(m["engine"] == "completions" for m in json.loads(as_json.stdout)["models"])

    doctor = run_offyai(["doctor"], app_home, user_home, **env)
    assert doctor.returncode == 0, doctor.stderr
    lines = doctor.stdout.splitlines()
    assert "engines    ollama, openai, llamacpp (built in); plugins: broken-import, " \
        "broken-init, broken-stream, completions" in lines, doctor.stdout
    plugins = [line for line in lines if line.startswith("plugin ")]
    assert len(plugins) == 4, doctor.stdout
    assert plugins[0] == ("plugin     broken-import (plugin, offyai-broken 0.1): cannot be "
                          "imported: ModuleNotFoundError: No module named 'offyai_missing_module'")
    assert plugins[1].startswith("plugin     broken-init (plugin, offyai-broken 0.1): could not "
                                 "start: ValueError: no key \\x1b]0;pwned\\x07 in the table")
    assert plugins[3].startswith(f"plugin     completions (plugin, offyai-completions 0.1.0): "
                                 f"answering at {llama_server.url}")  # fmt: skip
    assert "Traceback" not in doctor.stdout + doctor.stderr
    as_json = run_offyai(["doctor", "--json"], app_home, user_home, **env)
    engines = {e["name"]: e for e in json.loads(as_json.stdout)["engines"]}
    assert engines["completions"]["ok"] and engines["completions"]["package"] == (
        "offyai-completions 0.1.0"
    )
    assert engines["broken-import"]["detail"].startswith("cannot be imported: ModuleNotFound")

    builtin = run_offyai(["ask", "--engine", "llamacpp", "--max-tokens", "4", "Hi"],
                         app_home, user_home, **env)  # fmt: skip
    assert builtin.returncode == 0 and builtin.stdout.strip(), builtin.stderr

    for name, reason in (("broken-init", "ValueError: no key"),
                         ("broken-import", "ModuleNotFoundError")):  # fmt: skip
        chosen = run_offyai(["ask", "--engine", name, "Hi"], app_home, user_home, **env)
        assert chosen.returncode == 1
        assert chosen.stderr.startswith(f"offyai: engine plugin '{name}' (offyai-broken 0.1)")
        assert reason in chosen.stderr and len(chosen.stderr.splitlines()) == 1, chosen.stderr

    # An engine that raises instead of answering: one line naming it, no traceback.
    stumbled = run_offyai(["ask", "--engine", "broken-stream", "Hi"], app_home, user_home, **env)
    assert (stumbled.returncode, stumbled.stdout) == (1, "")
    assert stumbled.stderr == (
        "offyai: engine plugin 'broken-stream' (offyai-broken 0.1) failed while answering: "
        "KeyError: 'lost my \\x1b[2J place'\n"
    )

    unknown = run_offyai(["ask", "--engine", "nosuch", "Hi"], app_home, user_home, **env)
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "offyai: unknown engine 'nosuch'; choose one of: ollama, openai[:NAME], llamacpp, "
        "broken-import, broken-init, broken-stream, completions\n"
    )


def test_the_documented_plugin_passes_the_contract_kit(
    site: Path, app_home: Path, user_home: Path, llama_server: LlamaServer
) -> None:
    """``python -m offyai_tui.engines.contract NAME``, as docs/plugins.md tells authors."""
    _config(app_home, llama_server.url)
    env = {"OFFYAI_HOME": str(app_home), "HOME": str(user_home), **os.environ, **_env(site)}
    env["OFFYAI_HOME"] = str(app_home)
    done = subprocess.run(
        [sys.executable, "-m", "offyai_tui.engines.contract", "completions"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "7 passed, 0 failed", done.stdout
    broken = subprocess.run(
        [sys.executable, "-m", "offyai_tui.engines.contract", "broken-init"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert broken.returncode == 1 and "could not start" in broken.stderr, broken.stderr
