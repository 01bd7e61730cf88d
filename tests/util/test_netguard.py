"""The offline guard refuses non-loopback traffic, in this process and in children."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from offyai_tui.util import netguard


@pytest.mark.netguard_selftest
def test_guard_blocks_public_address() -> None:
    before = len(netguard.violations)
    with socket.socket() as sock, pytest.raises(netguard.NetworkBlocked):
        sock.connect(("93.184.216.34", 80))
    assert netguard.violations[before:] == ["connect to non-loopback address ('93.184.216.34', 80)"]


@pytest.mark.netguard_selftest
def test_guard_blocks_name_lookup() -> None:
    with pytest.raises(netguard.NetworkBlocked):
        socket.getaddrinfo("example.com", 443)


def test_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass


@pytest.mark.netguard_selftest
def test_child_processes_are_guarded() -> None:
    code = (
        "import socket\n"
        "s = socket.socket()\n"
        "try:\n"
        "    s.connect(('1.1.1.1', 53))\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "NetworkBlocked"
    with open(os.environ["OFFYAI_NETGUARD_LOG"], encoding="utf-8") as log:
        assert "connect to non-loopback address ('1.1.1.1', 53)" in log.read()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("192.168.1.2", False),
        ("example.com", False),
        ("0.0.0.0", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert netguard.is_loopback_host(host) is loopback
