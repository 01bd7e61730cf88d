"""Count network traffic from ``strace`` logs: what left loopback, in bytes.

The offline guard sees what Python code does; a native library (llama.cpp,
a tokenizer) could open sockets it never sees. ``strace -f -yy`` records the
system calls of every process and thread, with each socket's endpoints, so the
offline audit can count connection attempts and bytes sent per destination,
whoever made them.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

SYSCALLS = "trace=%network,write,writev,pwrite64,sendfile"
"""What to record: every socket call, and the plain writes a socket can take."""

_CALL = re.compile(
    r"^(?:\[pid\s+)?\d*\]?\s*(?P<name>\w+)\((?P<fd>\d+)<(?P<kind>\w+:\[[^\]]*\]|[^>]*)>"
)
_ENDPOINTS = re.compile(r"^(?:TCP|UDP|TCPv6|UDPv6|UDPLITE|UDPLITEv6):\[(?P<addr>[^\]]*)\]$")
_V4 = re.compile(r'sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<host>[^"]+)"\)')
_V6 = re.compile(r'sin6_port=htons\((?P<port>\d+)\).*?inet_pton\(AF_INET6, "(?P<host>[^"]+)"')
_RESULT = re.compile(r"\)\s+=\s+(?P<value>-?\d+)")
_SENDS = frozenset({"sendto", "sendmsg", "sendmmsg", "write", "writev", "pwrite64", "sendfile"})


def strace_command(log_prefix: Path) -> list[str]:
    """The ``strace`` prefix for a command: follow children, one log per process."""
    strace = shutil.which("strace")
    assert strace is not None
    return [
        strace, "-f", "-ff", "-qq", "--seccomp-bpf", "-yy", "-s", "0",
        "-e", SYSCALLS, "-e", "signal=none", "-o", str(log_prefix),
    ]  # fmt: skip


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


@dataclass
class Traffic:
    """What a traced session did on the network."""

    connects: list[str] = field(default_factory=list)
    """Every ``host:port`` a TCP/UDP connect was attempted to."""
    bytes_to: dict[str, int] = field(default_factory=dict)
    """Bytes sent per destination ``host:port``."""
    lines: int = 0

    @property
    def offsite_connects(self) -> list[str]:
        return [c for c in self.connects if not is_loopback(_host(c))]

    @property
    def offsite_bytes(self) -> int:
        return sum(n for dest, n in self.bytes_to.items() if not is_loopback(_host(dest)))

    @property
    def loopback_bytes(self) -> int:
        return sum(n for dest, n in self.bytes_to.items() if is_loopback(_host(dest)))

    @property
    def dns(self) -> list[str]:
        """Destinations on port 53, loopback included (a local stub resolver forwards)."""
        seen = self.connects + list(self.bytes_to)
        return [d for d in seen if d.rsplit(":", 1)[-1] == "53"]


def _host(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0]


def _explicit_address(line: str) -> str | None:
    for pattern in (_V4, _V6):
        match = pattern.search(line)
        if match:
            return f"{match['host']}:{match['port']}"
    return None


def parse_line(line: str, traffic: Traffic) -> None:
    """Add one strace line to ``traffic``."""
    call = _CALL.match(line)
    if call is None:
        return
    traffic.lines += 1
    name = call["name"]
    endpoints = _ENDPOINTS.match(call["kind"])
    if endpoints is None:
        return  # a file, a pipe, a tty or a Unix socket
    if name == "connect":
        target = _explicit_address(line)
        if target:
            traffic.connects.append(target)
        return
    if name not in _SENDS:
        return
    result = _RESULT.search(line)
    sent = int(result["value"]) if result else 0
    if sent <= 0:
        return
    destination = None
    if name in {"sendto", "sendmsg"}:
        destination = _explicit_address(line)
    if destination is None and "->" in endpoints["addr"]:
        destination = endpoints["addr"].split("->", 1)[1]
    if destination is None:
        destination = "unknown:0"  # not connected and no address: count it as off-site
    traffic.bytes_to[destination] = traffic.bytes_to.get(destination, 0) + sent


def read_logs(prefix: Path) -> Traffic:
    """Parse every per-process log ``strace -ff -o PREFIX`` wrote."""
    traffic = Traffic()
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                parse_line(line, traffic)
    return traffic
