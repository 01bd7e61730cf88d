"""The augmented prompt: numbered sources, then the question, with an order to cite.

Small local models follow a plain, repeated instruction better than a clever
one, so the rules are short and the sources come as ``[n] label`` blocks that
match the numbers the sources panel shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from offyai_tui.engines.base import Message
from offyai_tui.rag.retriever import Source

INSTRUCTIONS = (
    "Answer the question using only the numbered sources below. "
    "After each statement, cite the sources it comes from as [1], [2]. "
    "If the sources do not contain the answer, say that they do not; do not guess."
)

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def format_sources(sources: Sequence[Source]) -> str:
    """The sources as numbered blocks: ``[n] file > heading, lines a-b`` then the text."""
    blocks = []
    for source in sources:
        blocks.append(f"[{source.number}] {source.label}\n{source.text.strip()}")
    return "\n\n".join(blocks)


def augmented_prompt(question: str, sources: Sequence[Source]) -> str:
    """The user turn sent to the model in place of the bare question."""
    if not sources:
        return (
            "No passage of the user's documents matched this question; say so if the "
            f"answer would need them.\n\nQuestion: {question}"
        )
    return (
        f"{INSTRUCTIONS}\n\nSources:\n\n{format_sources(sources)}\n\n"
        f"Question: {question}\n\nAnswer (cite sources as [n]):"
    )


def augment(messages: Sequence[Message], sources: Sequence[Source]) -> list[Message]:
    """``messages`` with the last user turn replaced by its augmented form.

    Only the text changes: the turn keeps its other parts (attached images).
    """
    out = list(messages)
    for i in range(len(out) - 1, -1, -1):
        if out[i].role == "user":
            out[i] = replace(out[i], content=augmented_prompt(out[i].content, sources))
            break
    return out


def cited_numbers(answer: str, count: int | None = None) -> list[int]:
    """Source numbers an answer cites, in first-cited order (``[1, 3]`` counts both).

    Numbers outside ``1..count`` are dropped: a model inventing ``[9]`` for six
    sources cites nothing real.
    """
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(answer):
        for part in match.group(1).split(","):
            number = int(part)
            if number >= 1 and (count is None or number <= count):
                seen.setdefault(number)
    return list(seen)
