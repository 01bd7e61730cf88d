"""Large text files read as a stream: the same blocks as a whole-file parse, bounded memory.

The segment and read sizes are made tiny here so that a few kilobytes cross
many segment and read boundaries; the memory test uses real sizes.
"""

from __future__ import annotations

import codecs
import random
import re
import tracemalloc
from pathlib import Path

import pytest

from offyai_tui.rag import textstream, tokens
from offyai_tui.rag.chunker import chunk_document, iter_chunks
from offyai_tui.rag.loaders import LoadError, decode_text, kind_of, load_file, parse_bytes
from offyai_tui.rag.textstream import TextStream, sniff

MB = 2**20
WORDS = [
    "ferry", "island", "harbour", "engine", "model", "index", "token", "answer", "private",
    "local", "network", "commit", "batch", "stream", "progress", "policy", "retention",
]


def _stream(path: Path, max_bytes: int = 64 * MB) -> TextStream:
    stream = TextStream(path, kind_of(path) or "text", sniff(path, max_bytes), max_bytes)
    stream.start()
    return stream


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of ~300 characters, hard cuts after 1200, reads of 7 bytes."""
    monkeypatch.setattr(textstream, "SEGMENT_CHARS", 300)
    monkeypatch.setattr(textstream, "HARD_CHARS", 1200)
    monkeypatch.setattr(textstream, "READ_BYTES", 7)


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."


def _markdown(rng: random.Random) -> str:
    parts = ["# Field notes\n"]
    for n in range(40):
        kind = rng.random()
        if kind < 0.15:
            parts.append(f"{'#' * rng.randint(1, 3)} Part {n}\n")
        elif kind < 0.3:  # a fence with blank lines inside: never cut there
            body = "\n\n".join(f"    step_{n}_{i}()" for i in range(rng.randint(2, 6)))
            parts.append(f"```python\n{body}\n```\n")
        elif kind < 0.35:
            parts.append(f"Setext {n}\n-----\n")
        else:
            parts.append("\n".join(_sentence(rng) for _ in range(rng.randint(1, 4))) + "\n")
    return "\n".join(parts)


def _rst(rng: random.Random) -> str:
    parts = ["=====\nTitle\n=====\n"]
    for n in range(40):
        kind = rng.random()
        if kind < 0.2:
            parts.append(f"Section {n}\n{rng.choice('=-~') * 12}\n")
        elif kind < 0.35:
            body = "\n\n".join(f"    line_{n}_{i} = {i}" for i in range(rng.randint(2, 5)))
            parts.append(f"Example {n}::\n\n{body}\n")
        else:
            parts.append(" ".join(_sentence(rng) for _ in range(rng.randint(1, 4))) + "\n")
    return "\n".join(parts)


def _code(rng: random.Random) -> str:
    parts = []
    for n in range(40):
        body = "\n\n".join(f"    x_{n}_{i} = {i}" for i in range(rng.randint(1, 4)))
        parts.append(f"def f{n}():\n{body}\n")
    return "\n\n".join(parts)


def _plain(rng: random.Random) -> str:
    paras = []
    for _ in range(60):
        lines = [_sentence(rng) for _ in range(rng.randint(1, 5))]
        paras.append("\n".join(lines) + ("   " if rng.random() < 0.2 else ""))
    return "\n\n".join(paras) + "\n"


@pytest.mark.parametrize(
    ("name", "make"),
    [("notes.md", _markdown), ("guide.rst", _rst), ("tool.py", _code), ("story.txt", _plain)],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_segments_give_the_blocks_of_a_whole_file_parse(
    tmp_path: Path, tiny: None, name: str, make, seed: int
) -> None:
    text = make(random.Random(seed))
    path = tmp_path / name
    path.write_text(text.replace("\n", "\r\n") if seed == 2 else text, encoding="utf-8")
    whole = load_file(path, MB)
    stream = _stream(path)
    assert list(stream.blocks()) == whole.blocks
    assert (stream.title, stream.lines, stream.sha256) == (whole.title, whole.lines, whole.sha256)
    assert stream.bytes_read == path.stat().st_size


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + "Grüße aus Köln.\r\n\r\nZweiter Absatz.".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "Grüße aus Köln.\n\nZweiter Absatz.".encode("utf-16-be"),
        codecs.BOM_UTF8 + "Café au lait.\r\rNext.\r\n".encode(),
        "Café crème brûlée, déjà vu.\n\n“quoted”\n".encode("cp1252") * 9,
        b"Latin-1 with an undefined cp1252 byte \x81 and \xe9\xe9\xe9\xe9\n" * 5,
        b"mostly fine text, one bad byte: \xff" + b" and more text.\n" * 40,
    ],
    ids=["utf16le", "utf16be", "utf8-bom", "cp1252", "latin1", "few-bad-bytes"],
)
def test_encodings_and_notes_match_whole_file_decoding(
    tmp_path: Path, tiny: None, data: bytes
) -> None:
    path = tmp_path / "text.txt"
    path.write_bytes(data)
    plan = sniff(path, MB)
    assert list(plan.notes) == decode_text(data)[1]
    assert list(_stream(path).blocks()) == parse_bytes(path, data, "text", MB).blocks


def test_text_without_breaks_is_cut_but_kept_whole_and_cited_on_its_lines(
    tmp_path: Path, tiny: None
) -> None:
    rng = random.Random(5)
    lines = [_sentence(rng) for _ in range(150)]  # a log: no blank line anywhere
    lines[70] = " ".join(_sentence(rng) for _ in range(60))  # one line longer than a segment
    lines[90] = "x" * 2500  # one "word" longer than a hard cut
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    blocks = list(_stream(path).blocks())
    assert len(blocks) > 5
    assert re.sub(r"\s", "", "".join(b.text for b in blocks)) == re.sub(r"\s", "", "".join(lines))
    for block in blocks:
        first = block.text.split("\n")[0]
        assert first in lines[block.line_start - 1], (block.line_start, first[:40])
        assert block.text.split("\n")[-1] in lines[block.line_end - 1]


def test_a_fence_longer_than_a_hard_cut_stays_code_with_true_lines(
    tmp_path: Path, tiny: None
) -> None:
    code = [f"    call_{i}(argument_{i})" for i in range(120)]
    text = "# Big\n\nIntro.\n\n```\n" + "\n".join(code) + "\n```\n\nAfter the fence.\n"
    path = tmp_path / "big.md"
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    blocks = list(_stream(path).blocks())
    code_blocks = [b for b in blocks if b.kind == "code"]
    assert len(code_blocks) > 1  # cut inside the fence, and every part is still code
    seen = "".join(b.text for b in code_blocks)
    assert all(line.strip() in seen for line in code)
    for number, block in enumerate(code_blocks):
        shown = block.text.split("\n")
        first = shown[0] if number == 0 else shown[1]  # later parts open with the mark again
        assert first in lines[block.line_start - 1]
        assert shown[-1] in lines[block.line_end - 1]
    assert blocks[-1].text == "After the fence." and blocks[-1].line_start == len(lines) - 1


def test_bad_files_are_refused_with_the_whole_file_reasons(tmp_path: Path) -> None:
    cases = {
        "empty.txt": b"  \n\n\t ",
        "nul.txt": b"text\x00with a nul",
        "control.txt": bytes(range(1, 32)) * 40,
        "big.txt": b"a" * (MB + 1),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(LoadError) as streamed:
            sniff(path, MB)
        with pytest.raises(LoadError) as whole:
            load_file(path, MB)
        assert str(streamed.value) == str(whole.value), name


def _log(path: Path, size: int) -> Path:
    """A log without blank lines: the worst case of the old loader (one huge paragraph)."""
    rng = random.Random(11)
    with path.open("w", encoding="utf-8") as out:
        written = 0
        while written < size:
            line = f"2026-12-04T04:{rng.randint(0, 59):02d}Z INFO {_sentence(rng)}\n"
            out.write(line)
            written += len(line)
    return path


def _peak(work) -> tuple[float, int]:
    tokens.count("load the vocabulary before measuring")
    tracemalloc.start()
    try:
        count = work()
        return tracemalloc.get_traced_memory()[1] / MB, count
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_chunking_a_large_file_holds_a_few_segments_not_the_file(tmp_path: Path) -> None:
    """Peak allocation stays under a bound whatever the size; reading the file whole
    (what indexing did before, 800 MB for a 50 MB log) passes it on a small file."""
    bound = 12.0
    peaks = {}
    for size in (2, 8):
        path = _log(tmp_path / f"{size}.log", size * MB)

        def streamed(path: Path = path) -> int:
            stream = _stream(path)
            return sum(1 for _ in iter_chunks(stream.blocks(), str(path), stream.title))

        peaks[size], count = _peak(streamed)
        assert count > size * 1000
        assert peaks[size] < bound, peaks
    assert peaks[8] < 1.5 * peaks[2], peaks  # bounded: four times the file, same memory
    small = tmp_path / "2.log"
    whole, _ = _peak(lambda: len(chunk_document(load_file(small, 64 * MB))))
    print(f"peak allocation: streamed {peaks} MB, whole file (2 MB) {whole:.1f} MB")
    assert whole > bound  # the bound tells the two apart


def test_the_bigfile_benchmark_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """``bench/bigfile.py`` at a tiny size (benchmarks are not tests: no figure asserted)."""
    from bench import bigfile

    assert bigfile.main(["--mb", "0.3", "--kind", "prose"]) == 0
    out = capsys.readouterr().out
    streamed, whole = (re.search(rf"{m}\s+(\d+) chunks", out) for m in ("streamed", "whole"))
    assert streamed and whole and streamed.group(1) == whole.group(1), out
    assert "whole / streamed: peak RSS x" in out
