"""The conversation store: listing, lifecycle, search, export, lock, private files."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from offyai_tui.chat import (
    ConversationNotFound,
    ConversationStore,
    ReadOnlyWorkspace,
    TranscriptError,
    WorkspaceLocked,
    read_transcript,
)
from offyai_tui.chat.listing import INDEX_NAME
from offyai_tui.chat.records import new_conversation_id
from offyai_tui.chat.transcript import encode_event
from offyai_tui.settings.workspace import Workspace


def _chat(store: ConversationStore, *prompts: str, title: str = "") -> str:
    conv = store.create(model="smol", title=title)
    for prompt in prompts:
        conv.add_user(prompt)
    return conv.id


def test_new_conversation_leaves_no_file_until_first_message(store: ConversationStore) -> None:
    conv = store.create(model="smol", mode="coder")
    conv.set_parameter("temperature", 0.1)
    conv.rename("Planned")
    assert not conv.saved and store.list() == []
    conv.add_user("hello")
    assert conv.saved
    loaded = read_transcript(store.path_for(conv.id))
    assert (loaded.title, loaded.mode, loaded.params) == ("Planned", "coder", {"temperature": 0.1})


def test_list_is_newest_first_with_titles_and_counts(store: ConversationStore) -> None:
    first = _chat(store, "What is a monad?", "And a functor?")
    time.sleep(0.01)
    second = _chat(store, "Plan a trip to Lisbon")
    summaries = store.list()
    assert [s.id for s in summaries] == [second, first]
    assert [(s.title, s.messages) for s in summaries] == [
        ("Plan a trip to Lisbon", 1),
        ("What is a monad?", 2),
    ]
    store.rename(first, "Category theory")
    time.sleep(0.01)
    top = store.list()[0]
    assert (top.id, top.title) == (first, "Category theory")


def test_conversation_ids_are_time_sortable_and_valid() -> None:
    ids = []
    for _ in range(5):
        ids.append(new_conversation_id())
        time.sleep(0.002)
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_listing_uses_an_incremental_index(store: ConversationStore) -> None:
    conv_id = _chat(store, "one", "two")
    assert store.list()[0].messages == 2
    index = json.loads((store.workspace.chats_dir / INDEX_NAME).read_text())
    scanned = index["entries"][conv_id]["scanned"]
    assert scanned == store.path_for(conv_id).stat().st_size
    store.load(conv_id).add_user("three")
    assert store.list()[0].messages == 3
    # A fresh store reads the index from disk and still sees later appends.
    with open(store.path_for(conv_id), "ab") as handle:
        handle.write(encode_event({"type": "title", "title": "Edited by hand"}))
    fresh = ConversationStore(store.workspace, lock=None)
    assert [(s.title, s.messages) for s in fresh.list()] == [("Edited by hand", 3)]


def test_listing_survives_a_corrupt_index_and_odd_files(store: ConversationStore) -> None:
    conv_id = _chat(store, "kept")
    chats = store.workspace.chats_dir
    (chats / INDEX_NAME).write_text("{not json")
    (chats / "..hidden.jsonl").write_text("x")  # not a valid conversation id: ignored
    (chats / "notes.txt").write_text("x")
    fresh = ConversationStore(store.workspace, lock=None)
    assert [s.id for s in fresh.list()] == [conv_id]


def test_load_returns_the_live_object_and_missing_ids_fail(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("hi")
    assert store.load(conv.id) is conv
    with pytest.raises(ConversationNotFound):
        store.load("20990101-000000-000-abcdef")
    with pytest.raises(ConversationNotFound):
        store.load("../../etc/passwd")


def test_delete_removes_the_file_and_stops_a_live_copy(store: ConversationStore) -> None:
    conv = store.create()
    conv.add_user("secret")
    store.delete(conv.id)
    assert not store.path_for(conv.id).exists() and store.list() == []
    with pytest.raises(TranscriptError, match="deleted"):
        conv.add_user("still typing")
    assert not store.path_for(conv.id).exists()  # never recreated without a header
    with pytest.raises(ConversationNotFound):
        store.delete(conv.id)


def test_search_finds_messages_across_conversations(store: ConversationStore) -> None:
    a = _chat(store, "How do I parse JSON in Rust?", "Thanks!")
    b = _chat(store, "Écrire un poème sur la mer")
    conv = store.load(a)
    conv.edit_message(conv.messages[1].id, "Thanks, the serde_json tip worked")
    hits = store.search("SERDE_json")
    assert [(h.conversation_id, h.role) for h in hits] == [(a, "user")]
    assert "serde_json" in hits[0].snippet and hits[0].message_id == conv.messages[1].id
    assert [h.conversation_id for h in store.search("poème")] == [b]
    assert [h.conversation_id for h in store.search('"quoted"')] == []
    assert store.search("   ") == []
    long = _chat(store, "x " * 200 + "needle" + " y" * 200)
    hit = store.search("needle")[0]
    assert hit.conversation_id == long and hit.snippet.startswith("…")
    assert hit.snippet.endswith("…") and len(hit.snippet) < 100


def test_export_markdown(store: ConversationStore) -> None:
    conv_id = _chat(store, "Show me a loop")
    path = store.export_markdown(conv_id)
    text = path.read_text()
    assert text.startswith("# Show me a loop\n") and "### You" in text
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_files_and_dirs_are_private(store: ConversationStore) -> None:
    conv_id = _chat(store, "private")
    store.list()
    chats = store.workspace.chats_dir
    for path in (
        chats / f"{conv_id}.jsonl",
        chats / INDEX_NAME,
        store.workspace.root / "workspace.lock",
    ):
        assert os.stat(path).st_mode & 0o777 == 0o600, path
    for directory in (chats, store.workspace.root):
        assert os.stat(directory).st_mode & 0o777 == 0o700, directory


def test_opening_a_thousand_message_conversation_is_fast(store: ConversationStore) -> None:
    conv_id = new_conversation_id()
    path = store.path_for(conv_id)
    lines = [
        encode_event(
            {
                "type": "header",
                "v": 1,
                "id": conv_id,
                "title": "Big",
                "created": "2025",
                "model": "smol",
                "mode": "default",
            }
        )
    ]
    paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8
    for i in range(1000):
        role = "user" if i % 2 == 0 else "assistant"
        if role == "assistant":  # streamed answers carry checkpoints too
            lines.append(
                encode_event(
                    {"type": "checkpoint", "id": f"m{i}", "offset": 0, "text": paragraph[:200]}
                )
            )
        lines.append(
            encode_event(
                {
                    "type": "message",
                    "id": f"m{i}",
                    "role": role,
                    "status": "complete",
                    "content": f"{i} {paragraph}",
                    "stats": {"completion_tokens": 120, "tokens_per_s": 30.0},
                }
            )
        )
    path.write_bytes(b"".join(lines))
    start = time.perf_counter()
    conv = ConversationStore(store.workspace, lock=None).load(conv_id)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    summaries = ConversationStore(store.workspace, lock=None).list()
    list_s = time.perf_counter() - start
    print(
        f"\n1,000 messages ({path.stat().st_size / 1e6:.2f} MB): load {load_s * 1000:.1f} ms, "
        f"cold list {list_s * 1000:.1f} ms"
    )
    assert len(conv.messages) == 1000 and conv.warnings == []
    assert summaries[0].messages == 1000
    assert load_s < 2.0 and list_s < 2.0  # sanity bounds only; the figure is printed


# ------------------------------------------------------------------- the lock


def test_second_store_on_a_workspace_is_refused_then_read_only(workspace: Workspace) -> None:
    with ConversationStore.open(workspace) as first:
        conv_id = _chat(first, "from the first instance")
        with pytest.raises(WorkspaceLocked) as info:
            ConversationStore.open(workspace)
        assert info.value.pid == os.getpid() and str(os.getpid()) in str(info.value)
        second = ConversationStore.open(workspace, read_only_fallback=True)
        assert second.read_only and second.lock_holder_pid == os.getpid()
        assert [s.id for s in second.list()] == [conv_id]
        with pytest.raises(ReadOnlyWorkspace):
            second.load(conv_id).add_user("from the second")
        with pytest.raises(ReadOnlyWorkspace):
            second.delete(conv_id)
    with ConversationStore.open(workspace) as third:  # released on close
        assert not third.read_only
        assert len(third.load(conv_id).messages) == 1


def _writer_process(
    home: str, ready: multiprocessing.synchronize.Event, stop: multiprocessing.synchronize.Event
) -> None:
    os.environ["OFFYAI_HOME"] = home
    store = ConversationStore.open(Workspace.open("default"))
    conv = store.create(model="smol")
    conv.add_user("start")
    i = 0
    while not stop.is_set() or i < 50:
        conv.add_user(f"first-{i} " + "a" * 500)
        i += 1
        if i == 10:
            ready.set()
    store.close()


def _second_process(home: str, result: multiprocessing.queues.Queue) -> None:
    os.environ["OFFYAI_HOME"] = home
    workspace = Workspace.open("default")
    try:
        ConversationStore.open(workspace)
        result.put(("opened", None, ""))
        return
    except WorkspaceLocked as exc:
        pid = exc.pid
    store = ConversationStore.open(workspace, read_only_fallback=True)
    conv = store.load(store.list()[0].id)
    try:
        conv.add_user("second-instance")
        outcome = "wrote"
    except ReadOnlyWorkspace:
        outcome = "refused"
    result.put(("locked", pid, outcome))


def test_two_processes_never_interleave(offyai_home: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, stop, result = ctx.Event(), ctx.Event(), ctx.Queue()
    writer = ctx.Process(target=_writer_process, args=(str(offyai_home), ready, stop))
    writer.start()
    try:
        assert ready.wait(60), "writer did not start"
        second = ctx.Process(target=_second_process, args=(str(offyai_home), result))
        second.start()
        second.join(60)
        outcome = result.get(timeout=10)
        stop.set()
        writer.join(60)
        assert writer.exitcode == 0
    finally:
        stop.set()
        if writer.is_alive():
            writer.kill()
    assert outcome == ("locked", writer.pid, "refused")
    with ConversationStore.open(Workspace.open("default")) as store:  # free again
        (summary,) = store.list()
        conv = store.load(summary.id)
    written = [m.content.split()[0] for m in conv.messages[1:]]
    assert conv.warnings == [] and len(written) >= 50
    assert written == [f"first-{i}" for i in range(len(written))]


def _signal_then_sleep(started: multiprocessing.synchronize.Event) -> None:
    started.set()
    time.sleep(60)


def test_a_forked_child_does_not_keep_the_lock(workspace: Workspace) -> None:
    """Engine workers started by fork must not hold the workspace after the app quits."""
    store = ConversationStore.open(workspace)
    ctx = multiprocessing.get_context("fork")
    started = ctx.Event()
    child = ctx.Process(target=_signal_then_sleep, args=(started,))
    child.start()
    try:
        assert started.wait(30)
        store.close()
        with ConversationStore.open(workspace) as again:  # the child's copy was closed
            assert not again.read_only
    finally:
        child.kill()
        child.join(10)
