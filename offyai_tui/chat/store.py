"""The conversations of one workspace: list, create, load, rename, delete, search.

Opening a store takes the workspace lock (see :mod:`offyai_tui.chat.lock`), so
only one app instance writes transcripts at a time. With
``read_only_fallback=True`` a second instance gets a read-only store instead of
an error, and ``store.read_only`` / ``store.lock_holder_pid`` let the UI say so.
"""

from __future__ import annotations

import builtins
import contextlib
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from offyai_tui.chat.attachments import Attachment, store_attachment
from offyai_tui.chat.conversation import CHECKPOINT_INTERVAL, Conversation
from offyai_tui.chat.errors import ConversationNotFound, ReadOnlyWorkspace, WorkspaceLocked
from offyai_tui.chat.listing import INDEX_NAME, IndexEntry, load_index, save_index, scan
from offyai_tui.chat.lock import WorkspaceLock
from offyai_tui.chat.modes import Mode, ModeCatalog, builtin_catalog
from offyai_tui.chat.records import ConversationSummary, SearchHit, new_conversation_id
from offyai_tui.chat.search import search_files
from offyai_tui.chat.transcript import TranscriptWriter, read_transcript
from offyai_tui.fileio import atomic_write_text
from offyai_tui.workspace import Workspace, WorkspaceError, validate_name

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

    def close(self) -> None:
        """Release the workspace lock (idempotent)."""
        if self._lock is not None:
            self._lock.release()

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
        """Saved conversations, newest first, without parsing whole transcripts."""
        chats = self.workspace.chats_dir
        index_path = chats / INDEX_NAME
        if self._index is None:
            self._index = load_index(index_path)
        fresh: dict[str, IndexEntry] = {}
        summaries: list[ConversationSummary] = []
        try:
            paths = [p for p in chats.iterdir() if p.suffix == SUFFIX]
        except OSError:
            paths = []
        for path in paths:
            conv_id = path.stem
            try:
                validate_name(conv_id, "conversation")
                entry = scan(path, self._index.get(conv_id))
            except (WorkspaceError, OSError):
                continue
            fresh[conv_id] = entry
            summaries.append(
                ConversationSummary(
                    id=conv_id,
                    title=entry.title or "Untitled",
                    updated=entry.mtime_ns / 1e9,
                    messages=entry.count,
                    created=entry.created,
                )
            )
        if fresh != self._index:
            self._index = fresh
            if not self.read_only:
                with contextlib.suppress(OSError):
                    save_index(index_path, fresh)
        summaries.sort(key=lambda s: (s.updated, s.id), reverse=True)
        return summaries

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
        conv = Conversation.from_transcript(
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
        if self._index is not None:
            self._index.pop(conv_id, None)

    def search(self, query: str, limit: int = 100) -> builtins.list[SearchHit]:
        """Hits across every conversation, newest conversation first."""
        files = [(s.id, s.title, self.path_for(s.id)) for s in self.list()]
        return search_files(files, query, limit)

    def export_markdown(self, conv_id: str, dest: Path | None = None) -> Path:
        """Write the conversation as Markdown (0600); default ``<workspace>/exports/``."""
        conv = self.load(conv_id)
        dest = dest or self.workspace.root / "exports" / f"{conv_id}.md"
        atomic_write_text(dest, conv.to_markdown())
        return dest

    def _writer(self, conv_id: str) -> TranscriptWriter | None:
        return None if self.read_only else TranscriptWriter(self.path_for(conv_id))
