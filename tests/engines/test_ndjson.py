"""The NDJSON parser: whole values out, however the bytes were cut on the way in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offyai_tui.engines.ndjson import (
    LineSplitter,
    MalformedLine,
    NDJSONDecoder,
    aiter_ndjson,
    parse_line,
)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
OBJECTS = st.dictionaries(TEXT, VALUES, max_size=4)


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in pairwise(points)]


@given(
    objects=st.lists(OBJECTS, max_size=6),
    cuts=st.lists(st.integers(min_value=0), max_size=40),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    blank_lines=st.booleans(),
)
def test_any_chunking_yields_exactly_the_objects(
    objects: list[dict], cuts: list[int], newline: bytes, blank_lines: bool
) -> None:
    lines = [json.dumps(o, ensure_ascii=False).encode() for o in objects]
    if blank_lines:
        lines = [line + newline for line in lines]  # an empty line after each object
    data = b"".join(line + newline for line in lines)
    decoder = NDJSONDecoder()
    decoded = [value for chunk in _cut(data, cuts) for value in decoder.feed(chunk)]
    decoded += decoder.close()
    assert decoded == objects
    assert not decoder.pending


def test_multibyte_characters_split_byte_by_byte() -> None:
    line = json.dumps({"content": "naïve 🤔 日本語"}, ensure_ascii=False).encode() + b"\n"
    decoder = NDJSONDecoder()
    out = []
    for i in range(len(line)):
        out += decoder.feed(line[i : i + 1])
        if i < len(line) - 1:
            assert out == []
            assert decoder.pending
    assert out == [{"content": "naïve 🤔 日本語"}]


def test_final_line_without_newline_is_parsed_on_close() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b":') == [{"a": 1}]
    assert decoder.feed(b" 2}") == []
    assert decoder.close() == [{"b": 2}]
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"<html>502 Bad Gateway</html>", "502 Bad Gateway"),
        (b'{"message": {"content": "cut', '{"message"'),
        (b'{"a": "\xff\xfe"}', "\ufffd"),
    ],
)
def test_malformed_line_names_what_it_saw(raw: bytes, shown: str) -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(MalformedLine) as caught:
        decoder.feed(b'{"ok": true}\n' + raw + b"\n")
    assert caught.value.line == raw
    assert shown in str(caught.value)
    assert "\n" not in str(caught.value)


def test_preview_of_a_huge_line_is_bounded() -> None:
    with pytest.raises(MalformedLine) as caught:
        parse_line(b"x" * 100_000)
    assert len(str(caught.value)) < 120


def test_runaway_line_is_refused_instead_of_buffered() -> None:
    decoder = NDJSONDecoder(max_line=1000)
    decoder.feed(b'{"a": "' + b"y" * 900)
    with pytest.raises(MalformedLine, match="longer than 1000 bytes"):
        decoder.feed(b"y" * 200)
    assert not decoder.pending


def test_line_splitter_keeps_blank_lines_and_strips_cr() -> None:
    """The shape SSE needs: blank lines separate events, CRLF is common."""
    splitter = LineSplitter()
    assert splitter.feed(b"data: a\r\n\r\nda") == [b"data: a", b""]
    assert splitter.feed(b"ta: b\n\n") == [b"data: b", b""]
    assert splitter.feed(b"tail\r") == []
    assert splitter.flush() == b"tail"


async def test_aiter_ndjson_over_an_async_stream() -> None:
    payload = b'{"n": 1}\n\n{"n": "\xc3\xa9"}\n{"n": 3}'

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 3):
            yield payload[i : i + 3]

    assert [v async for v in aiter_ndjson(chunks())] == [{"n": 1}, {"n": "é"}, {"n": 3}]
