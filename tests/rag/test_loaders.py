"""Loaders: every supported format, and every kind of bad input skipped with its reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from offyai_tui.rag import loaders
from offyai_tui.rag.documents import Skipped
from offyai_tui.rag.loaders import LoadError, load_file
from offyai_tui.rag.walk import iter_files
from tests.rag.samples import encrypt_pdf, make_docx, make_pdf

MB = 2**20


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _reason(path: Path, max_bytes: int = MB) -> str:
    with pytest.raises(LoadError) as caught:
        load_file(path, max_bytes)
    return str(caught.value)


# -- formats -----------------------------------------------------------------------


def test_markdown_headings_code_and_lines(tmp_path: Path) -> None:
    text = (
        "# Title\n\nFirst para\ncontinues.\n\nSub\n---\n\n```sh\nmake run\n\nmake test\n```\n"
        "## Two ##\ntext\n"
    )
    doc = load_file(_write(tmp_path / "a.md", text), MB)
    got = [(b.kind, b.level, b.line_start, b.line_end, b.text) for b in doc.blocks]
    assert got == [
        ("heading", 1, 1, 1, "Title"),
        ("paragraph", 0, 3, 4, "First para\ncontinues."),
        ("heading", 2, 6, 7, "Sub"),
        ("code", 0, 9, 13, "```sh\nmake run\n\nmake test\n```"),
        ("heading", 2, 14, 14, "Two"),
        ("paragraph", 0, 15, 15, "text"),
    ]
    assert doc.kind == "markdown" and doc.title == "Title" and doc.lines == 15


def test_rst_sections_and_literal_blocks(tmp_path: Path) -> None:
    text = (
        "=====\nGuide\n=====\n\nIntro::\n\n    code here\n    more\n\nUsage\n-----\n\n"
        "Text.\n\n.. code-block:: python\n\n   x = 1\n\nAfter.\n"
    )
    doc = load_file(_write(tmp_path / "g.rst", text), MB)
    got = [(b.kind, b.level, b.line_start, b.text.split("\n")[0]) for b in doc.blocks]
    assert got == [
        ("heading", 1, 1, "Guide"),
        ("paragraph", 0, 5, "Intro::"),
        ("code", 0, 7, "    code here"),
        ("heading", 2, 10, "Usage"),
        ("paragraph", 0, 13, "Text."),
        ("code", 0, 15, ".. code-block:: python"),
        ("paragraph", 0, 19, "After."),
    ]


def test_source_code_keeps_functions_together(tmp_path: Path) -> None:
    text = "import os\n\n\ndef a():\n    x = 1\n\n    return x\n\n\nclass B:\n    pass\n"
    doc = load_file(_write(tmp_path / "m.py", text), MB)
    assert [(b.kind, b.line_start, b.line_end) for b in doc.blocks] == [
        ("code", 1, 1), ("code", 4, 7), ("code", 10, 11),
    ]


def test_html_drops_scripts_and_styles_and_keeps_source_lines(tmp_path: Path) -> None:
    html = (
        "<html><head><title>My Page</title><style>p{color:red}</style></head>\n"
        "<body>\n<script>var secret = 1;</script>\n<h1>Heading &amp; more</h1>\n"
        "<p>First\n   paragraph.</p>\n<ul><li>one</li><li>two</li></ul>\n"
        "<pre>  x = 1\n  y = 2</pre>\n</body></html>\n"
    )
    doc = load_file(_write(tmp_path / "p.html", html), MB)
    got = [(b.kind, b.line_start, b.text) for b in doc.blocks]
    assert got == [
        ("heading", 4, "Heading & more"),
        ("paragraph", 5, "First\nparagraph."),
        ("paragraph", 7, "- one"),
        ("paragraph", 7, "- two"),
        ("code", 8, "  x = 1\n  y = 2"),
    ]
    assert doc.title == "My Page"
    assert "secret" not in " ".join(b.text for b in doc.blocks)
    assert "color" not in " ".join(b.text for b in doc.blocks)


def test_pdf_pages_are_recorded(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.pdf", make_pdf(["Alpha line\nBeta line", "Gamma (page two)"]))
    doc = load_file(path, MB)
    assert doc.kind == "pdf" and doc.pages == 2
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, "Alpha line\nBeta line"), (2, "Gamma (page two)"),
    ]


def test_pdf_encrypted_with_empty_user_password_opens(tmp_path: Path) -> None:
    path = _write(tmp_path / "e.pdf", encrypt_pdf(make_pdf(["Readable"]), user_password=""))
    assert load_file(path, MB).blocks[0].text == "Readable"


def test_docx_paragraphs_and_heading_styles(tmp_path: Path) -> None:
    data = make_docx([("Title", "Contract"), ("Heading1", "Terms"), ("", "The tenant pays."),
                      ("Heading2", "Late fees"), ("", "Five percent.")])
    doc = load_file(_write(tmp_path / "c.docx", data), MB)
    assert doc.title == "Contract"
    assert [(b.kind, b.level, b.line_start, b.text) for b in doc.blocks] == [
        ("heading", 1, 1, "Contract"), ("heading", 1, 2, "Terms"),
        ("paragraph", 0, 3, "The tenant pays."), ("heading", 2, 4, "Late fees"),
        ("paragraph", 0, 5, "Five percent."),
    ]


def test_non_utf8_text_is_decoded_with_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.txt", "Café crème, déjà vu. Æsir naïve.\n".encode("cp1252") * 20)
    doc = load_file(path, MB)
    assert "Café crème" in doc.blocks[0].text
    assert doc.notes == ["not UTF-8; read as Windows-1252"]


def test_a_few_bad_bytes_in_utf8_are_replaced(tmp_path: Path) -> None:
    data = ("résumé " * 200).encode() + b"\xff" + (" ok" * 100).encode()
    doc = load_file(_write(tmp_path / "r.txt", data), MB)
    assert "\ufffd" in doc.blocks[0].text and doc.notes == ["1 invalid UTF-8 byte(s) replaced"]


def test_utf16_with_bom(tmp_path: Path) -> None:
    doc = load_file(_write(tmp_path / "w.txt", "Hello wide world".encode("utf-16")), MB)
    assert doc.blocks[0].text == "Hello wide world"


# -- bad input -----------------------------------------------------------------------


def test_binary_files_are_refused(tmp_path: Path) -> None:
    assert _reason(_write(tmp_path / "blob.dat2", bytes(range(256)) * 4)) == "binary file"
    assert _reason(_write(tmp_path / "x.txt", b"text\x00\x01\x02" * 50)) == "binary file"
    assert _reason(_write(tmp_path / "i.png", b"\x89PNG....")) == "unsupported file type (.png)"


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", "word " * 3000)
    assert _reason(path, max_bytes=10_000) == "larger than the 10 KB limit (15 KB)"


def test_empty_and_blank_files(tmp_path: Path) -> None:
    assert _reason(_write(tmp_path / "e.md", b"")) == "empty file"
    assert _reason(_write(tmp_path / "b.md", b" \n\t\n")) == "empty file"


def test_corrupt_pdfs(tmp_path: Path) -> None:
    good = make_pdf(["Some text here"])
    garbage = _write(tmp_path / "g.pdf", b"%PDF-1.4\n" + os.urandom(2000))
    assert _reason(garbage).startswith(("damaged PDF", "PDF has no extractable text"))
    truncated = _write(tmp_path / "t.pdf", good[: len(good) // 3])
    assert _reason(truncated).startswith(("damaged PDF", "PDF has no extractable text"))
    fake = _write(tmp_path / "f.pdf", b"this is not a pdf at all")
    assert _reason(fake) == "damaged PDF (no PDF header)"


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.pdf", encrypt_pdf(make_pdf(["Secret"]), user_password="pw"))
    assert _reason(path) == "encrypted PDF: a password is required"


def test_pdf_without_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "scan.pdf", make_pdf([""]))
    assert _reason(path) == "PDF has no extractable text (scanned images need OCR)"


def test_corrupt_docx(tmp_path: Path) -> None:
    assert _reason(_write(tmp_path / "a.docx", b"PK\x03\x04 broken")).startswith("damaged DOCX")
    import zipfile

    other = tmp_path / "b.docx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "not word")
    assert _reason(other) == "not a Word document (word/document.xml missing)"


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.txt") == "file not found (moved or deleted?)"
    folder = tmp_path / "dir.txt"
    folder.mkdir()
    assert _reason(folder) in {"is a folder", "not a regular file"}


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert _reason(fifo) == "not a regular file"


def test_symlink_loop_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    assert _reason(tmp_path / "a.txt") == "symlink loop"
    found = list(iter_files([tmp_path / "a.txt"]))
    assert found == [Skipped(str(tmp_path / "a.txt"), "symlink loop")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_real(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.txt", "private")
    path.chmod(0)
    assert _reason(path) == "permission denied"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores file modes, so the refusal the kernel would give is raised by hand."""
    path = _write(tmp_path / "p.txt", "private")
    real_open = os.open

    def refuse(target, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(target) == path:
            raise PermissionError(13, "Permission denied", str(target))
        return real_open(target, *args, **kwargs)

    monkeypatch.setattr(loaders.os, "open", refuse)
    assert _reason(path) == "permission denied"


# -- walking folders -------------------------------------------------------------------


def test_walk_skips_hidden_and_dependency_folders_and_survives_loops(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    _write(root / "a.md", "a")
    _write(root / "sub" / "b.txt", "b")
    _write(root / ".git" / "config", "x")
    _write(root / "node_modules" / "m.js", "x")
    _write(root / ".venv" / "lib.py", "x")
    _write(root / ".hidden.md", "x")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "dangling.md").symlink_to(root / "nowhere.md")
    found = list(iter_files([root, root / "a.md", tmp_path / "missing"]))
    files = [f for f in found if isinstance(f, Path)]
    skipped = {Path(s.path).name: s.reason for s in found if isinstance(s, Skipped)}
    assert files == [(root / "a.md").resolve(), (root / "sub" / "b.txt").resolve()]
    assert skipped == {
        "dangling.md": "not found (moved or deleted?)",
        "loop": "symlink loop (folder already visited)",
        "missing": "not found (moved or deleted?)",
    }


def test_explicit_hidden_file_is_indexed(tmp_path: Path) -> None:
    path = _write(tmp_path / ".notes.md", "hello")
    assert list(iter_files([path])) == [path.resolve()]


def test_html_with_unclosed_head_still_has_its_body(tmp_path: Path) -> None:
    html = "<html><head><title>T</title><body><p>Visible text</p></body></html>"
    doc = load_file(_write(tmp_path / "u.htm", html), MB)
    assert [b.text for b in doc.blocks] == ["Visible text"] and doc.title == "T"


def test_a_long_pdf_stops_between_pages_when_the_run_is_cancelled(tmp_path: Path) -> None:
    """A cancelled run must not finish parsing a long PDF in its worker thread."""
    data = make_pdf([f"Page {i} of a long manual." for i in range(40)])
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(LoadError, match="stopped"):
        loaders.parse_bytes(tmp_path / "manual.pdf", data, "pdf", MB, stop)
    assert len(asked) == 4  # asked before each page: three pages read, then it stopped
    assert len(loaders.parse_bytes(tmp_path / "manual.pdf", data, "pdf", MB).blocks) == 40
