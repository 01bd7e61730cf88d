"""Workspaces with thousands of conversations, written fast in the app's own format.

Tests of years of use need many transcripts; writing them through
``Conversation.add_user`` would fsync each line. These are the same bytes
(``encode_event`` of a format-2 header and ``ChatMessage.to_event`` lines, each
naming its parent), written without fsync, with modification times one minute
apart so the newest conversation is the last one written.
"""

from __future__ import annotations

import os
from pathlib import Path

from offyai_tui.chat.records import ChatMessage
from offyai_tui.chat.transcript import encode_event

BASE_TIME = 1_600_000_000


def conv_id(index: int) -> str:
    clock = f"{index // 3600 % 24:02d}{index // 60 % 60:02d}{index % 60:02d}"
    return f"20200101-{clock}-000-{index:06x}"


def write_conversations(chats: Path, count: int, words: dict[int, str] | None = None,
                        messages: int = 4) -> list[str]:
    """``count`` conversations titled ``chat <i>``; ``words[i]`` is in the i-th's first prompt.

    Returns the ids, oldest first.
    """
    chats.mkdir(parents=True, exist_ok=True, mode=0o700)
    words = words or {}
    ids = []
    for index in range(count):
        cid = conv_id(index)
        header = {"type": "header", "v": 2, "id": cid, "title": f"chat {index}",
                  "created": "2020-01-01T00:00:00.000+00:00", "model": "m", "mode": "default"}
        lines = [encode_event(header)]
        parent = None
        for turn in range(messages):
            word = words.get(index, "") if turn == 0 else ""
            text = (f"question {turn} of chat {index} {word}" if turn % 2 == 0
                    else f"answer {turn} about gardens and tomatoes, chat {index}")
            message = ChatMessage(id=f"m{turn}", role="user" if turn % 2 == 0 else "assistant",
                                  content=text, parent_id=parent)
            lines.append(encode_event(message.to_event()))
            parent = message.id
        path = chats / f"{cid}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"".join(lines))
        finally:
            os.close(fd)
        os.utime(path, (BASE_TIME + index * 60, BASE_TIME + index * 60))
        ids.append(cid)
    return ids
