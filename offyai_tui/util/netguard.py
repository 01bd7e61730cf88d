"""A socket guard that refuses any connection beyond loopback.

The test suite installs it in its own process and, through ``sitecustomize``,
in every Python child process (engine workers, test servers), so a test that
reaches the network fails instead of quietly leaking. Violations are appended
to the file named by ``OFFYAI_NETGUARD_LOG`` so the parent can report them.

One narrow allowance exists for tests that need real non-loopback traffic: the
addresses listed in ``OFFYAI_NETGUARD_ALLOW`` may be reached, but only by a
process whose network namespace has no device but loopback (one made with
``unshare -n``): there such an address can only be on that loopback device and
no packet can leave the machine. Anywhere else the variable is ignored.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_installed = False
violations: list[str] = []
ALLOW_ENV = "OFFYAI_NETGUARD_ALLOW"
_allowed: frozenset[str] = frozenset()


class NetworkBlocked(OSError):
    """Raised instead of connecting to a non-loopback address."""


def is_loopback_host(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def only_loopback_devices() -> bool:
    """True when loopback is this network namespace's only device (``unshare -n``)."""
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False


def allowed_addresses() -> frozenset[str]:
    """The IP addresses of ``OFFYAI_NETGUARD_ALLOW``, if this process may use them."""
    raw = os.environ.get(ALLOW_ENV, "")
    if not raw.strip() or not only_loopback_devices():
        return frozenset()
    found = set()
    for part in raw.split(","):
        try:
            found.add(str(ipaddress.ip_address(part.strip())))
        except ValueError:
            continue  # names are never allowed: a lookup could leave the namespace
    return frozenset(found)


def _record(what: str) -> None:
    violations.append(what)
    log = os.environ.get("OFFYAI_NETGUARD_LOG")
    if log:
        try:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {what}\n")
        except OSError:
            pass


def _check_address(family: int, address: Any, op: str) -> None:
    if family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) else str(address)
    if not is_loopback_host(str(host)) and str(host) not in _allowed:
        what = f"{op} to non-loopback address {address!r}"
        _record(what)
        raise NetworkBlocked(f"offline guard: {what}")


def install() -> None:
    """Patch the socket module in this process (idempotent)."""
    global _installed, _allowed
    if _installed:
        return
    _installed = True
    _allowed = allowed_addresses()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _check_address(self.family, address, "connect")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_address(self.family, address, "connect")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: bytes, *args: Any) -> int:
        address = args[-1]
        _check_address(self.family, address, "sendto")
        return real_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None:
            name = host.decode() if isinstance(host, bytes) else str(host)
            if not is_loopback_host(name) and name not in _allowed:
                what = f"name lookup of {name!r}"
                _record(what)
                raise NetworkBlocked(f"offline guard: {what}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
