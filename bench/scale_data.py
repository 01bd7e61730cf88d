"""Workspaces of years of use, written in the app's own transcript format.

``bench/scale.py`` measures the app on these. Transcripts are written line by
line with the app's encoder (:func:`offyai_tui.chat.transcript.encode_event`,
``ChatMessage.to_event``): format 2, every message naming its parent, a header
first, a title event where the user renamed. Modification times are spread
over years (oldest first), as a real ``chats/`` directory would have them.
Writing through ``Conversation.add_user`` would take minutes for 10,000
conversations and produce the same bytes.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from bench.synthetic import MODEL, markdown_tokens
from offyai_tui.chat.records import ChatMessage
from offyai_tui.chat.transcript import encode_event

DAY_S = 86_400.0
RARE_WORD = "zanzibarite"
"""In one conversation only (an old one): a search must find it wherever it is."""
NON_ASCII_WORD = "Übergrößenträger"
"""In one conversation only: a non-ASCII needle."""
TOPICS = [
    "rust borrow checker", "sourdough starter", "tax forms", "kubernetes ingress",
    "garden tomatoes", "python asyncio", "trip to Lisbon", "bike gears", "résumé wording",
    "café menu", "naïve Bayes", "SQL window functions", "guitar chords", "jazz history",
]  # fmt: skip


def conversation_id(index: int) -> str:
    """Time-sortable ids like the app's, one per index."""
    day, rest = divmod(index, 1000)
    return f"2020{1 + day // 28 % 12:02d}{1 + day % 28:02d}-{rest // 60 % 24:02d}" \
           f"{rest % 60:02d}00-000-{index:06x}"


def _header(conv_id: str, title: str) -> dict[str, object]:
    return {"type": "header", "v": 2, "id": conv_id, "title": title,
            "created": "2020-01-01T00:00:00.000+00:00", "model": MODEL, "mode": "default"}


def _answer(rng: random.Random, words: int) -> str:
    return "".join(markdown_tokens(words, seed=rng.randrange(1 << 30)))


def transcript_bytes(conv_id: str, messages: int, rng: random.Random, *,
                     extra: str = "", answer_tokens: tuple[int, int] = (30, 120)) -> bytes:
    """One conversation of ``messages`` messages (prompt, answer, prompt...)."""
    topic = rng.choice(TOPICS)
    lines = [encode_event(_header(conv_id, f"{topic} #{int(conv_id[-6:], 16)}"))]
    parent: str | None = None
    for turn in range(messages):
        if turn % 2 == 0:
            text = f"Question {turn // 2} about {topic}: what should I try next?"
            if extra and turn == 0:
                text += f" Also {extra}."
            message = ChatMessage(id=f"m{turn:06d}", role="user", content=text,
                                  parent_id=parent, created="2020-01-01T00:00:00.000+00:00")
        else:
            message = ChatMessage(id=f"m{turn:06d}", role="assistant", model=MODEL,
                                  content=_answer(rng, rng.randint(*answer_tokens)),
                                  parent_id=parent, created="2020-01-01T00:00:00.000+00:00")
        lines.append(encode_event(message.to_event()))
        parent = message.id
    return b"".join(lines)


def build_conversations(chats: Path, count: int, seed: int = 3) -> list[str]:
    """``count`` conversations of 10-20 messages in ``chats``; ids newest first.

    Files are written with mode 0600 as the app writes them; nothing is fsynced
    (a benchmark's scratch data). The rare words sit in two old conversations.
    """
    chats.mkdir(parents=True, exist_ok=True, mode=0o700)
    rng = random.Random(seed)
    now = 1_700_000_000.0
    ids = []
    for index in range(count):
        conv_id = conversation_id(index)
        extra = RARE_WORD if index == count // 7 else ""
        extra = NON_ASCII_WORD if index == count // 5 else extra
        data = transcript_bytes(conv_id, rng.randint(10, 20), rng, extra=extra)
        path = chats / f"{conv_id}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        stamp = now - (count - index) * DAY_S * 3 / max(1, count / 365)
        os.utime(path, (stamp, stamp))
        ids.append(conv_id)
    ids.reverse()
    return ids


def build_long_chat(chats: Path, messages: int, seed: int = 5) -> str:
    """One conversation of ``messages`` messages with Markdown answers; its id."""
    chats.mkdir(parents=True, exist_ok=True, mode=0o700)
    conv_id = "20991231-235959-999-10ee00"
    data = transcript_bytes(conv_id, messages, random.Random(seed), answer_tokens=(40, 160))
    path = chats / f"{conv_id}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return conv_id
