"""Chunker properties: nothing lost, nothing duplicated beyond the overlap, sizes bounded."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offyai_tui.rag import tokens
from offyai_tui.rag.chunker import chunk_document, overlap_suffix
from offyai_tui.rag.loaders import parse_bytes


def _squash(text: str) -> str:
    return "".join(text.split())


def _check(doc, chunks, max_tokens: int) -> None:
    content = _squash("".join(b.text for b in doc.blocks if b.kind != "heading"))
    if not content:  # a document of headings only becomes one outline chunk
        content = _squash("".join(b.text for b in doc.blocks))
    rebuilt = _squash("".join(c.text[c.overlap_chars :] for c in chunks))
    assert rebuilt == content
    previous = None
    for chunk in chunks:
        assert chunk.tokens == tokens.count(chunk.text) <= max_tokens
        assert chunk.line_start <= chunk.line_end
        if chunk.overlap_chars:
            assert previous is not None
            repeated = chunk.text[: chunk.overlap_chars].rstrip("\n")
            assert previous.text.endswith(repeated)
            assert tokens.count(repeated) <= max(0, min(16, max_tokens // 4))
        previous = chunk


_words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)
_line = st.lists(_words, min_size=0, max_size=30).map(" ".join)
_markdown_line = st.one_of(
    _line,
    _line.map(lambda s: "# " + s),
    _line.map(lambda s: "### " + s),
    st.just("```"),
    st.just(""),
    st.just("==="),
    st.text(alphabet="abc xyz.!\n", max_size=400),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_markdown_line, min_size=1, max_size=60),
    kind=st.sampled_from(["markdown", "text", "rst", "code"]),
    max_tokens=st.integers(min_value=8, max_value=96),
)
def test_chunks_cover_the_document_exactly_once(lines: list[str], kind: str, max_tokens: int):
    data = "\n".join(lines).encode("utf-8")
    if not data.strip() or b"\x00" in data:
        return
    try:
        doc = parse_bytes(Path("/doc.md"), data, kind, 10**7)
    except Exception as exc:  # binary-looking or empty input is refused by the loader
        assert type(exc).__name__ == "LoadError"
        return
    chunks = chunk_document(doc, max_tokens=max_tokens, overlap=16)
    _check(doc, chunks, max_tokens)


def test_a_huge_word_is_cut_inside_but_kept_whole() -> None:
    text = "x" * 5000 + " tail"
    doc = parse_bytes(Path("/a.txt"), text.encode(), "text", 10**7)
    chunks = chunk_document(doc, max_tokens=32, overlap=8)
    assert len(chunks) > 10
    _check(doc, chunks, 32)


def test_headings_give_each_chunk_its_path_and_lines() -> None:
    text = (
        "# Guide\n\nIntro.\n\n## Install\n\nRun it.\n\n### Linux\n\nUse apt.\n\n"
        "## Use\n\nType.\n"
    )
    doc = parse_bytes(Path("/g.md"), text.encode(), "markdown", 10**7)
    chunks = chunk_document(doc, max_tokens=64, overlap=8)
    assert [(c.heading_path, c.text, c.line_start) for c in chunks] == [
        (("Guide",), "Intro.", 3),
        (("Guide", "Install"), "Run it.", 7),
        (("Guide", "Install", "Linux"), "Use apt.", 11),
        (("Guide", "Use"), "Type.", 15),
    ]
    assert chunks[0].indexed_text() == "Guide\n\nIntro."


def test_code_block_stays_whole_when_it_fits() -> None:
    prose = " ".join(f"word{i}" for i in range(60))
    code = "```python\n" + "\n".join(f"x{i} = {i}" for i in range(12)) + "\n```"
    doc = parse_bytes(Path("/c.md"), f"{prose}\n\n{code}\n".encode(), "markdown", 10**7)
    chunks = chunk_document(doc, max_tokens=96, overlap=8)
    assert any(code in c.text for c in chunks)


def test_overlap_starts_at_a_word() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    tail = overlap_suffix(text, 3)
    assert tail and text.endswith(tail) and text[len(text) - len(tail) - 1] == " "
    assert tokens.count(tail) <= 3


def test_a_pdf_chunk_never_spans_two_pages() -> None:
    from offyai_tui.rag.documents import Block, LoadedDocument

    blocks = [Block(f"Page {p} line {i} " + "text " * 20, "paragraph", i, i, page=p)
              for p in (1, 2, 3) for i in (1, 2, 3)]
    doc = LoadedDocument("/m.pdf", "pdf", blocks, 1, "h", pages=3)
    chunks = chunk_document(doc, max_tokens=200, overlap=16)
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 2), (3, 3)]
    assert all(c.overlap_chars == 0 for c in chunks)
    _check(doc, chunks, 200)
