"""A full-text index over the transcripts (SQLite FTS5), so search never reads them all.

``chats/.search.sqlite3`` (0600) holds the text of every message on each
conversation's *current branch*: what the user sees, as before. Variants on
other branches (a regenerated answer, an edited question) are not searched;
showing a variant writes a ``shown`` event, which reindexes that conversation
with the new branch.

Kept up to date on append: the store calls :meth:`SearchIndex.touched` after
each write, and the next search brings just those conversations up to date.
Most writes are new messages on the current branch: their lines are read from
where the last pass stopped and inserted. Anything else (an edit, a delete,
a ``shown``, a torn or hand-written line) reindexes that one conversation from
its transcript. At the first search each file's size, mtime and inode from the
listing are compared with what the index recorded, so files changed while the
app was not running are reindexed too.

It is a cache, never the only copy: a missing, corrupt or older-version file is
deleted and rebuilt; each conversation is indexed in one transaction (WAL), so
a crash leaves each conversation either indexed as it was or marked stale.
Conversations not indexed yet (a first build of years of chats runs in the
background) are searched the old way, by reading their files, so results are
whole from the first search.

Matching is a case-insensitive substring, as before: FTS5's ``trigram``
tokenizer answers queries of three characters or more from the index, non-ASCII
included; shorter ones scan the stored text in SQLite. A search can be
cancelled: ``cancelled`` is polled by SQLite's progress handler.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from offyai_tui.chat.listing import IndexEntry
from offyai_tui.chat.records import ConversationSummary, SearchHit
from offyai_tui.chat.search import THINKING_ROLE, search_files, snippet
from offyai_tui.chat.transcript import parse_transcript

DB_NAME = ".search.sqlite3"
SCHEMA_VERSION = "2"
"""2: an answer's reasoning is a row of its own (role ``thinking``)."""
BATCH = 50
"""Conversations indexed per transaction by :meth:`SearchIndex.build`."""
BATCH_PAUSE_S = 0.02
"""Pause between batches of a background build, so the screen keeps its frames."""
_FAST_EVENTS = frozenset({"message", "params", "mode", "title"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS convs(
    conv TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER,
    scanned INTEGER, leaf TEXT, seq INTEGER);
CREATE TABLE IF NOT EXISTS rows(
    id INTEGER PRIMARY KEY, conv TEXT NOT NULL, msg TEXT, role TEXT, seq INTEGER);
CREATE INDEX IF NOT EXISTS rows_conv ON rows(conv);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(content, tokenize='trigram');
"""


class SearchCancelled(Exception):
    """A newer query replaced this one."""


class SearchIndex:
    """The workspace's search index; every method is safe to call from any thread."""

    def __init__(self, chats: Path, *, read_only: bool = False) -> None:
        self.path = chats / DB_NAME
        self.read_only = read_only
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._known: dict[str, tuple[int, int, int]] | None = None
        """conv -> (size, mtime_ns, inode) as indexed."""
        self._dirty: set[str] = set()
        self._closed = False
        self.indexed = 0
        """Conversations (re)indexed from their transcripts: tests count work with it."""
        self.appended = 0
        """Conversations brought up to date by reading only their new lines."""

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the file; a build still running in a thread stops at its next batch."""
        with self._lock:
            self._closed = True
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
            self._db, self._known = None, None

    def touched(self, conv_id: str) -> None:
        with self._lock:
            self._dirty.add(conv_id)

    def _open(self) -> sqlite3.Connection | None:
        """The connection, creating or rebuilding the file as needed; None if unusable."""
        if self._db is not None:
            return self._db
        if self._closed:
            return None
        if self.read_only:
            if not self.path.is_file():
                return None
            try:
                db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False)
                self._known = _load_known(db)
            except sqlite3.Error:
                return None
            self._db = db
            return db
        for attempt in (0, 1):
            try:
                db = self._connect()
                self._known = _load_known(db)
                self._db = db
                return db
            except sqlite3.DatabaseError:
                if attempt:
                    return None
                self._discard()
        return None

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = None
            with contextlib.suppress(sqlite3.OperationalError):
                row = db.execute("SELECT value FROM meta WHERE key='v'").fetchone()
                version = row[0] if row else None
            if version not in (None, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"search index version {version}")
            db.executescript(_SCHEMA)
            db.execute("INSERT OR REPLACE INTO meta VALUES('v', ?)", (SCHEMA_VERSION,))
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _discard(self) -> None:
        """Delete a corrupt or outdated index (with its WAL files); it is rebuilt."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db, self._known = None, None
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")

    # --------------------------------------------------------------- syncing

    def stale(self, entries: dict[str, IndexEntry]) -> list[str]:
        """Conversations whose index rows do not match their transcript (or none yet)."""
        with self._lock:
            if self._open() is None or self._known is None:
                return list(entries)
            known = self._known
            out = [c for c, e in entries.items() if known.get(c) != (e.size, e.mtime_ns, e.inode)]
            out += [c for c in self._dirty if c not in entries and c in known]
            return out

    def build(self, entries: dict[str, IndexEntry], path_for: Callable[[str], Path],
              cancelled: Callable[[], bool] = lambda: False) -> int:
        """Index every stale conversation, ``BATCH`` per transaction; how many were done.

        Runs in the background at startup; a search meanwhile waits for one batch at most.
        """
        if self.read_only:
            return 0
        todo = sorted(self.stale(entries), key=lambda c: _mtime(entries, c))
        done = 0
        for start in range(0, len(todo), BATCH):
            if cancelled():
                break
            with self._lock:
                self._sync(todo[start : start + BATCH], entries, path_for)
            done += len(todo[start : start + BATCH])
            time.sleep(BATCH_PAUSE_S)  # parsing holds the GIL: let the UI's loop run
        return done

    def _sync(self, conv_ids: Iterable[str], entries: dict[str, IndexEntry],
              path_for: Callable[[str], Path]) -> None:
        db = self._open()
        if db is None or self._known is None:
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            for conv_id in conv_ids:
                entry = entries.get(conv_id)
                if entry is None:
                    _delete(db, conv_id)
                    self._known.pop(conv_id, None)
                elif self._known.get(conv_id) != (entry.size, entry.mtime_ns, entry.inode):
                    self._update(db, conv_id, entry, path_for(conv_id))
                self._dirty.discard(conv_id)
            db.execute("COMMIT")
        except sqlite3.DatabaseError:
            self._discard()  # corrupt under us: rebuilt from the transcripts next time
        except OSError:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")

    def _update(self, db: sqlite3.Connection, conv_id: str, entry: IndexEntry,
                path: Path) -> None:
        assert self._known is not None
        row = db.execute("SELECT scanned, leaf, seq, inode FROM convs WHERE conv=?",
                         (conv_id,)).fetchone()
        with path.open("rb") as handle:
            if row and row[3] == entry.inode and _append_only(db, conv_id, handle, row):
                self.appended += 1
            else:
                handle.seek(0)
                data = handle.read()
                _reindex(db, conv_id, data)
                self.indexed += 1
        db.execute("UPDATE convs SET size=?, mtime_ns=?, inode=? WHERE conv=?",
                   (entry.size, entry.mtime_ns, entry.inode, conv_id))
        self._known[conv_id] = (entry.size, entry.mtime_ns, entry.inode)

    # ------------------------------------------------------------- searching

    def search(self, summaries: list[ConversationSummary], entries: dict[str, IndexEntry],
               path_for: Callable[[str], Path], query: str, limit: int = 100,
               cancelled: Callable[[], bool] | None = None) -> list[SearchHit]:
        """Hits newest conversation first, one per matching message, at most ``limit``."""
        needle = query.strip()
        if not needle:
            return []
        check = cancelled or (lambda: False)
        with self._lock:
            if not self.read_only and self._dirty:
                self._sync(sorted(self._dirty, key=lambda c: _mtime(entries, c)), entries,
                           path_for)
            stale = set(self.stale(entries))
            db = self._open()
            found: list[tuple[str, int, SearchHit]] = []
            if db is not None:
                found = self._query(db, needle, summaries, stale, limit, check)
        if check():
            raise SearchCancelled
        order = {s.id: i for i, s in enumerate(summaries)}
        scanned = search_files(
            ((s.id, s.title, path_for(s.id)) for s in summaries if s.id in stale), needle, limit,
            check)
        if check():
            raise SearchCancelled
        found += [(h.conversation_id, i, h) for i, h in enumerate(scanned)]
        found.sort(key=lambda item: (order.get(item[0], len(order)), item[1]))
        return [hit for _, _, hit in found[:limit]]

    def _query(self, db: sqlite3.Connection, needle: str, summaries: list[ConversationSummary],
               stale: set[str], limit: int,
               cancelled: Callable[[], bool]) -> list[tuple[str, int, SearchHit]]:
        """Newest rows first (rowids follow recency, see :func:`_move_to_top`), in pages."""
        titles = {s.id: s.title for s in summaries}
        rank = {s.id: i for i, s in enumerate(summaries)}
        pattern = re.compile(re.escape(needle), re.IGNORECASE)
        if len(needle) >= 3:
            where, args = "texts MATCH ?", ['"' + needle.replace('"', '""') + '"']
        else:  # too short for trigrams: LIKE (ASCII case-insensitive) per case variant
            args = [f"%{_like_escape(v)}%" for v in _case_variants(needle)]
            where = " OR ".join(["content LIKE ? ESCAPE '\\'"] * len(args))
        page = max(limit * 2, 50)
        out: list[tuple[str, int, SearchHit]] = []
        seen: set[tuple[str, str]] = set()
        below: int | None = None
        db.set_progress_handler(lambda: 1 if cancelled() else 0, 2000)
        try:
            while len(out) < limit:
                bound = "" if below is None else f" AND rowid < {below}"
                batch = db.execute(
                    f"SELECT rowid, content FROM texts WHERE ({where}){bound} "
                    f"ORDER BY rowid DESC LIMIT {page}", args).fetchall()
                if not batch:
                    break
                ids = ",".join(str(rowid) for rowid, _ in batch)
                meta = {r[0]: r[1:] for r in db.execute(
                    f"SELECT id, conv, msg, role, seq FROM rows WHERE id IN ({ids})")}
                for rowid, text in batch:
                    conv_id, msg_id, role, seq = meta.get(rowid, ("", "", "", 0))
                    match = pattern.search(text)
                    if conv_id not in rank or conv_id in stale or match is None:
                        continue  # re decides (the tokenizer folds case a little differently)
                    if (conv_id, msg_id) in seen:
                        continue  # one hit per message, its reasoning or its text
                    seen.add((conv_id, msg_id))
                    hit = SearchHit(conv_id, titles.get(conv_id, ""), msg_id, role,
                                    snippet(text, match.start(), match.end()), match.start())
                    out.append((conv_id, seq, hit))
                below = batch[-1][0]
                if len(batch) < page:
                    break
        except sqlite3.OperationalError as exc:
            if cancelled():
                raise SearchCancelled from exc
            raise
        finally:
            db.set_progress_handler(None, 0)
        out.sort(key=lambda item: (rank[item[0]], item[1]))
        return out[:limit]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _case_variants(needle: str) -> list[str]:
    """Spellings of a short needle differing in case (LIKE folds ASCII only)."""
    variants = [""]
    for char in needle:
        forms = {char, char.lower(), char.upper()} if not char.isascii() else {char}
        variants = [v + f for v in variants for f in sorted(forms)]
    return variants[:16]


def _mtime(entries: dict[str, IndexEntry], conv_id: str) -> int:
    entry = entries.get(conv_id)
    return entry.mtime_ns if entry is not None else 0


def _load_known(db: sqlite3.Connection) -> dict[str, tuple[int, int, int]]:
    rows = db.execute("SELECT conv, size, mtime_ns, inode FROM convs").fetchall()
    return {conv: (size, mtime, inode) for conv, size, mtime, inode in rows}


def _delete(db: sqlite3.Connection, conv_id: str) -> None:
    db.execute("DELETE FROM texts WHERE rowid IN (SELECT id FROM rows WHERE conv=?)", (conv_id,))
    db.execute("DELETE FROM rows WHERE conv=?", (conv_id,))
    db.execute("DELETE FROM convs WHERE conv=?", (conv_id,))


def _insert(db: sqlite3.Connection, conv_id: str, seq: int, msg_id: str, role: str,
            content: str) -> None:
    cursor = db.execute("INSERT INTO rows(conv, msg, role, seq) VALUES(?,?,?,?)",
                        (conv_id, msg_id, role, seq))
    db.execute("INSERT INTO texts(rowid, content) VALUES(?, ?)", (cursor.lastrowid, content))


def _move_to_top(db: sqlite3.Connection, conv_id: str) -> None:
    """Give the conversation's rows the highest rowids: rowid order is recency order.

    That lets a search read the newest matches first and stop after a page,
    whatever the number of matches in older conversations.
    """
    rows = db.execute(
        "SELECT r.msg, r.role, r.seq, t.content FROM rows r JOIN texts t ON t.rowid = r.id "
        "WHERE r.conv=? ORDER BY r.seq, r.id", (conv_id,)).fetchall()
    db.execute("DELETE FROM texts WHERE rowid IN (SELECT id FROM rows WHERE conv=?)", (conv_id,))
    db.execute("DELETE FROM rows WHERE conv=?", (conv_id,))
    for msg_id, role, seq, content in rows:
        _insert(db, conv_id, seq, msg_id, role, content)


def _reindex(db: sqlite3.Connection, conv_id: str, data: bytes) -> None:
    """Replace the conversation's rows with its current branch, read from ``data``."""
    _delete(db, conv_id)
    parsed = parse_transcript(data, conv_id)
    for seq, message in enumerate(parsed.messages):
        if message.thinking:  # first: newer rows are read first, and text comes before it
            _insert(db, conv_id, seq, message.id, THINKING_ROLE, message.thinking)
        _insert(db, conv_id, seq, message.id, message.role, message.content)
    leaf = parsed.messages[-1].id if parsed.messages else None
    scanned = data.rfind(b"\n") + 1
    db.execute("INSERT INTO convs(conv, scanned, leaf, seq) VALUES(?,?,?,?)",
               (conv_id, scanned, leaf, len(parsed.messages)))


def _append_only(db: sqlite3.Connection, conv_id: str, handle, row: tuple) -> bool:
    """Index the lines after ``scanned`` if they only add messages to the branch's end.

    Returns False (nothing written) for anything else: the caller reindexes.
    """
    scanned, leaf, seq, _ = row
    handle.seek(scanned)
    data = handle.read()
    end = data.rfind(b"\n") + 1
    new: list[dict] = []
    for line in data[:end].split(b"\n"):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message":
            if event.get("parent_id") != leaf or not isinstance(event.get("content"), str):
                return False
            new.append(event)
            leaf = event.get("id")
        elif kind == "checkpoint":
            continue  # a streaming answer: its final message line follows (else: reindex)
        elif kind not in _FAST_EVENTS:
            return False
    pending = {e.get("id") for e in new}
    if b'"type": "checkpoint"' in data[:end] and any(
        json.loads(line).get("id") not in pending
        for line in data[:end].split(b"\n") if b'"type": "checkpoint"' in line
    ):
        return False  # an answer cut off mid-stream: the full replay recovers its text
    _move_to_top(db, conv_id)
    for event in new:
        if isinstance(event.get("thinking"), str) and event["thinking"]:
            _insert(db, conv_id, seq, str(event.get("id")), THINKING_ROLE, event["thinking"])
        _insert(db, conv_id, seq, str(event.get("id")), str(event.get("role")), event["content"])
        seq += 1
    db.execute("UPDATE convs SET scanned=?, leaf=?, seq=? WHERE conv=?",
               (scanned + end, leaf, seq, conv_id))
    return True

