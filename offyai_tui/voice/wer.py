"""Word error rate, for measuring a whisper model against reference transcripts.

Both texts are normalised the way ASR evaluations usually are (lower case, no
punctuation, spelled-out numbers left alone) so that "France?" and "france" agree;
the rate is the word-level edit distance over the reference's word count.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w\s']|_")


def words(text: str) -> list[str]:
    """``text`` as normalised words: case folded, accents kept, punctuation dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("-", " ")
    return [w.strip("'") for w in _NOT_WORD.sub(" ", folded).split() if w.strip("'")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Substitutions, deletions and insertions turning ``reference`` into ``hypothesis``."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Edits over reference words (0 is perfect; above 1 when the hypothesis rambles)."""
    ref = words(reference)
    if not ref:
        return 0.0 if not words(hypothesis) else 1.0
    return edit_distance(ref, words(hypothesis)) / len(ref)
