"""The conversations of one workspace: list, create, load, rename, delete, search.

Opening a store takes the workspace lock (see :mod:`offyai_tui.chat.lock`), so
only one app instance writes transcripts at a time. With
``read_only_fallback=True`` a second instance gets a read-only store instead of
an error, and ``store.read_only`` / ``store.lock_holder_pid`` let the UI say so.

Years of use mean thousands of transcripts, so no action touches all of them:
the first :meth:`ConversationStore.list` stats every file once (reusing the
``.index.json`` cache), and after that the store knows which transcripts
changed because every write goes through its writers; a listing rescans only
those. The cache file is rewritten when the first listing changed it and on
:meth:`~ConversationStore.close`, never per exchange (it is a cache: a stale one
is corrected by the next start's stat). Search goes through a SQLite FTS5
index (:mod:`offyai_tui.chat.search_index`) told about the same writes.
"""

from __future__ import annotations

import builtins
import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from offyai_tui.chat.attachments import Attachment, store_attachment
from offyai_tui.chat.conversation import CHECKPOINT_INTERVAL, Conversation
from offyai_tui.chat.errors import ConversationNotFound, ReadOnlyWorkspace, WorkspaceLocked
from offyai_tui.chat.listing import INDEX_NAME, IndexEntry, load_index, save_index, scan
from offyai_tui.chat.lock import WorkspaceLock
from offyai_tui.chat.modes import Mode, ModeCatalog, builtin_catalog
from offyai_tui.chat.records import ConversationSummary, SearchHit, new_conversation_id
from offyai_tui.chat.restore import restore
from offyai_tui.chat.search_index import SearchIndex
from offyai_tui.chat.transcript import TranscriptWriter, read_transcript
from offyai_tui.settings.workspace import Workspace, WorkspaceError, validate_name
from offyai_tui.util.fileio import atomic_write_text

SUFFIX = ".jsonl"


