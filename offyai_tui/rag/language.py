"""Is a document collection English? A cheap guess, for pointing at a multilingual embedder.

The bundled embedder (all-MiniLM-L6-v2) was trained on English: German or Greek
text still gets vectors, but their neighbours are close to arbitrary, so vector
and hybrid search quietly degrade while keyword search (FTS5's unicode61
tokenizer) keeps working. Nothing here is a language model: a text counts as
English when most of its letters are Latin and English function words are the
most common of the stopword lists below. That is enough to tell "these are
German reports" from "these are English notes" and costs microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_STOPWORDS = {
    "English": "the of and to in is that for it with as was on are be by this from at",
    "German": "der die und das ist nicht ein eine zu den mit von sich des auf für im dem",
    "French": "le la les et des est une un du que dans pour qui sur pas au avec ce il",
    "Spanish": "el la los las y de que en es un una por con para del se su al lo",
    "Italian": "il la di che e è un una per non con del della gli le sono si nel al",
    "Dutch": "de het een en van is dat op te zijn niet met voor in die aan er ook",
    "Portuguese": "o a os as e de que do da em um uma para com não no na se por",
}
_LISTS = {name: frozenset(words.split()) for name, words in _STOPWORDS.items()}


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else ""


def guess_language(text: str) -> str:
    """``"English"``, another language or script name (``"Greek"``, ``"CJK"``), or ``""``
    when the text has too few words to say."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 20:
        return ""
    scripts = Counter(_script(ch) for ch in letters)
    script, count = scripts.most_common(1)[0]
    if script != "LATIN" and count > len(letters) / 2:
        return {"HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean"}.get(
            script, "CJK" if script == "CJK" else script.title()
        )
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {name: sum(w in stop for w in words) for name, stop in _LISTS.items()}
    best = max(hits, key=lambda name: hits[name])
    return best if hits[best] else ""


def non_english(texts: Iterable[str]) -> tuple[str, float]:
    """The most common non-English language among ``texts`` and its share of those
    that could be told (0.0: all English, or nothing to tell)."""
    found = Counter(lang for lang in map(guess_language, texts) if lang)
    told = sum(found.values())
    others = [(n, lang) for lang, n in found.most_common() if lang != "English"]
    if not told or not others:
        return "", 0.0
    return others[0][1], sum(n for n, _ in others) / told


def multilingual_hint(texts: Iterable[str], model: str) -> str:
    """A one-line pointer to a multilingual embedder when most ``texts`` are not
    English and ``model`` is the English-only bundled one; else ``""``."""
    if "minilm" not in model.lower():
        return ""
    language, share = non_english(texts)
    if share < 0.5:
        return ""
    return (
        f"these documents look mostly {language} ({share:.0%} of chunks sampled) and the "
        f"embedder {model} is English-only: keyword search works, meaning search will be "
        "weak; a multilingual embedder helps (e.g. `ollama pull bge-m3`, then "
        "rag.embedding_model = \"bge-m3\" in the config, and index again)"
    )


async def documents_hint(docs: Any) -> str:
    """:func:`multilingual_hint` for an indexed collection (a ``Documents`` service),
    from a sample of its first 200 chunks; ``""`` on any failure, since a hint must
    never fail an index run."""
    try:
        index = await docs.index()
        sample = next(index.iter_chunks(200), [])
        return multilingual_hint((c.text for c in sample), (await docs.embedder()).model)
    except Exception:
        return ""
