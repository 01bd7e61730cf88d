"""Transcripts: append-only JSONL that survives torn lines, kills and full disks."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, TranscriptError, read_transcript
from offyai_tui.chat.transcript import TranscriptWriter, encode_event, parse_transcript
from offyai_tui.engines.base import ChatStats
from offyai_tui.settings.workspace import Workspace
from tests.chat.conftest import FakeClock

HEADER = {"type": "header", "v": 1, "id": "c1", "title": "T", "created": "2025", "mode": "coder"}


def _msg(i: int, role: str = "user", **extra: object) -> dict:
    return {
        "type": "message",
        "id": f"m{i}",
        "role": role,
        "status": "complete",
        "content": f"text {i}",
        **extra,
    }


def _bytes(*events: dict) -> bytes:
    return b"".join(encode_event(e) for e in events)


def test_round_trip_keeps_every_field() -> None:
    stats = {"completion_tokens": 5, "tokens_per_s": 12.5}
    data = parse_transcript(
        _bytes(
            HEADER,
            _msg(1),
            _msg(
                2,
                "assistant",
                model="smol",
                stats=stats,
                request_id="r1",
                sources=[{"path": "a.md"}],
                thinking="hmm",
            ),
        ),
        "c1",
    )
    assert (data.title, data.mode, data.warnings) == ("T", "coder", [])
    user, answer = data.messages
    assert (user.role, user.content, user.status) == ("user", "text 1", "complete")
    assert answer.stats == stats and answer.model == "smol" and answer.request_id == "r1"
    assert answer.sources == [{"path": "a.md"}] and answer.thinking == "hmm"


def test_lines_are_readable_json_without_raw_newlines() -> None:
    line = encode_event(_msg(1, content='a\nb \u2028 ü "q"'))
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert "ü".encode() in line  # greppable: non-ASCII is not escaped
    event = json.loads(line)
    assert event["content"] == 'a\nb \u2028 ü "q"'


def test_lone_surrogate_is_escaped_not_fatal() -> None:
    data = parse_transcript(_bytes(HEADER, _msg(1, content="bad \udc80 byte")), "c1")
    assert data.messages[0].content == "bad \udc80 byte"


def test_torn_last_line_is_skipped_with_a_warning() -> None:
    good = _bytes(HEADER, _msg(1), _msg(2))
    torn = good + encode_event(_msg(3))[:17]
    data = parse_transcript(torn, "c1")
    assert [m.id for m in data.messages] == ["m1", "m2"]
    assert len(data.warnings) == 1 and ":4:" in data.warnings[0]


GARBAGE = {
    "binary": b"\x00\xff\xfe garbage",
    "array": b"[1, 2, 3]",
    "no-type": b'{"no_type": 1}',
    "deep-nesting": b"{" * 100_000,
    "string": b'"string"',
    "bad-field": b'{"type": "message", "id": 5}',
    "unknown-event": b'{"type": "from-the-future", "x": 1}',
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_line_anywhere_is_skipped(garbage: bytes) -> None:
    data = parse_transcript(_bytes(HEADER, _msg(1)) + garbage + b"\n" + _bytes(_msg(2)), "c1")
    assert [m.id for m in data.messages] == ["m1", "m2"]
    assert data.warnings


def test_missing_header_uses_defaults() -> None:
    data = parse_transcript(_bytes(_msg(1)), "c9")
    assert data.id == "c9" and data.messages[0].id == "m1"
    assert any("header" in w for w in data.warnings)


def test_events_replay_in_order() -> None:
    data = parse_transcript(
        _bytes(
            HEADER,
            _msg(1),
            _msg(2, "assistant"),
            _msg(3),
            {"type": "edit", "id": "m1", "content": "edited", "created": "2026"},
            {"type": "title", "title": "Renamed"},
            {"type": "mode", "mode": "teacher"},
            {"type": "params", "params": {"temperature": 0.3, "top_k": 99.5}, "system": "Be brief"},
            {"type": "deleted", "id": "m2"},
            {"type": "clear"},
            _msg(4),
        ),
        "c1",
    )
    assert [m.id for m in data.messages] == ["m1", "m3", "m4"]
    assert data.messages[0].content == "edited" and data.messages[0].edited == "2026"
    assert (data.title, data.mode, data.system) == ("Renamed", "teacher", "Be brief")
    assert data.params == {"temperature": 0.3}  # the bad top_k is dropped with a warning
    assert any("top_k" in w for w in data.warnings)
    assert [m.in_context for m in data.messages] == [False, False, True]


def test_checkpoints_without_final_line_load_as_interrupted() -> None:
    cps = [
        {"type": "checkpoint", "id": "a1", "offset": off, "text": text, "model": "smol"}
        for off, text in [(0, "Hello"), (5, ", wor"), (10, "ld")]
    ]
    data = parse_transcript(_bytes(HEADER, _msg(1), *cps), "c1")
    answer = data.messages[-1]
    assert (answer.role, answer.status, answer.content, answer.model) == (
        "assistant",
        "interrupted",
        "Hello, world",
        "smol",
    )


def test_final_message_wins_over_its_checkpoints() -> None:
    data = parse_transcript(
        _bytes(
            HEADER,
            {"type": "checkpoint", "id": "a1", "offset": 0, "text": "par"},
            _msg(1, "assistant", id="a1", content="partial and complete"),
            {"type": "checkpoint", "id": "a1", "offset": 0, "text": "late"},
        ),
        "c1",
    )
    assert [(m.content, m.status) for m in data.messages] == [("partial and complete", "complete")]


def test_checkpoint_gap_keeps_text_and_warns() -> None:
    data = parse_transcript(
        _bytes(
            HEADER,
            {"type": "checkpoint", "id": "a1", "offset": 0, "text": "abc"},
            {"type": "checkpoint", "id": "a1", "offset": 9, "text": "xyz"},
        ),
        "c1",
    )
    assert data.messages[0].content == "abcxyz"
    assert any("missing" in w for w in data.warnings)


def test_writer_creates_private_file_and_appends(tmp_path: Path) -> None:
    path = tmp_path / "chats" / "c1.jsonl"
    writer = TranscriptWriter(path)
    writer.create(HEADER, [_msg(1)])
    writer.append(_msg(2))
    writer.append(_msg(3), durable=False)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(path.parent).st_mode & 0o777 == 0o700
    assert [m.id for m in read_transcript(path).messages] == ["m1", "m2", "m3"]
    with pytest.raises(TranscriptError):
        writer.create(HEADER)  # never overwrites an existing transcript


def test_append_after_a_torn_line_starts_a_fresh_line(tmp_path: Path) -> None:
    path = tmp_path / "c1.jsonl"
    path.write_bytes(_bytes(HEADER, _msg(1)) + encode_event(_msg(2))[:20])
    TranscriptWriter(path).append(_msg(3))
    data = read_transcript(path)
    assert [m.id for m in data.messages] == ["m1", "m3"]
    assert len(data.warnings) == 1


def test_append_to_deleted_file_fails_instead_of_recreating(tmp_path: Path) -> None:
    path = tmp_path / "c1.jsonl"
    writer = TranscriptWriter(path)
    writer.create(HEADER)
    path.unlink()
    with pytest.raises(TranscriptError, match="no longer exists"):
        writer.append(_msg(1))
    assert not path.exists()


def test_disk_full_on_append_raises_and_keeps_saved_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c1.jsonl"
    writer = TranscriptWriter(path)
    writer.create(HEADER, [_msg(1), _msg(2)])
    before = path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 10:  # write a torn half line, then fail like a full disk
            real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(TranscriptError) as info:
        writer.append(_msg(3))
    monkeypatch.undo()
    message = str(info.value)
    assert "disk is full" in message and "\n" not in message
    assert path.read_bytes() == before  # our partial line was cut back off
    writer.append(_msg(4))
    data = read_transcript(path)
    assert [m.id for m in data.messages] == ["m1", "m2", "m4"] and data.warnings == []


def test_conversation_keeps_unsaved_changes_and_retries(
    store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = store.create(model="smol")
    conv.add_user("first")

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(TranscriptError):
        conv.add_user("second")
    assert [m.content for m in conv.messages] == ["first", "second"]
    assert conv.unsaved_events == 1
    monkeypatch.undo()
    conv.add_user("third")  # the pending "second" is written first
    assert conv.unsaved_events == 0
    loaded = read_transcript(store.path_for(conv.id))
    assert [m.content for m in loaded.messages] == ["first", "second", "third"]


def test_first_write_failure_leaves_no_half_file(
    store: ConversationStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = store.create()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O")))
    with pytest.raises(TranscriptError):
        conv.add_user("hello")
    assert not store.path_for(conv.id).exists()
    monkeypatch.undo()
    conv.add_user("again")
    assert [m.content for m in store.load(conv.id).messages] == ["hello", "again"]


def _try_mount_tmpfs(target: Path, size: str) -> bool:
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target)],
        capture_output=True,
        timeout=10,
    )
    return result.returncode == 0


def test_real_disk_full_on_tmpfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if not _try_mount_tmpfs(mount, "64k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    try:
        monkeypatch.setenv("OFFYAI_HOME", str(mount / "home"))
        workspace = Workspace.open("default").ensure()
        with ConversationStore.open(workspace) as store:
            conv = store.create(model="smol")
            conv.add_user("a question worth keeping")
            saved = store.path_for(conv.id).read_bytes()
            error = None
            for i in range(1000):
                try:
                    conv.add_user(f"filler {i} " + "x" * 2000)
                except TranscriptError as exc:
                    error = exc
                    break
            assert error is not None, "a 64 KiB tmpfs never filled up"
            assert "disk is full" in str(error)
            data = read_transcript(store.path_for(conv.id))
            assert data.warnings == []  # no torn line left behind
            assert data.messages[0].content == "a question worth keeping"
            assert store.path_for(conv.id).read_bytes().startswith(saved)
            assert len(data.messages) == len(conv.messages) - 1  # only the failed one missing
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


KILL_SCRIPT = textwrap.dedent("""
    import asyncio, os, signal, sys, time
    from offyai_tui.chat import ConversationStore, TokenCounter
    from offyai_tui.settings.workspace import Workspace

    async def main():
        store = ConversationStore.open(Workspace.open("default"), checkpoint_interval=0.05)
        conv = store.create(model="smol")
        conv.add_user("count for me")
        done = await conv.start_reply(TokenCounter(), model="smol")
        done.append("one ")
        from offyai_tui.engines.base import ChatStats
        done.finish(ChatStats(model="smol", completion_tokens=1))
        conv.add_user("and again")
        handle = await conv.start_reply(TokenCounter(), model="smol")
        for i in range(40):
            handle.append(f"w{i} ")
            time.sleep(0.01)
        print(conv.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
""")


def test_kill_9_mid_stream_loses_at_most_the_last_interval(offyai_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == -9, result.stderr
    conv_id = result.stdout.strip()
    with ConversationStore.open(Workspace.open("default")) as store:  # lock died with it
        conv = store.load(conv_id)
    roles = [(m.role, m.status) for m in conv.messages]
    assert roles == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "interrupted"),
    ]
    partial = conv.messages[-1].content
    full = "".join(f"w{i} " for i in range(40))
    assert full.startswith(partial)
    # 40 deltas 10 ms apart with 50 ms checkpoints: most of the text made it.
    assert len(partial) >= len(full) // 2


def test_checkpoint_cadence_with_injected_clock(store: ConversationStore, clock: FakeClock) -> None:
    import asyncio

    conv = store.create(model="smol")
    conv.add_user("hi")
    handle = asyncio.run(conv.start_reply(TokenCounter(), model="smol"))
    path = store.path_for(conv.id)

    def checkpoints() -> int:
        return path.read_bytes().count(b'"type": "checkpoint"')

    handle.append("a")
    clock.advance(0.5)
    handle.append("b")
    assert checkpoints() == 0  # less than a second: nothing written yet
    clock.advance(0.6)
    handle.append("c")
    assert checkpoints() == 1
    assert read_transcript(path).messages[-1].content == "abc"
    for _ in range(10):  # many deltas within one second: still one checkpoint
        handle.append("d")
    assert checkpoints() == 1
    clock.advance(1.0)
    assert handle.checkpoint_if_due() is True  # a UI timer flushes a quiet stream
    assert handle.checkpoint_if_due() is False  # nothing new
    assert read_transcript(path).messages[-1].content == "abc" + "d" * 10
    handle.finish(ChatStats(model="smol", completion_tokens=13))
    final = read_transcript(path).messages[-1]
    assert (final.status, final.content) == ("complete", "abc" + "d" * 10)
