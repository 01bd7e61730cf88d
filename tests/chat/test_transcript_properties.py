"""Property tests: no byte sequence crashes the transcript reader or loses earlier lines."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from offyai_tui.chat.transcript import TranscriptWriter, encode_event, parse_transcript

HEADER = {"type": "header", "v": 1, "id": "c1", "title": "T", "created": "", "mode": "default"}
contents = st.text(max_size=300) | st.text(alphabet='\n\r\u2028"\\{}[] ab', max_size=50)
message_lists = st.lists(contents, min_size=1, max_size=12)
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _messages(texts: list[str]) -> list[dict]:
    return [
        {
            "type": "message",
            "id": f"m{i}",
            "role": "user" if i % 2 == 0 else "assistant",
            "status": "complete",
            "content": text,
        }
        for i, text in enumerate(texts)
    ]


def _encode(events: list[dict]) -> bytes:
    return b"".join(encode_event(e) for e in events)


@PROFILE
@given(message_lists)
def test_every_written_message_reads_back(texts: list[str]) -> None:
    data = parse_transcript(_encode([HEADER, *_messages(texts)]), "c1")
    assert [m.content for m in data.messages] == texts
    assert data.warnings == []


@PROFILE
@given(message_lists, st.data())
def test_torn_at_any_byte_keeps_every_complete_line(texts: list[str], draw: st.DataObject) -> None:
    events = [HEADER, *_messages(texts)]
    full = _encode(events)
    cut = draw.draw(st.integers(min_value=0, max_value=len(full)))
    torn = full[:cut]
    data = parse_transcript(torn, "c1")
    complete = torn[: torn.rfind(b"\n") + 1].count(b"\n") - 1  # lines minus the header
    loaded = [m.content for m in data.messages]
    assert loaded == texts[: len(loaded)]  # a prefix, in order, never altered
    assert len(loaded) >= max(0, complete)
    assert len(data.warnings) <= 2  # the torn line and, if the header is torn, its absence


def _not_an_event(raw: bytes) -> bool:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return True
    return not (isinstance(value, dict) and isinstance(value.get("type"), str))


garbage_lines = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))


@PROFILE
@given(message_lists, st.lists(garbage_lines, min_size=1, max_size=5), st.data())
def test_garbage_lines_anywhere_are_skipped(
    texts: list[str], garbage: list[bytes], draw: st.DataObject
) -> None:
    for raw in garbage:
        assume(_not_an_event(raw))
    lines = [encode_event(e) for e in [HEADER, *_messages(texts)]]
    for raw in garbage:
        position = draw.draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(position, raw + b"\n")
    data = parse_transcript(b"".join(lines), "c1")
    assert [m.content for m in data.messages] == texts


@PROFILE
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    data = parse_transcript(raw, "c1")
    assert isinstance(data.warnings, list)


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=1, max_value=4))
def test_huge_lines_load(megabytes: int) -> None:
    big = "x" * (megabytes * 1024 * 1024)
    raw = _encode([HEADER, *_messages(["small", big, "after"])])
    data = parse_transcript(raw[: len(raw) - 3], "c1")  # and a torn tail
    assert [len(m.content) for m in data.messages] == [5, len(big)]


@PROFILE
@given(message_lists, st.binary(max_size=80).map(lambda b: b.replace(b"\n", b"")), message_lists)
def test_appending_after_a_torn_tail_keeps_old_and_new(
    before: list[str], torn: bytes, after: list[str]
) -> None:
    assume(_not_an_event(torn))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c1.jsonl"
        path.write_bytes(_encode([HEADER, *_messages(before)]) + torn)
        writer = TranscriptWriter(path)
        new = _messages(after)
        for i, event in enumerate(new):
            writer.append({**event, "id": f"n{i}"}, durable=False)
        data = parse_transcript(path.read_bytes(), "c1")
    assert [m.content for m in data.messages] == before + after


@st.composite
def _trees(draw: st.DrawFn) -> list[dict]:
    """Format-2 events: messages below random earlier ones, with ``shown`` pointers."""
    events: list[dict] = []
    ids: list[str] = []
    for i in range(draw(st.integers(min_value=1, max_value=14))):
        if ids and draw(st.booleans()) and draw(st.booleans()):
            events.append({"type": "shown", "id": draw(st.sampled_from(ids))})
            continue
        parent = draw(st.sampled_from([None, *ids]))
        ids.append(f"m{i}")
        events.append(
            {
                "type": "message",
                "id": f"m{i}",
                "parent_id": parent,
                "role": "user",
                "status": "complete",
                "content": draw(contents),
            }
        )
    return events


@PROFILE
@given(_trees(), st.data())
def test_format_2_trees_torn_anywhere_keep_every_complete_line_in_place(
    events: list[dict], draw: st.DataObject
) -> None:
    lines = [encode_event(e) for e in [{**HEADER, "v": 2}, *events]]
    full = b"".join(lines)
    cut = draw.draw(st.integers(min_value=0, max_value=len(full)))
    torn = full[:cut]
    data = parse_transcript(torn, "c1")
    ends = [sum(len(line) for line in lines[: i + 1]) for i in range(len(lines))]
    # A line is whole once everything but its newline survived: the JSON object is
    # closed, so the reader keeps it (a writer that died before the newline wrote it all).
    complete = [e for e, end in zip(events, ends[1:]) if end - 1 <= cut]
    written = [e for e in complete if e["type"] == "message"]
    assert [m.id for m in data.tree] == [e["id"] for e in written]
    for event in written:
        message = data.tree.get(event["id"])
        assert message is not None
        assert (message.parent_id, message.content) == (event["parent_id"], event["content"])
    branch = data.messages
    assert bool(branch) == bool(written)
    assert [m.parent_id for m in branch] == [None, *[m.id for m in branch]][: len(branch)]
    assert not branch or not data.tree.children(branch[-1].id)  # it ends in a leaf
    if written:
        last = [e["id"] for e in complete][-1]  # the last message or shown line decides
        assert last in {m.id for m in branch}
