"""Run ``offyai`` against a recording server inside a network namespace of its own.

Started by the remote-documents tests as ``unshare -n python -m tests.e2e.netns_run
SPEC.json``. Inside the new namespace the only device is its loopback: this
script brings it up, gives it the non-loopback address of the spec (for example
``10.99.0.1``), serves :class:`~tests.e2e.recording_openai.RecordingServer` on
it, and runs the spec's steps in order:

* ``{"run": [ARGS...]}``: ``offyai ARGS`` with the offline guard's allowance for
  that one address (``OFFYAI_NETGUARD_ALLOW``, honoured only in a namespace like
  this one); records exit code, stdout, stderr and what the server received;
* ``{"grant": ORIGIN, "workspace": NAME}``: store a workspace opt-in, as the
  chat's dialog does on Yes.

The results, with the namespace's addresses and routes (proof that nothing
else was reachable), go to the spec's ``out`` file as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from offyai_tui.settings.privacy import Consent, Destination
from offyai_tui.settings.workspace import Workspace
from offyai_tui.util import netguard
from tests.e2e.recording_openai import recording_server

STEP_TIMEOUT = 120.0


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise SystemExit(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def main(spec_path: str) -> int:
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    address, port = spec["address"], int(spec["port"])
    result: dict[str, Any] = {"only_loopback": netguard.only_loopback_devices(), "steps": []}
    if not result["only_loopback"]:
        raise SystemExit("this network namespace has devices besides loopback; refusing to run")
    _ip("link", "set", "lo", "up")
    _ip("addr", "add", f"{address}/32", "dev", "lo")
    result["addresses"] = _ip("-o", "addr", "show")
    result["routes"] = _ip("route", "show", "table", "all")
    env = {**os.environ, netguard.ALLOW_ENV: address}
    with recording_server(address, port) as server:
        for step in spec["steps"]:
            if "grant" in step:
                workspace = Workspace.open(step.get("workspace", "default"))
                Consent(workspace).grant(Destination("test grant", step["grant"]))
                result["steps"].append({"grant": step["grant"]})
                continue
            done = subprocess.run(
                [spec["offyai"], *step["run"]], capture_output=True, text=True,
                env=env, cwd=spec.get("cwd"), timeout=STEP_TIMEOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            result["steps"].append({
                "run": step["run"], "rc": done.returncode, "stdout": done.stdout,
                "stderr": done.stderr, "requests": server.take(),
            })  # fmt: skip
    Path(spec["out"]).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
