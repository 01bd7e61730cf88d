"""Documents: chat with your files, privately (headless; no Textual here).

Pipeline: ``walk`` (paths -> files) -> ``loaders`` (file -> blocks with line or
page positions) -> ``chunker`` (blocks -> token-sized chunks with heading
paths) -> ``embedder`` (any engine's ``embed``) -> ``index`` (FAISS + SQLite per
workspace) -> ``retriever`` (hybrid search -> numbered sources) -> ``prompt``.

API for the CLI and the Documents screen::

    from offyai_tui.rag import Documents, index_paths, retrieve, remove_paths, list_documents
    from offyai_tui.rag import list_roots, throttle_progress

    # One-shot helpers (offyai index PATH... / offyai ask --docs "question")
    report = await index_paths(workspace, engine, settings, ["~/notes"], progress=print)
    print(report.summary())                 # "3 added, 0 updated, ... in 4.2 s"
    for skip in report.skipped: print(skip)  # "/x/a.pdf: encrypted PDF: a password is required"
    retrieval = await retrieve(workspace, engine, settings, "question", budget_tokens=1500)
    for s in retrieval.sources: print(f"[{s.number}] {s.label}")  # notes.md > Setup, lines 4-9
    messages = augment(messages, retrieval.sources)                 # numbered, cite-as-[n] prompt

    # Long-lived (the screen): one object per workspace, shared with the chat
    docs = Documents(workspace, engine, settings)
    report = await docs.add(paths, progress=callback)  # IndexProgress: phase, files_done/total,
    docs.cancel()  # -> bool, works at any moment      #   chunks_done(_total), bytes_done(_total),
                                                       #   chunks_per_s,
    await docs.refresh(progress=callback)              #   eta_s, current, skipped, finished
    roots = await docs.roots()                         # what add() was given, kept across restarts
    await docs.remove([path])                          # a folder removes everything under it
    rows = await docs.documents()                      # DocumentRecord: path, kind, lines, pages,
    retrieval = await docs.retrieve(query, top_k, budget_tokens)  # chunks, size, sha256,
    await docs.reembed()                               #   indexed_at, status, reason
    async for item in Indexer(...).events(paths): ...  # IndexProgress..., then IndexReport
    callback = throttle_progress(repaint, 0.1)         # phase changes and the end always pass
    docs.close()

Behaviour worth knowing:

- Unchanged files (same SHA-256) are skipped; files that disappeared from an
  indexed folder are removed; bad files are skipped with a one-line reason and
  listed by ``documents()`` with status ``skipped`` (walk skips too: unsupported
  types, symlink loops, unreadable folders).
- The files and folders given to ``add`` are saved as roots in the index;
  ``refresh()`` (or ``add([])``) walks them again after a restart and finds new
  files. A path removed from inside a root stays out until it is added again.
- ``cancel()`` is remembered for the whole run, even before the embedding
  model has started; the first snapshot (``scanning``) is sent at once and the
  last (``done``/``cancelled``) carries the run's final counts.
- ``rag.embedding_model`` names the embedding model on any engine (empty: the
  engine's default; llama.cpp: ``llamacpp.embedding_model``, then MiniLM).
- ``cancel()`` stops at once (the batch being embedded is dropped). A cancelled
  or killed run keeps the files it finished; the index on disk is always a
  committed state (see ``index.py``).
- Text files over 1 MB are streamed with bounded memory and committed in
  batches; one stopped part-way is listed as ``partial`` (what it has is
  searchable) and the next run goes on from there (see ``bigfile.py``).
- The index records its embedding model; ``retrieve`` with another model falls
  back to keyword search and says so in ``Retrieval.note``; ``add``/``reembed``
  re-embed every stored chunk with the new model before adding anything.
- ``Retrieval.to_dict()`` / ``from_dict()`` store retrievals in transcripts.
- Errors: :mod:`offyai_tui.rag.errors` (``RagError`` family, ``title`` + one line).
"""

from __future__ import annotations

from offyai_tui.rag.documents import Chunk, Skipped
from offyai_tui.rag.errors import (
    IndexBusy,
    IndexCorrupt,
    IndexModelMismatch,
    RagError,
    RemoteEmbeddingRefused,
)
from offyai_tui.rag.index import DocumentRecord
from offyai_tui.rag.indexer import Indexer, IndexProgress, IndexReport, throttle_progress
from offyai_tui.rag.prompt import augment, augmented_prompt, cited_numbers
from offyai_tui.rag.retriever import Retrieval, Source
from offyai_tui.rag.service import (
    Documents,
    index_paths,
    list_documents,
    list_roots,
    remove_paths,
    retrieve,
)

__all__ = [
    "Chunk",
    "DocumentRecord",
    "Documents",
    "IndexBusy",
    "IndexCorrupt",
    "IndexModelMismatch",
    "IndexProgress",
    "IndexReport",
    "Indexer",
    "RagError",
    "RemoteEmbeddingRefused",
    "Retrieval",
    "Skipped",
    "Source",
    "augment",
    "augmented_prompt",
    "cited_numbers",
    "index_paths",
    "list_documents",
    "list_roots",
    "remove_paths",
    "retrieve",
    "throttle_progress",
]
