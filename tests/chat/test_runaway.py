"""The runaway guard on scripted streams: loops stop with a note, real answers pass.

The loop below is shaped like the one SmolLM2 produced for a documents question
(one sentence again and again, wrapped at different places each time); the
legitimate texts are this repository's own Markdown and Python, which repeat
short lines (table rules, ``return None``) as real answers do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, read_transcript
from offyai_tui.chat.runaway import REPEATING_NOTE, RepetitionDetector, guard_repetition
from offyai_tui.engines.base import ChatEvent, ChatStats, Done, TextDelta
from offyai_tui.settings.config import ChatSettings

REPO = Path(__file__).resolve().parents[2]
SENTENCE = (
    "The code uses a callback to return a value to the screen that pushed it, which is "
    "a result of a callback that is called when the modal screen is popped from the stack."
)


def looping_answer(times: int = 300) -> str:
    """An opening, then SENTENCE ``times`` times, wrapped at a different word each time."""
    words = SENTENCE.split(" ")
    parts = ["The answer is:\n\n"]
    for i in range(times):
        cut = 3 + (i * 7) % (len(words) - 4)
        parts.append(" ".join(words[:cut]) + "\n" + " ".join(words[cut:]) + " ")
    return "".join(parts)


class Scripted:
    """An engine stream from a text, a few characters per event, that records its use."""

    def __init__(self, text: str, piece: int = 4) -> None:
        self.pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
        self.pulled = 0
        self.closed = False

    async def stream(self) -> AsyncIterator[ChatEvent]:
        try:
            for piece in self.pieces:
                self.pulled += 1
                yield TextDelta(piece)
            yield Done(ChatStats(model="scripted", completion_tokens=len(self.pieces)))
        finally:
            self.closed = True


async def _collect(source: Scripted, repeats: int = 10) -> tuple[str, Done]:
    events = [e async for e in guard_repetition(source.stream(), repeats, "scripted")]
    done = events[-1]
    assert isinstance(done, Done)
    assert sum(isinstance(e, Done) for e in events) == 1
    return "".join(e.text for e in events if isinstance(e, TextDelta)), done


async def test_a_looping_answer_is_stopped_with_a_note_and_its_text_kept() -> None:
    source = Scripted(looping_answer())
    text, done = await _collect(source)
    assert done.stats.done_reason == "repeating"
    assert done.stats.note == REPEATING_NOTE == "stopped: the answer was repeating"
    assert done.stats.model == "scripted"
    assert source.closed  # the engine's stream was closed: generation stops
    assert source.pulled < len(source.pieces) / 10
    assert text.startswith("The answer is:") and len(text) > 9 * len(SENTENCE)
    assert text == "".join(source.pieces[: source.pulled])  # nothing lost, nothing added


async def test_a_span_repeated_back_to_back_without_sentence_ends_is_stopped() -> None:
    source = Scripted("Sure! " + "and then the dragon flew over the hills " * 200)
    _, done = await _collect(source)
    assert done.stats.done_reason == "repeating"
    assert source.pulled < len(source.pieces) / 5


@pytest.mark.parametrize(
    "path",
    ["README.md", "docs/reliability.md", "offyai_tui/chat/conversation.py",
     "offyai_tui/engines/llamacpp_worker.py"],
)  # fmt: skip
async def test_real_answers_pass_untouched(path: str) -> None:
    original = (REPO / path).read_text(encoding="utf-8")
    source = Scripted(original, piece=3)
    text, done = await _collect(source)
    assert text == original
    assert done.stats.done_reason == "stop" and done.stats.model == "scripted"


async def test_repeats_below_the_limit_pass_and_zero_turns_the_guard_off() -> None:
    nine = Scripted(looping_answer(times=9))
    assert (await _collect(nine))[1].stats.done_reason == "stop"
    off = Scripted(looping_answer())
    text, done = await _collect(off, repeats=0)
    assert done.stats.done_reason == "stop" and text == "".join(off.pieces)


def test_short_repeated_lines_never_count() -> None:
    detector = RepetitionDetector(3)
    for i in range(200):
        for line in (f"| {i} | yes |\n", "| --- | --- |\n", "    }\n", "return None\n",
                     "=" * (i % 7 + 20) + "\n"):
            assert not detector.feed(line)


async def test_a_stopped_loop_is_saved_stopped_with_its_note(store: ConversationStore) -> None:
    conv = store.create(model="scripted")
    conv.add_user("How can a modal screen return a value?")
    handle = await conv.start_reply(TokenCounter(), model="scripted", settings=ChatSettings())
    source = Scripted(looping_answer())
    async for event in guard_repetition(source.stream(), ChatSettings().repeat_guard):
        if handle.apply(event):
            break
    assert handle.message.status == "stopped"
    saved = read_transcript(store.path_for(conv.id)).messages[-1]
    assert saved.status == "stopped"
    assert saved.stats["note"] == REPEATING_NOTE
    assert saved.content == handle.message.content and SENTENCE[:40] in saved.content
