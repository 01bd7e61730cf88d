"""The SSE parser: WHATWG line rules, and the same events however the bytes are cut."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from offyai_tui.engines.sse import SSEEvent, SSEParser, aiter_sse


def parse(*chunks: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def test_fields_comments_and_multiline_data() -> None:
    stream = (
        b": keep-alive\n"
        b"event: delta\nid: 7\ndata: first\ndata:second\ndata:  indented\n\n"
        b"data\nretry: 10\nunknown: x\n\n"
        b"data: after id\n\n"
    )
    assert parse(stream) == [
        SSEEvent("first\nsecond\n indented", "delta", "7"),
        SSEEvent("", "message", "7"),
        SSEEvent("after id", "message", "7"),
    ]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert parse(b"\n\nevent: ping\n\n: comment\n\n") == []


def test_all_three_line_endings_and_a_leading_bom() -> None:
    stream = "\ufeffdata: a\r\rdata: b\r\n\r\ndata: c\n\n".encode()
    assert [e.data for e in parse(stream)] == ["a", "b", "c"]


def test_cr_at_a_chunk_end_waits_for_a_possible_lf() -> None:
    # "\r" then "\n" is one line ending; reading them as two would end the event early.
    assert parse(b"data: a\r", b"\ndata: b\r\n\r\n") == [SSEEvent("a\nb")]


def test_utf8_character_split_across_chunks() -> None:
    raw = "data: héllo 👋\n\n".encode()
    cut = raw.index("👋".encode()) + 2
    assert parse(raw[:8], raw[8:cut], raw[cut:]) == [SSEEvent("héllo 👋")]


def test_an_event_without_its_blank_line_is_dropped_at_the_end() -> None:
    assert parse(b"data: complete\n\ndata: cut off\n") == [SSEEvent("complete")]


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert parse(b"data: \xff\xfe ok\n\n") == [SSEEvent("\ufffd\ufffd ok")]


async def test_aiter_sse_reads_an_async_byte_stream() -> None:
    async def chunks():
        for piece in (b"data: one\n", b"\ndata: tw", b"o\n\n"):
            yield piece

    assert [e.data async for e in aiter_sse(chunks())] == ["one", "two"]


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"))
_block = st.one_of(
    st.tuples(st.just("comment"), _text),
    st.tuples(
        st.just("event"),
        st.one_of(st.none(), _text),
        st.one_of(st.none(), _text),
        st.lists(_text, min_size=1, max_size=3),
    ),
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """A serialised stream and the events it must produce."""
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    parts: list[str] = []
    expected: list[SSEEvent] = []
    last_id: str | None = None
    for block in draw(st.lists(_block, max_size=6)):
        if block[0] == "comment":
            parts.append(f":{block[1]}{eol}")
            continue
        _, name, event_id, lines = block
        if name is not None:
            parts.append(f"event: {name}{eol}")
        if event_id is not None:
            parts.append(f"id: {event_id}{eol}")
            last_id = event_id
        parts.extend(f"data: {line}{eol}" for line in lines)
        parts.append(eol)
        expected.append(SSEEvent("\n".join(lines), name or "message", last_id))
    return "".join(parts).encode(), expected


@given(streams(), st.data())
def test_any_chunking_gives_the_same_events(
    stream: tuple[bytes, list[SSEEvent]], data: st.DataObject
) -> None:
    raw, expected = stream
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)])]
    assert parse(raw) == expected
    assert parse(*chunks) == expected
    assert parse(*(raw[i : i + 1] for i in range(len(raw)))) == expected
