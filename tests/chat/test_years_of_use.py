"""Years of use: an exchange, a listing and a search touch O(1) transcripts.

Counting work, not timing it: every ``stat`` and ``open`` of a transcript is
counted while the user sends a message, the sidebar is listed and a search
runs in a workspace of 2,000 conversations. The search index is real SQLite
FTS5 on disk, brought up to date from real appended transcript lines.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from offyai_tui.chat import ConversationStore
from offyai_tui.chat.listing import INDEX_NAME
from offyai_tui.chat.search_index import DB_NAME, SearchCancelled
from offyai_tui.settings.workspace import Workspace
from tests.many_chats import write_conversations

COUNT = 2000


class Touches:
    """Which transcripts were stat'ed or opened (by path), through any API."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chats: Path) -> None:
        self.paths: list[str] = []
        chats_str = str(chats)
        real_stat, real_open, real_os_open = os.stat, Path.open, os.open

        def note(path: object) -> None:
            text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
            if text.startswith(chats_str) and text.endswith(".jsonl"):
                self.paths.append(text)

        def stat(path, *args, **kwargs):
            note(path)
            return real_stat(path, *args, **kwargs)

        def path_open(self_, *args, **kwargs):
            note(self_)
            return real_open(self_, *args, **kwargs)

        def os_open(path, *args, **kwargs):
            note(path)
            return real_os_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "stat", stat)
        monkeypatch.setattr(Path, "open", path_open)
        monkeypatch.setattr(os, "open", os_open)

    @property
    def distinct(self) -> set[str]:
        return set(self.paths)


@pytest.fixture
def big(workspace: Workspace) -> list[str]:
    return write_conversations(workspace.chats_dir, COUNT, {7: "zanzibarite"})


def test_an_exchange_touches_one_transcript_not_all(big, workspace, monkeypatch) -> None:
    with ConversationStore.open(workspace) as store:
        assert len(store.list()) == COUNT  # the one full listing (at startup, in a thread)
        store.build_search_index()
        index_file = workspace.chats_dir / INDEX_NAME
        before = index_file.stat().st_mtime_ns, index_file.stat().st_ino
        touches = Touches(monkeypatch, workspace.chats_dir)
        conv = store.load(big[100])
        conv.add_user("a new question about zanzibarite")
        listing = store.list()
        hits = store.search("zanzibarite")
        monkeypatch.undo()
        assert listing[0].id == big[100] and listing[0].messages == 5
        assert [h.conversation_id for h in hits] == [big[100], big[7]]
        assert touches.distinct == {str(store.path_for(big[100]))}, len(touches.distinct)
        # The listing cache is not rewritten (nor fsynced) per exchange: on close.
        assert (index_file.stat().st_mtime_ns, index_file.stat().st_ino) == before
    reopened = ConversationStore(workspace, lock=None)
    assert reopened.list()[0].messages == 5


def test_search_finds_a_word_appended_after_the_index_was_built(store, workspace) -> None:
    ids = write_conversations(workspace.chats_dir, 50)
    store.build_search_index()
    built = store.search_index.indexed
    assert built == 50
    conv = store.load(ids[3])
    conv.add_user("Die Übergrößenträger kommen morgen")
    hits = store.search("übergrößenTRÄGER")
    assert [(h.conversation_id, h.role) for h in hits] == [(ids[3], "user")]
    assert "Übergrößenträger" in hits[0].snippet
    # Only the new lines were read and indexed: no transcript was reindexed.
    assert store.search_index.indexed == built and store.search_index.appended == 1
    assert [h.conversation_id for h in store.search("ÜB")] == [ids[3]]  # short, non-ASCII
    assert store.search("größenzzz") == []
    # An edit changes what is shown: that one conversation is reindexed.
    conv.edit_message(conv.messages[-1].id, "nothing to see")
    assert store.search("übergrößen") == []
    assert store.search_index.indexed == built + 1


def test_hits_come_newest_conversation_first(store, workspace) -> None:
    ids = write_conversations(workspace.chats_dir, 30)
    store.build_search_index()
    hits = store.search("tomatoes", limit=6)  # in both answers of each conversation
    newest = list(reversed(ids))[:3]
    assert [h.conversation_id for h in hits] == [c for c in newest for _ in range(2)]
    assert [h.message_id for h in hits[:2]] == ["m1", "m3"]  # in conversation order
    store.load(ids[0]).add_user("tomatoes again")
    assert store.search("tomatoes", limit=1)[0].conversation_id == ids[0]


@pytest.mark.parametrize("damage", ["garbage", "missing", "old version"])
def test_a_damaged_search_index_is_rebuilt(workspace, damage) -> None:
    ids = write_conversations(workspace.chats_dir, 20, {5: "zanzibarite"})
    with ConversationStore.open(workspace) as store:
        store.build_search_index()
    db = workspace.chats_dir / DB_NAME
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "missing":
        db.unlink()
    else:
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE meta SET value='0' WHERE key='v'")
    with ConversationStore.open(workspace) as store:
        assert [h.conversation_id for h in store.search("zanzibarite")] == [ids[5]]
        store.build_search_index()
        assert store.search_index.stale({}) == []
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM convs").fetchone() == (20,)
    for path in workspace.chats_dir.glob(f"{DB_NAME}*"):  # with its WAL files
        assert os.stat(path).st_mode & 0o777 == 0o600, path


def test_a_read_only_instance_searches_without_writing(workspace) -> None:
    ids = write_conversations(workspace.chats_dir, 10, {2: "zanzibarite"})
    with ConversationStore.open(workspace) as store:
        second = ConversationStore.open(workspace, read_only_fallback=True)
        assert second.read_only
        assert [h.conversation_id for h in second.search("zanzibarite")] == [ids[2]]
        assert not (workspace.chats_dir / DB_NAME).exists()  # no index yet: files were read
        store.build_search_index()
        assert [h.conversation_id for h in second.search("zanzibarite")] == [ids[2]]
        second.close()


def test_a_cancelled_search_stops(store, workspace) -> None:
    write_conversations(workspace.chats_dir, 20)
    store.build_search_index()
    with pytest.raises(SearchCancelled):
        store.search("tomatoes", cancelled=lambda: True)


def test_a_search_reading_files_stops_when_cancelled(workspace) -> None:
    write_conversations(workspace.chats_dir, 200)
    store = ConversationStore(workspace, lock=None)  # read-only, no index yet: reads files
    polls: list[int] = []

    def cancelled() -> bool:
        polls.append(1)
        return len(polls) > 5

    with pytest.raises(SearchCancelled):
        store.search("tomatoes", cancelled=cancelled)
    assert len(polls) < 20  # stopped after a few files, not all 200
