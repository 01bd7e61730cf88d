"""The bundled model answers a documents question without looping to the context limit.

Before, ``offyai ask --docs "How can a modal screen return a value to the screen
that pushed it?"`` over Textual's guide made SmolLM2 repeat one sentence for
3,000 tokens until the window was full (llama-cpp-python's sampling has no
repeat penalty). The pages in ``data/textual_docs`` are a few pages of such a
guide; they reproduce that loop with llama-cpp-python's sampling defaults.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import run_offyai, write_config

pytestmark = pytest.mark.slow

DOCS = Path(__file__).parent / "data" / "textual_docs"
QUESTION = "How can a modal screen return a value to the screen that pushed it?"
OLD_SAMPLING = """
[llamacpp.parameters."smollm2-135m-instruct"]
temperature = 0.2
top_p = 0.95
min_p = 0.05
repeat_penalty = 1.0
"""
"""What the embedded engine sampled with before (llama-cpp-python's defaults)."""


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

    write_config(app_home, OLD_SAMPLING)  # the sampling that looped: the guard cuts it
    looped = run_offyai(["ask", "--stats", "--docs", QUESTION], app_home, user_home,
                        timeout=240)  # fmt: skip
    assert looped.returncode == 0, looped.stderr
    tokens, reason = _stats(looped.stderr)
    # Unguarded, this answer runs on to the ~3,000-token window; where the guard cuts
    # depends on the span that repeats (the passages sent shape it).
    assert reason == "repeating" and tokens < 1500, (reason, tokens)
    assert "offyai: stopped: the answer was repeating" in looped.stderr
    body = looped.stdout.split("\nSources:")[0]
    assert len(body) > 500  # the text before the cut is kept
    assert "Sources:" in looped.stdout
