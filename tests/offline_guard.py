"""Pytest plugin: the whole suite runs with the network beyond loopback refused.

Loaded through ``addopts = -p tests.offline_guard`` so no test can opt out. Child
processes inherit the guard via ``tests/_guard/sitecustomize.py``; their
violations land in a log this plugin checks after every test.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from offyai_tui.util import netguard

_GUARD_DIR = Path(__file__).parent / "_guard"
_LOG = Path(tempfile.gettempdir()) / f"offyai-netguard-{os.getpid()}.log"


def pytest_configure(config: pytest.Config) -> None:
    os.environ["OFFYAI_NETGUARD"] = "1"
    os.environ["OFFYAI_NETGUARD_LOG"] = str(_LOG)
    _LOG.unlink(missing_ok=True)
    paths = [str(_GUARD_DIR), str(Path(__file__).parent.parent)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    # Libraries that would otherwise try a hub or a download at first use.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "offyai-no-tiktoken")
    netguard.install()
    config.addinivalue_line("markers", "netguard_selftest: the test triggers the guard on purpose")


def _child_violations(offset: int) -> list[str]:
    if not _LOG.exists() or _LOG.stat().st_size <= offset:
        return []
    me = f"{os.getpid()} "
    with _LOG.open(encoding="utf-8") as handle:
        handle.seek(offset)
        return [line.strip() for line in handle if line.strip() and not line.startswith(me)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Fail a test during which anything (this process or a child) left loopback.

    Tests of the guard itself carry the ``netguard_selftest`` marker: their
    deliberate violations are expected and cleared.
    """
    before = len(netguard.violations)
    offset = _LOG.stat().st_size if _LOG.exists() else 0
    try:
        return (yield)
    finally:
        new = netguard.violations[before:] + _child_violations(offset)
        del netguard.violations[before:]
        if new and item.get_closest_marker("netguard_selftest") is None:
            pytest.fail("network access beyond loopback: " + "; ".join(new[:5]), pytrace=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    _LOG.unlink(missing_ok=True)
