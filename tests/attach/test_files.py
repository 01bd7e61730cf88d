"""Text files and PDFs: a fenced block headed by the name, counted, refused over the budget."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from offyai_tui.attach import NotText, OverBudget, Unreadable, chip, prepare
from offyai_tui.chat.attachments import fenced
from offyai_tui.chat.tokens import estimate_tokens
from tests.rag.samples import encrypt_pdf, make_docx, make_pdf


def test_a_text_file_is_stored_as_text_and_counted_as_its_block(tmp_path: Path) -> None:
    body = "ERROR disk full\n" * 40
    (tmp_path / "app.log").write_text(body)
    item = prepare(tmp_path / "ws", tmp_path / "app.log", budget=10_000)
    block = fenced("app.log", body)
    assert block.startswith("app.log\n```\nERROR disk full\n") and block.endswith("\n```")
    assert item.tokens == estimate_tokens(block) and item.tokens > 40
    assert (item.mime, item.source, item.name) == ("text/plain", "text", "app.log")
    assert (tmp_path / "ws" / item.file).read_text() == body
    assert item.block(tmp_path / "ws") == block
    assert chip(item, 2) == f"[file 2: app.log {item.tokens:,} tokens]"


def test_a_file_over_the_budget_is_refused_with_the_numbers(tmp_path: Path) -> None:
    (tmp_path / "book.txt").write_text("word " * 3000)
    with pytest.raises(OverBudget) as caught:
        prepare(tmp_path / "ws", tmp_path / "book.txt", budget=1200)
    tokens = estimate_tokens(fenced("book.txt", "word " * 3000))
    assert (caught.value.tokens, caught.value.budget) == (tokens, 1200)
    assert str(caught.value) == (
        f"book.txt is {tokens:,} tokens and 1,200 are left in this conversation's context; "
        "nothing attached (add it to Documents to ask about it in parts, or use a model "
        "with a larger context)"
    )
    assert not (tmp_path / "ws").exists()


def test_a_block_cannot_be_closed_early_by_the_file(tmp_path: Path) -> None:
    text = "# Notes\n\n````python\nprint(1)\n````\nafter\n"
    (tmp_path / "notes.md").write_text(text)
    item = prepare(tmp_path / "ws", tmp_path / "notes.md")
    block = item.block(tmp_path / "ws")
    assert block.splitlines()[1] == "`````" and block.splitlines()[-1] == "`````"


def test_a_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    (tmp_path / "contract.pdf").write_bytes(make_pdf(["Clause one: pay", "Clause two: deliver"]))
    item = prepare(tmp_path / "ws", tmp_path / "contract.pdf", budget=5000)
    text = (tmp_path / "ws" / item.file).read_text()
    assert item.source == "pdf" and item.file.endswith(".txt")
    assert text.index("[page 1]") < text.index("Clause one") < text.index("[page 2]")
    assert text.index("[page 2]") < text.index("Clause two")


def test_a_word_file_is_read_by_its_paragraphs(tmp_path: Path) -> None:
    (tmp_path / "memo.docx").write_bytes(make_docx([("Heading1", "Memo"), ("", "Ship Friday")]))
    item = prepare(tmp_path / "ws", tmp_path / "memo.docx")
    assert item.source == "docx"
    assert "Ship Friday" in (tmp_path / "ws" / item.file).read_text()


def test_a_password_pdf_and_a_damaged_pdf_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(encrypt_pdf(make_pdf(["x"]), "pw"))
    with pytest.raises(Unreadable) as caught:
        prepare(tmp_path / "ws", tmp_path / "secret.pdf")
    assert str(caught.value) == (
        "secret.pdf cannot be read: encrypted PDF: a password is required; nothing attached"
    )
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    with pytest.raises(Unreadable, match=r"^bad.pdf cannot be read: damaged PDF"):
        prepare(tmp_path / "ws", tmp_path / "bad.pdf")


def test_binary_and_empty_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tool.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    with pytest.raises(NotText) as caught:
        prepare(tmp_path / "ws", tmp_path / "tool.bin")
    assert str(caught.value) == "tool.bin is not a text file, an image or a PDF; nothing attached"
    (tmp_path / "blank.txt").write_text("  \n\n")
    with pytest.raises(NotText, match=r"^blank.txt is empty"):
        prepare(tmp_path / "ws", tmp_path / "blank.txt")


def test_windows_1252_text_is_read_and_noted(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes("Café crème – naïve".encode("cp1252") * 20)
    item = prepare(tmp_path / "ws", tmp_path / "old.txt")
    assert "Café crème – naïve" in (tmp_path / "ws" / item.file).read_text()
    assert item.note == "not UTF-8; read as Windows-1252"


def test_text_from_stdin(tmp_path: Path) -> None:
    item = prepare(tmp_path / "ws", "-", stdin=io.BytesIO(b"piped words\n"), budget=100)
    assert (item.name, item.source) == ("stdin", "text")
    assert item.block(tmp_path / "ws") == "stdin\n```\npiped words\n```"


def test_a_huge_text_is_refused_without_counting_all_of_it(tmp_path: Path) -> None:
    (tmp_path / "big.log").write_text("GET /index.html 200 0.003s\n" * 400_000)  # 10.8 MB
    counted: list[int] = []

    def count(text: str) -> int:
        counted.append(len(text))
        return estimate_tokens(text)

    with pytest.raises(OverBudget) as caught:
        prepare(tmp_path / "ws", tmp_path / "big.log", budget=4000, count=count)
    assert counted == [(4000 + 1) * 32]  # only the start was counted
    total = estimate_tokens(fenced("big.log", "GET /index.html 200 0.003s\n" * 400_000))
    assert abs(caught.value.tokens - total) / total < 0.02
    expected = f"big.log is about {caught.value.tokens:,} tokens and 4,000 are left"
    assert str(caught.value).startswith(expected)


def test_files_share_the_budget_and_stdin_is_read_once(tmp_path: Path) -> None:
    from offyai_tui.attach import prepare_all
    from tests.attach.pictures import picture

    (tmp_path / "a.txt").write_text("alpha " * 300)
    (tmp_path / "b.txt").write_text("beta " * 300)
    (tmp_path / "c.png").write_bytes(picture(10, 10))
    one = prepare(tmp_path / "ws", tmp_path / "a.txt").tokens
    items = prepare_all(tmp_path / "ws", images=[str(tmp_path / "c.png")],
                        files=[str(tmp_path / "a.txt")], budget=one)  # fmt: skip
    assert [i.name for i in items] == ["c.png", "a.txt"]
    with pytest.raises(OverBudget, match=r"^b.txt is (about )?[\d,]+ tokens and 10 are left"):
        prepare_all(tmp_path / "ws", files=[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")],
                    budget=one + 10)  # fmt: skip
    with pytest.raises(Unreadable, match=r"^stdin \(-\) can be attached once"):
        prepare_all(tmp_path / "ws", images=["-"], files=["-"], stdin=io.BytesIO(b"x"))
