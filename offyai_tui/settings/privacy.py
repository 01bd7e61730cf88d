"""What of a workspace may go to an engine that is not on this machine.

Chatting with a remote engine is the user's choice of engine; sending it the
workspace's *documents* is a second choice, made per workspace and per host.
Every path that would put workspace content in a request (document passages in
a chat turn, texts to embed, and, through the same :func:`check`, attachments
and document-search tool results) asks :func:`check` first, so there is one
rule to audit.

The opt-in is stored in the workspace (``remote-documents.json``, 0600) with
the origin it was given for (``scheme://host:port``): granting a GPU box on the
LAN does not also grant a cloud endpoint configured later, and another
workspace asks again. ``rag.allow_remote`` in config.toml, the old global
switch, grants nothing any more (config load warns about it): a line in a
file that applies to every workspace and every host is not the consent the
README promises.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from offyai_tui.util.fileio import atomic_write_text
from offyai_tui.util.textsafe import visible

if TYPE_CHECKING:
    from offyai_tui.engines.base import Engine
    from offyai_tui.settings.workspace import Workspace

CONSENT_FILE = "remote-documents.json"
CLI_FLAG = "--allow-remote-docs"
WHAT = "passages of this workspace's documents"
"""What a grant lets through, as the dialog and the refusal lines say it."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Destination:
    """A remote engine as the opt-in sees it: a name for people, an origin for the store."""

    engine: str
    """The engine's label (``openai 'remote'`` style names come from the config)."""
    origin: str
    """``scheme://host:port``, lower case, default port made explicit."""

    @property
    def host(self) -> str:
        """``host:port``, what the user configured and recognizes."""
        return self.origin.split("://", 1)[-1]

    def describe(self) -> str:
        return visible(f"{self.engine} at {self.host}")


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url``; a bare ``host:port`` is taken as http."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = 0
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def destination(engine: Engine | None) -> Destination | None:
    """Where a request to ``engine`` goes, or ``None`` when it stays on this machine."""
    if engine is None or not engine.is_remote:
        return None
    return Destination(engine.label, origin_of(engine.endpoint))


def where_it_goes(engine: Engine | None) -> str:
    """The one privacy claim the UI may make for ``engine`` (none while it is unknown).

    "Everything stays on this machine." is said only of an engine that is on it.
    """
    if engine is None:
        return ""
    dest = destination(engine)
    if dest is None:
        return "Everything stays on this machine."
    return f"⚠ {dest.describe()} is not on this machine: what you send goes there."


class Consent:
    """The opt-ins stored in one workspace: origin -> when and for which engine name.

    A file that cannot be read or parsed counts as no opt-in: the check fails
    closed, and the next grant rewrites it.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def path(self):
        return self.workspace.root / CONSENT_FILE

    def granted(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        hosts = data.get("hosts") if isinstance(data, dict) else None
        if not isinstance(hosts, dict):
            return {}
        return {k: v for k, v in hosts.items() if isinstance(k, str) and isinstance(v, dict)}

    def allows(self, dest: Destination) -> bool:
        return dest.origin in self.granted()

    def grant(self, dest: Destination) -> None:
        """Remember that this workspace's documents may go to ``dest`` (file 0600)."""
        hosts = self.granted()
        hosts[dest.origin] = {
            "engine": dest.engine,
            "granted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._write(hosts)

    def revoke(self, dest: Destination | None = None) -> None:
        """Forget the opt-in for ``dest``, or every opt-in of the workspace."""
        hosts = {} if dest is None else self.granted()
        hosts.pop(dest.origin if dest else "", None)
        self._write(hosts)

    def _write(self, hosts: dict[str, dict[str, Any]]) -> None:
        self.workspace.ensure()
        text = json.dumps({"version": 1, "what": WHAT, "hosts": hosts}, indent=2)
        atomic_write_text(self.path, text + "\n")


def check(engine: Engine | None, workspace: Workspace, *, this_run: bool = False) -> str:
    """``""`` when workspace content may go to ``engine``, else the one line why not.

    The line starts with "documents not sent:"; callers add what happens instead
    and how to allow it (:func:`refusal` does both).

    Args:
        engine: The engine the request would go to.
        workspace: Whose documents (or attachments, or tool results) would go.
        this_run: The user allowed it for this run only (``--allow-remote-docs``).
    """
    dest = destination(engine)
    if dest is None or this_run or Consent(workspace).allows(dest):
        return ""
    return (
        f"documents not sent: {dest.describe()} is not on this machine and workspace "
        f"{workspace.name!r} has not allowed its documents to go there"
    )


def refusal(why: str, instead: str, how: str = f"add {CLI_FLAG} to send them for this run") -> str:
    """``why`` (from :func:`check`), what happens instead, and how to allow it: one line."""
    return f"{why}; {instead} ({how})"
