"""A private OpenSSH server on 127.0.0.1 for tests, with keys made for the test.

Nothing of the system's SSH set-up is used or changed: the host key, the
client key, ``authorized_keys``, the server's configuration and its pid file
all live in a temporary directory, and the server listens on a free loopback
port for one test. When the system's ``sshd`` is missing the test is skipped,
with the reason.

``sshd`` started as root insists on its privilege separation directory,
``/run/sshd``, which only exists on machines that run an SSH service. Rather
than create it, the server then runs in a private mount namespace whose
``/run`` is a small tmpfs holding that directory (``unshare``); where that is
not allowed either, the test is skipped, naming what is missing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


@dataclass
class SshServer:
    """What a client needs to log in: ``ssh_command()`` builds the ``ssh`` line."""

    port: int
    key: Path
    known_hosts: Path
    user: str

    def ssh_command(self, remote: str) -> list[str]:
        """``ssh -tt`` running ``remote`` (a shell command line) on this server."""
        return [
            shutil.which("ssh") or "ssh", "-F", "/dev/null", "-tt",
            "-p", str(self.port), "-i", str(self.key),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "LogLevel=ERROR",
            f"{self.user}@127.0.0.1", remote,
        ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sshd() -> str:
    for path in SSHD_PATHS:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("sshd")
    if found is None:
        pytest.skip("sshd (openssh-server) is not installed")
    return found


def _launcher(sshd: str, config: Path) -> list[str]:
    """The command that runs ``sshd`` in the foreground with ``config``."""
    command = [sshd, "-D", "-e", "-f", str(config)]
    if os.geteuid() != 0 or os.path.isdir("/run/sshd"):
        return command
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("sshd as root needs /run/sshd, and unshare is missing to provide it privately")
    script = (
        "mount -t tmpfs -o size=1m,mode=0755 offyai-test-sshd /run && "
        f"mkdir -m 0755 /run/sshd && exec {shlex.join(command)}"
    )
    return [unshare, "--mount", "--propagation", "private", "sh", "-c", script]


@contextlib.contextmanager
def ssh_server(folder: Path) -> Iterator[SshServer]:
    """Run ``sshd`` for the block; everything it uses is made under ``folder``."""
    sshd = _sshd()
    keygen = shutil.which("ssh-keygen")
    if keygen is None or shutil.which("ssh") is None:
        pytest.skip("the OpenSSH client (ssh, ssh-keygen) is not installed")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    host_key, client_key = folder / "host_key", folder / "client_key"
    for key in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = folder / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
            f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
            "UsePAM no", "StrictModes no", "PubkeyAuthentication yes",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password", "AllowTcpForwarding no",
            "X11Forwarding no", "PrintMotd no", "PrintLastLog no", "LogLevel ERROR", "",
        ])
    )  # fmt: skip
    log = folder / "sshd.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            _launcher(sshd, config), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                reason = log.read_text(errors="replace").strip().splitlines()
                pytest.skip(f"sshd did not start here: {reason[-1] if reason else 'no output'}")
            time.sleep(0.05)
        user = psutil.Process().username()
        yield SshServer(port, client_key, folder / "known_hosts", user)
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and every session process it started (by pid)."""
    try:
        family = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for process in [*family, psutil.Process(server.pid)] if server.poll() is None else family:
        with contextlib.suppress(psutil.Error):
            process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(10)
