"""Text as the keyword index sees it: Greek without accents, Chinese and Japanese cut
into characters.

FTS5's unicode61 tokenizer (the index's) splits words on Unicode boundaries and
folds Latin accents, but two things it does not do left other languages without
keyword search:

- Greek keeps its accents: "Αθήνα" and "αθηνα" (how people type without the
  tonos) were different words. Greek letters lose their accents here and final
  sigma becomes sigma, so "ΑΘΗΝΑΣ", "Αθήνας" and "αθηνας" are one word.
- Chinese and Japanese are written without spaces, and unicode61 makes a whole
  run of characters one token: "北京" was not found in "北京是中华人民共和国的首都".
  Each Han or kana character is indexed as its own token, and a query word made
  of them is searched as phrases of its overlapping character pairs ("中华人民" ->
  "中 华", "华 人", "人 民"), the usual bigram approach: it finds words inside
  sentences without a dictionary, and a pair's BM25 weight is that of the pair.

Text without Greek or Han/kana characters is returned unchanged, so indexes of
Latin-script documents read the same as before; the writer re-feeds chunks that
contain either once (``index_writer``, meta ``fts_text``). Korean is left to
unicode61: it separates words with spaces.

The FTS table has external content (the ``chunks`` table, raw): FTS5's
``'rebuild'`` and ``'integrity-check'`` would read that raw text and must not be
used on it; every insert and ``'delete'`` goes through :func:`index_text`.
"""

from __future__ import annotations

import re
import unicodedata

VERSION = "1"
"""Stored in the index's meta as ``fts_text``; a different value re-feeds the FTS."""

_GREEK = "\u0370-\u03ff\u1f00-\u1fff"
_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPECIAL = re.compile(f"[{_GREEK}{_CJK}]")
_GREEK_RUN = re.compile(f"[{_GREEK}]+")
_CJK_RUN = re.compile(f"[{_CJK}]+")


def needs_change(text: str | None) -> bool:
    """Whether :func:`index_text` changes ``text`` (a quick test for the writer)."""
    return bool(text) and _SPECIAL.search(text) is not None


def _fold_greek(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFD", match.group())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.lower().replace("ς", "σ")


def index_text(text: str | None) -> str:
    """``text`` as it goes into the FTS table (and as query words must look)."""
    if not text or not needs_change(text):
        return text or ""
    text = _GREEK_RUN.sub(_fold_greek, text)
    return _CJK_RUN.sub(lambda m: " " + " ".join(m.group()) + " ", text)


def is_cjk(word: str) -> bool:
    return _CJK_RUN.search(word) is not None


def split_word(word: str) -> list[str]:
    """A query word as search terms: Han/kana runs become their overlapping character
    pairs (a single character stays itself), other parts stay words."""
    if not is_cjk(word):
        return [word]
    terms: list[str] = []
    for part in re.split(f"([{_CJK}]+)", word):
        if not part:
            continue
        if _CJK_RUN.fullmatch(part):
            pairs = [part[i : i + 2] for i in range(len(part) - 1)]
            terms += pairs or [part]
        else:
            terms.append(part)
    return terms


def phrase(term: str) -> str:
    """One term as a quoted FTS5 phrase, folded and split as the index is."""
    return '"' + " ".join(index_text(term).split()).replace('"', '""') + '"'
