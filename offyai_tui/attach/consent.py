"""What the screen says before attachments go to an engine that is not on this machine.

Attaching a file is the user's explicit choice to send *that* file to the
engine in use, so it needs no workspace opt-in as documents do
(:mod:`offyai_tui.settings.privacy`). But "everything stays on this machine"
is only said of a local engine: for a remote one the chips carry a line
naming where the files go, with the same engine description the documents
question uses, before the user presses Enter.
"""

from __future__ import annotations

from collections.abc import Sequence

from offyai_tui.chat.attachments import Attachment
from offyai_tui.engines.base import Engine
from offyai_tui.settings.privacy import Destination, destination
from offyai_tui.util.textsafe import visible


def remote_destination(engine: Engine | None) -> Destination | None:
    """Where attachments sent to ``engine`` go, or ``None`` when it is on this machine."""
    return destination(engine)


def remote_notice(engine: Engine | None, attachments: Sequence[Attachment]) -> str:
    """``⚠ photo.png and notes.txt go to openai 'cloud' at api.example:443 …``, or ``""``.

    Empty for a local engine or no attachments; the UI shows it under the
    chips and ``offyai ask`` prints it on stderr before sending.
    """
    dest = destination(engine)
    if dest is None or not attachments:
        return ""
    names = [visible(a.name or "unnamed") for a in attachments]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    verb = "goes" if len(names) == 1 else "go"
    return f"⚠ {listed} {verb} to {dest.describe()}, which is not on this machine"
