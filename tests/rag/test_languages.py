"""Non-English documents: what keyword search finds, and when to point at another embedder.

Keyword search runs on the index's real FTS5 table (unicode61 tokenizer), so these
tests say what a German, Greek or Chinese user gets today.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.rag.language import guess_language, multilingual_hint, non_english
from offyai_tui.rag.retriever import fts_query

TEXTS = {
    "/de.md": "Die Straßenbahn fährt über die Brücke nach München und zurück.",
    "/el.md": "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και η μεγαλύτερη πόλη της.",
    "/zh.md": "北京是中华人民共和国的首都。",
    "/zh-spaced.md": "北京 是 首都",
}


def _index(tmp_path: Path) -> DocumentIndex:
    index = DocumentIndex.open(tmp_path / "index")
    identity = EmbeddingIdentity("test", "random", 4)
    rng = np.random.default_rng(0)
    with index.writer() as writer:
        for path, text in TEXTS.items():
            vectors = rng.standard_normal((1, 4)).astype(np.float32)
            chunk = Chunk(path, text, (), 1, 1, tokens=10, title="")
            writer.put_document(DocumentRecord(path, "markdown", 1, "0"), [chunk], vectors,
                                identity)
        writer.commit()
    return index


def _found(index: DocumentIndex, query: str) -> set[str]:
    hits = index.search_lexical(fts_query(query), 10)
    return {c.path for c in index.chunks(i for i, _ in hits).values()}


def test_keyword_search_splits_words_on_unicode_boundaries(tmp_path: Path) -> None:
    index = _index(tmp_path)
    try:
        assert _found(index, "München") == {"/de.md"}
        assert _found(index, "munchen brucke") == {"/de.md"}  # Latin accents folded
        assert _found(index, "Straßenbahn") == {"/de.md"}
        assert _found(index, "Αθήνα") == {"/el.md"}
        assert _found(index, "πρωτεύουσα") == {"/el.md"}
        # Greek tonos is not folded: the query must carry the same accents.
        assert _found(index, "αθηνα") == set()
        # Chinese has no spaces: a run of characters is one token, so a word inside a
        # sentence is not found; spaced text is.
        assert _found(index, "北京") == {"/zh-spaced.md"}
    finally:
        index.close()


def test_languages_are_told_apart_by_script_and_stopwords() -> None:
    assert guess_language("The index keeps the vectors of the chunks that are in it.") == "English"
    assert guess_language(TEXTS["/de.md"] + " Das ist nicht der Weg.") == "German"
    assert guess_language(TEXTS["/el.md"]) == "Greek"
    assert guess_language("北京是中华人民共和国的首都。上海是中国最大的城市之一。") == "CJK"
    assert guess_language("ok") == ""


def test_a_multilingual_embedder_is_suggested_only_for_non_english_with_minilm() -> None:
    german = [TEXTS["/de.md"] + " Das ist nicht der Weg."] * 3
    english = ["The index keeps the vectors of the chunks that are in it."] * 3
    assert non_english(german + english[:1]) == ("German", 0.75)
    hint = multilingual_hint(german, "all-minilm-l6-v2")
    assert "German" in hint and "bge-m3" in hint
    assert multilingual_hint(english, "all-minilm-l6-v2") == ""
    assert multilingual_hint(german, "bge-m3") == ""


def test_a_model_mismatch_names_a_fix_that_exists() -> None:
    """The error once pointed at ``offyai index --reembed``, a flag that never existed."""
    from offyai_tui.__main__ import build_parser
    from offyai_tui.rag.errors import IndexModelMismatch

    message = str(IndexModelMismatch("nomic-embed-text via ollama", "all-minilm-l6-v2"))
    assert "offyai index" in message and "rag.embedding_model" in message
    index = next(
        action.choices["index"] for action in build_parser()._actions
        if getattr(action, "choices", None) and "index" in action.choices
    )
    known = {flag for action in index._actions for flag in action.option_strings}
    for flag in (word.strip("(),;") for word in message.split() if word.startswith("--")):
        assert flag in known, flag
    assert "--embedder" in known
