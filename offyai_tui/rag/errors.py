"""Errors of the document pipeline: one readable line each, with a short title."""

from __future__ import annotations


class RagError(Exception):
    """Base class: ``str(err)`` is one line for users, ``title`` a short heading."""

    title = "Documents error"


class IndexModelMismatch(RagError):
    """The index was built with another embedding model; its vectors cannot be mixed."""

    title = "Index built with another model"

    def __init__(self, stored: str, wanted: str) -> None:
        super().__init__(
            f"the document index was built with {stored}, not {wanted}; "
            "re-index to re-embed every chunk with the new model (offyai index, or F5 on the "
            "Documents screen) or set rag.embedding_model back"
        )
        self.stored = stored
        self.wanted = wanted


class IndexBusy(RagError):
    """Another process is writing the same index."""

    title = "Indexing already running"


class IndexCorrupt(RagError):
    """Index files disagree or cannot be read; rebuilding from the documents fixes it."""

    title = "Document index damaged"


class RemoteEmbeddingRefused(RagError):
    """Documents would leave the machine without the workspace's opt-in for that host."""

    title = "Remote engine refused"
