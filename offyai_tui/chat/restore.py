"""A conversation rebuilt from its replayed transcript (what the store does on open).

Apart from :class:`~offyai_tui.chat.conversation.Conversation` because it is the one
place that knows both the replayed data (:mod:`offyai_tui.chat.replay`) and how a
live conversation holds it.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.chat.conversation import Conversation
from offyai_tui.chat.modes import ModeCatalog, builtin_catalog
from offyai_tui.chat.transcript import TranscriptData, TranscriptWriter


def restore(
    data: TranscriptData,
    *,
    writer: TranscriptWriter | None,
    modes: ModeCatalog | None = None,
    **kwargs: Any,
) -> Conversation:
    """Rebuild a conversation from a replayed transcript; a lost mode is a warning."""
    modes = modes or builtin_catalog()
    conv = Conversation(
        data.id, writer=writer, modes=modes, title=data.title, model=data.model,
        created=data.created, **kwargs,
    )  # fmt: skip
    conv.messages = data.messages
    conv.tree = data.tree
    conv._pointer = data.pointer
    conv.params = dict(data.params)
    conv.system = data.system
    conv.documents = data.documents
    conv.think = data.think
    conv.warnings = list(data.warnings)
    if data.mode:
        found = modes.get(data.mode)
        if found is None:
            conv.warnings.append(f"mode {data.mode!r} no longer exists; using Default")
        conv.mode = found or modes.default
    last_model = next(
        (m.model for m in reversed(conv.messages) if m.role == "assistant" and m.model), ""
    )
    conv.model = last_model or data.model
    return conv
