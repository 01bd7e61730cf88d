"""The bundled model answers a documents question without looping to the context limit.

Before, ``offyai ask --docs "How can a modal screen return a value to the screen
that pushed it?"`` over Textual's guide made SmolLM2 repeat one sentence for
3,000 tokens until the window was full (llama-cpp-python's sampling has no
repeat penalty). The pages in ``data/textual_docs`` are a few pages of such a
guide. The bundled model's sampling now answers it and stops; a sampling that
rewards repetition makes it loop at once, which the runaway guard cuts (and, with
the guard off, runs on to the length limit).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import run_offyai, write_config

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent / "data" / "textual_docs"
QUESTION = "How can a modal screen return a value to the screen that pushed it?"
LOOPING_SAMPLING = """
[llamacpp.parameters."smollm2-135m-instruct"]
temperature = 0
repeat_penalty = 0.8
num_predict = 300
"""
"""Greedy sampling that rewards what was said (a penalty below 1): SmolLM2 repeats one
sentence from the first lines on, whatever passages retrieval sends it."""
GUARD_OFF = """
[chat]
repeat_guard = 0
"""


def _stats(stderr: str) -> tuple[int, str]:
    """Completion tokens and done reason from ``--stats``'s line."""
    match = re.search(r"· (\d+) tokens · .* · (\w+)\s*$", stderr.strip())
    assert match, stderr
    return int(match.group(1)), match.group(2)


def test_documents_question_ends_on_its_own_and_a_loop_is_cut(
    app_home: Path, user_home: Path
) -> None:
    docs = shutil.copytree(DOCS, user_home / "guide")
    indexed = run_offyai(["index", str(docs)], app_home, user_home, timeout=180)
    assert indexed.returncode == 0, indexed.stderr

    answer = run_offyai(["ask", "--stats", "--docs", QUESTION], app_home, user_home,
                        timeout=240)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    tokens, reason = _stats(answer.stderr)
    assert reason == "stop", (reason, tokens, answer.stdout[-2000:])
    assert tokens < 1000
    assert "Sources:" in answer.stdout and "returning_data.md" in answer.stdout

    write_config(app_home, LOOPING_SAMPLING + GUARD_OFF)  # unguarded: it runs to the limit
    unguarded = run_offyai(["ask", "--stats", "--docs", QUESTION], app_home, user_home,
                           timeout=240)  # fmt: skip
    assert unguarded.returncode == 0, unguarded.stderr
    assert _stats(unguarded.stderr) == (300, "length")

    write_config(app_home, LOOPING_SAMPLING)  # the same loop, guarded: it is cut early
    looped = run_offyai(["ask", "--stats", "--docs", QUESTION], app_home, user_home,
                        timeout=240)  # fmt: skip
    assert looped.returncode == 0, looped.stderr
    tokens, reason = _stats(looped.stderr)
    assert reason == "repeating" and tokens < 300, (reason, tokens)
    assert "offyai: stopped: the answer was repeating" in looped.stderr
    body = looped.stdout.split("\nSources:")[0]
    sentences = Counter(s.strip() for s in re.split(r"(?<=[.!?])\s", body) if len(s) > 10)
    assert sentences and max(sentences.values()) >= 3, body  # the text before the cut is kept
    assert "Sources:" in looped.stdout