class ConversationStore:
    """Conversations of one workspace; use :meth:`open`, then :meth:`close`."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        lock: WorkspaceLock | None,
        modes: ModeCatalog | None = None,
        lock_holder_pid: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> None:
        self.workspace = workspace
        self.modes = modes or builtin_catalog()
        self.lock_holder_pid = lock_holder_pid
        """Pid of the instance holding the lock when this store is read-only."""
        self.read_only_reason = ""
        """Why the store is read-only when no other instance is the cause (one line
        naming the path, e.g. a read-only file system); set by whoever opened it."""
        self._lock = lock
        self._clock = clock
        self._interval = checkpoint_interval
        self._live: weakref.WeakValueDictionary[str, Conversation] = weakref.WeakValueDictionary()
        self._index: dict[str, IndexEntry] | None = None
        self._listed = False
        """Whether a full listing ran; after it only ``_dirty`` transcripts are rescanned."""
        self._dirty: set[str] = set()
        self._unsaved = False
        """The in-memory listing differs from ``.index.json`` (saved on close)."""
        self._listing = threading.Lock()
        """The first listing may run in a thread while the UI writes."""
        self._summaries: dict[str, ConversationSummary] = {}
        self._sorted: builtins.list[ConversationSummary] | None = None
        """The listing, newest first; re-sorted only after a change."""
        self.search_index = SearchIndex(workspace.chats_dir, read_only=lock is None)

    @classmethod
    def open(
        cls,
        workspace: Workspace,
        *,
        modes: ModeCatalog | None = None,
        read_only: bool = False,
        read_only_fallback: bool = False,
        clock: Callable[[], float] = time.monotonic,
        checkpoint_interval: float = CHECKPOINT_INTERVAL,
    ) -> ConversationStore:
        """Open the workspace's store, taking its lock unless ``read_only``.

        Raises:
            WorkspaceLocked: another instance holds the lock and
                ``read_only_fallback`` is false.
        """
        lock: WorkspaceLock | None = None
        holder: int | None = None
        if not read_only:
            workspace.ensure()
            lock = WorkspaceLock(workspace.root, workspace.name)
            try:
                lock.acquire()
            except WorkspaceLocked as exc:
                if not read_only_fallback:
                    raise
                lock, holder = None, exc.pid
        return cls(
            workspace,
            lock=lock,
            modes=modes,
            lock_holder_pid=holder,
            clock=clock,
            checkpoint_interval=checkpoint_interval,
        )

    @property
    def read_only(self) -> bool:
        return self._lock is None

    @property
    def listed(self) -> bool:
        """Whether the full listing ran (after it, :meth:`list` is cheap)."""
        return self._listed

    def close(self) -> None:
        """Save the listing cache, close the search index, release the lock (idempotent)."""
        if self._lock is not None:
            with self._listing:
                if self._unsaved and self._index is not None:
                    with contextlib.suppress(OSError):
                        save_index(self.workspace.chats_dir / INDEX_NAME, self._index)
                    self._unsaved = False
            self.search_index.close()
            self._lock.release()
        else:
            self.search_index.close()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ paths

    def path_for(self, conv_id: str) -> Path:
        """Transcript path of ``conv_id`` (validated: it cannot leave ``chats/``)."""
        try:
            validate_name(conv_id, "conversation")
        except WorkspaceError as exc:
            raise ConversationNotFound(str(exc)) from None
        return self.workspace.chats_dir / f"{conv_id}{SUFFIX}"

    def exists(self, conv_id: str) -> bool:
        try:
            return self.path_for(conv_id).is_file()
        except ConversationNotFound:
            return False

    # ---------------------------------------------------------------- listing

    def list(self) -> list[ConversationSummary]:
        """Saved conversations, newest first, without parsing whole transcripts.

        The first call stats every transcript; later calls rescan only those
        written through this store since (see the module's docstring).
        """
        with self._listing:
            if not self._listed or self._index is None:
                self._full_listing()
                self._summaries = {c: _summary(c, e) for c, e in self._index.items()}
                self._sorted = None
            elif self._dirty:
                for conv_id in self._rescan(self._dirty):
                    entry = self._index.get(conv_id)
                    if entry is None:
                        self._summaries.pop(conv_id, None)
                    else:
                        self._summaries[conv_id] = _summary(conv_id, entry)
                    self._sorted = None
            self._dirty.clear()
            if self._sorted is None:
                self._sorted = sorted(self._summaries.values(), key=lambda s: (s.updated, s.id),
                                      reverse=True)
            return builtins.list(self._sorted)

    def _full_listing(self) -> None:
        chats = self.workspace.chats_dir
        index_path = chats / INDEX_NAME
        previous = self._index if self._index is not None else load_index(index_path)
        fresh: dict[str, IndexEntry] = {}
        try:
            paths = [p for p in chats.iterdir() if p.suffix == SUFFIX]
        except OSError:
            paths = []
        for path in paths:
            conv_id = path.stem
            try:
                validate_name(conv_id, "conversation")
                fresh[conv_id] = scan(path, previous.get(conv_id))
            except (WorkspaceError, OSError):
                continue
        self._listed = True
        if fresh != previous and not self.read_only:
            with contextlib.suppress(OSError):
                save_index(index_path, fresh)
        self._index = fresh
        self._unsaved = False

    def _rescan(self, conv_ids: set[str]) -> set[str]:
        """Rescan ``conv_ids``; the ones whose entry changed (or that are gone)."""
        assert self._index is not None
        changed = set()
        for conv_id in conv_ids:
            try:
                entry = scan(self.path_for(conv_id), self._index.get(conv_id))
            except (ConversationNotFound, OSError):
                if self._index.pop(conv_id, None) is not None:
                    self._unsaved = True
                    changed.add(conv_id)
                continue
            if entry != self._index.get(conv_id):
                self._index[conv_id] = entry
                self._unsaved = True
                changed.add(conv_id)
        return changed

    def _touched(self, conv_id: str) -> None:
        """A transcript was written (or a write failed): rescan it when next asked."""
        with self._listing:
            self._dirty.add(conv_id)
        self.search_index.touched(conv_id)

    # ----------------------------------------------------------- conversations

    def create(
        self, *, model: str = "", mode: Mode | str | None = None, title: str = ""
    ) -> Conversation:
        """A new conversation; its file appears with the first message."""
        if isinstance(mode, str):
            mode = self.modes.resolve(mode)
        conv_id = new_conversation_id()
        conv = Conversation(
            conv_id,
            writer=self._writer(conv_id),
            modes=self.modes,
            title=" ".join(title.split()),
            model=model,
            mode=mode,
            clock=self._clock,
            checkpoint_interval=self._interval,
            attachments_root=self.workspace.root,
        )
        self._live[conv_id] = conv
        return conv

    def load(self, conv_id: str) -> Conversation:
        """The conversation, from memory if already open (e.g. still streaming)."""
        live = self._live.get(conv_id)
        if live is not None:
            return live
        path = self.path_for(conv_id)
        if not path.is_file():
            raise ConversationNotFound(
                f"no conversation {conv_id!r} in workspace {self.workspace.name!r}"
            )
        data = read_transcript(path)
        conv = restore(
            data,
            writer=self._writer(conv_id),
            modes=self.modes,
            clock=self._clock,
            checkpoint_interval=self._interval,
            attachments_root=self.workspace.root,
        )
        self._live[conv_id] = conv
        return conv

    def attach(self, source: Path | bytes, *, name: str = "") -> Attachment:
        """Store an image once in the workspace's ``attachments/``; pass it to ``add_user``.

        Raises:
            AttachmentError: not an image, too large, unreadable or the disk is full.
            ReadOnlyWorkspace: another instance owns the workspace.
        """
        if self.read_only:
            raise ReadOnlyWorkspace(
                "the workspace is open in another OffyAI instance; nothing was attached"
            )
        return store_attachment(self.workspace.root, source, name=name)

    def rename(self, conv_id: str, title: str) -> None:
        self.load(conv_id).rename(title)

    def delete(self, conv_id: str) -> None:
        """Remove the transcript; an open copy stops saving (its writes raise)."""
        if self.read_only:
            raise ReadOnlyWorkspace(
                "the workspace is open in another OffyAI instance; nothing was deleted"
            )
        path = self.path_for(conv_id)
        live = self._live.pop(conv_id, None)
        if live is not None:
            live._mark_deleted()
        try:
            path.unlink()
        except FileNotFoundError:
            if live is None:
                raise ConversationNotFound(f"no conversation {conv_id!r}") from None
        with self._listing:
            if self._index is not None and self._index.pop(conv_id, None) is not None:
                self._unsaved = True
            self._summaries.pop(conv_id, None)
            self._sorted = None
        self.search_index.touched(conv_id)

    def search(
        self, query: str, limit: int = 100, cancelled: Callable[[], bool] | None = None
    ) -> builtins.list[SearchHit]:
        """Hits across every conversation, newest conversation first.

        Goes through the FTS5 index, first brought up to date with the
        transcripts written since (usually none or one). ``cancelled`` is
        polled while searching: the search screen stops a search once a newer
        key arrives. Raises :class:`~offyai_tui.chat.search_index.SearchCancelled`.
        """
        summaries = self.list()
        with self._listing:
            entries = dict(self._index or {})
        return self.search_index.search(summaries, entries, self.path_for, query, limit,
                                        cancelled)

    def build_search_index(self, cancelled: Callable[[], bool] = lambda: False) -> int:
        """Index the conversations the search index lacks (run in a thread at startup)."""
        self.list()
        with self._listing:
            entries = dict(self._index or {})
        return self.search_index.build(entries, self.path_for, cancelled)

    def export_markdown(self, conv_id: str, dest: Path | None = None) -> Path:
        """Write the conversation as Markdown (0600); default ``<workspace>/exports/``."""
        conv = self.load(conv_id)
        dest = dest or self.workspace.root / "exports" / f"{conv_id}.md"
        atomic_write_text(dest, conv.to_markdown(link_from=dest.parent))
        return dest

    def _writer(self, conv_id: str) -> TranscriptWriter | None:
        if self.read_only:
            return None
        return _NotifyingWriter(self.path_for(conv_id), partial(self._touched, conv_id))


class _NotifyingWriter(TranscriptWriter):
    """A transcript writer that tells the store after every write, failed or not."""

    def __init__(self, path: Path, touched: Callable[[], None]) -> None:
        super().__init__(path)
        self._touched = touched

    def create(self, header: dict[str, Any], events: Iterable[dict[str, Any]] = ()) -> None:
        try:
            super().create(header, events)
        finally:
            self._touched()

    def append(self, *events: dict[str, Any], durable: bool = True) -> None:
        try:
            super().append(*events, durable=durable)
        finally:
            self._touched()


def _summary(conv_id: str, entry: IndexEntry) -> ConversationSummary:
    return ConversationSummary(
        id=conv_id,
        title=entry.title or "Untitled",
        updated=entry.mtime_ns / 1e9,
        messages=entry.count,
        created=entry.created,
    )
