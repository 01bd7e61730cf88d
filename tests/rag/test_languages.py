"""Non-English documents: what keyword search finds, and when to point at another embedder.

Keyword search runs on the index's real FTS5 table (unicode61 tokenizer, with Greek
folded and Chinese/Japanese cut into characters by ``fts_text``), so these tests say
what a German, Greek, Chinese or Japanese user gets, on real sentences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from offyai_tui.rag.documents import Chunk
from offyai_tui.rag.embedder import EmbeddingIdentity
from offyai_tui.rag.index import DocumentIndex, DocumentRecord
from offyai_tui.rag.language import guess_language, multilingual_hint, non_english
from offyai_tui.rag.retriever import fts_query
from offyai_tui.rag.service import open_index

TEXTS = {
    "/de.md": "Die Straßenbahn fährt über die Brücke nach München und zurück.",
    "/el.md": "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας και η μεγαλύτερη πόλη της.",
    "/zh.md": "北京是中华人民共和国的首都。",
    "/zh-spaced.md": "北京 是 首都",
    "/zh-sh.md": "上海是中国最大的城市之一，也是重要的经济中心。",
    "/ja.md": "東京は日本の首都であり、世界有数の大都市です。",
    "/el-caps.md": "ΟΔΗΓΟΣ ΓΙΑ ΤΗ ΘΕΣΣΑΛΟΝΙΚΗ ΚΑΙ ΤΗΝ ΠΑΡΑΛΙΑ ΤΗΣ",
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
        # Greek accents and final sigma fold: typed without the tonos, or in capitals.
        assert _found(index, "αθηνα") == {"/el.md"}
        assert _found(index, "ΕΛΛΑΔΑΣ") == {"/el.md"}
        assert _found(index, "Θεσσαλονίκη") == {"/el-caps.md"}
        assert _found(index, "παραλία") == {"/el-caps.md"}
        # Chinese and Japanese have no spaces: words are found inside sentences.
        assert _found(index, "北京") == {"/zh.md", "/zh-spaced.md"}
        assert _found(index, "首都") == {"/zh.md", "/zh-spaced.md", "/ja.md"}
        assert _found(index, "经济中心") == {"/zh-sh.md"}
        assert _found(index, "東京") == {"/ja.md"}
        assert _found(index, "日本の首都") == {"/ja.md", "/zh.md", "/zh-spaced.md"}
        assert _found(index, "大阪") == set()
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


def test_a_whole_query_word_ranks_above_documents_sharing_one_character(tmp_path: Path) -> None:
    index = _index(tmp_path)
    try:
        hits = index.search_lexical(fts_query("日本の首都"), 10)
        assert index.chunks([hits[0][0]])[hits[0][0]].path == "/ja.md"
        hits = index.search_lexical(fts_query("中国最大的城市"), 10)
        assert index.chunks([hits[0][0]])[hits[0][0]].path == "/zh-sh.md"
    finally:
        index.close()


def test_removing_a_folded_document_leaves_the_keyword_index_consistent(tmp_path: Path) -> None:
    index = _index(tmp_path)
    try:
        with index.writer() as writer:
            writer.remove_document("/zh.md")
            writer.remove_document("/el.md")
            writer.commit()
        assert _found(index, "北京") == {"/zh-spaced.md"}
        assert _found(index, "αθηνα") == set()
        assert _found(index, "東京") == {"/ja.md"}
    finally:
        index.close()


def test_an_index_written_before_folding_is_refed_by_the_next_writer(tmp_path: Path) -> None:
    import sqlite3

    index = _index(tmp_path)
    index.close()
    db = sqlite3.connect(tmp_path / "index" / "index.sqlite")
    with db:  # the keywords as an index written before fts_text holds them: raw
        db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES('delete-all')")
        db.execute("INSERT INTO chunks_fts(rowid, header, body) SELECT id, header, body "
                   "FROM chunks")
        db.execute("DELETE FROM meta WHERE key = 'fts_text'")
    db.close()
    index = DocumentIndex.open(tmp_path / "index")
    try:
        assert _found(index, "北京") == set()  # raw runs do not match the split query
        index.close()
        index = open_index(tmp_path / "index")  # how the app opens it: re-fed at once
        assert _found(index, "北京") == {"/zh.md", "/zh-spaced.md"}
        assert _found(index, "αθηνα") == {"/el.md"}
        assert _found(index, "München") == {"/de.md"}
        with index.writer() as writer:  # the raw rows were deleted as indexed: no ghosts
            for path in TEXTS:
                writer.remove_document(path)
            writer.commit()
        rows = sqlite3.connect(tmp_path / "index" / "index.sqlite").execute(
            "SELECT count(*) FROM chunks_fts_docsize").fetchone()[0]
        assert rows == 0
        assert _found(index, "北京") == set() and _found(index, "München") == set()
    finally:
        index.close()
