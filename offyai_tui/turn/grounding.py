"""Documents in a turn: passages retrieved for a question before it is sent.

The turn runner calls :func:`ground` when the conversation has documents on.
Retrieval problems never stop the question: an empty index, a damaged index,
an embedding engine that is down or slow, or a remote engine the workspace has
not allowed (the surface asks, :class:`DocumentsAccess`) each become one
line in :attr:`Grounding.note`, and the question goes out without sources. When
the embedder fails, the documents service falls back to keyword search and says
so in ``Retrieval.note``; what that finds is still cited, since it comes from the
same local index.

Only the request carries the augmented prompt (:meth:`Grounding.apply`); the
transcript keeps the user's own words, and the answer keeps its sources and
how they were found (``ChatMessage.sources`` and ``ChatMessage.retrieval``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from offyai_tui.chat import ChatMessage, ContextPlan, ReplyHandle
from offyai_tui.engines.base import Engine, Message

if TYPE_CHECKING:  # the documents pipeline (numpy and the index) loads on the first search
    from offyai_tui.rag.index import DocumentIndex
    from offyai_tui.rag.retriever import Retrieval, Source
    from offyai_tui.rag.service import Documents

RETRIEVAL_TIMEOUT = 120.0
"""Seconds to wait for the search (it may start the embedding model) before
sending the question without sources."""
SHARE = 0.5
"""Largest part of the prompt budget passages may take; the rest keeps history."""
PROMPT_OVERHEAD = 80
PER_SOURCE_OVERHEAD = 24
"""Tokens of the instructions and of each ``[n] file > heading, lines a-b`` label,
which the retriever's budget (chunk text only) does not count."""
MIN_BUDGET = 32

CountFn = Callable[[Message], Awaitable[int]]


class DocumentsAccess(Protocol):
    """How a surface lets a turn reach the workspace's documents.

    The chat screen shares the Documents screen's open index and asks the user
    about a remote engine in a dialog; ``offyai ask`` opens the index for one
    question and answers from the stored consent and ``--allow-remote-docs``.
    """

    docs: Documents
    top_k: int
    how_to_add: str
    """Where the user adds documents, for the note when none are indexed."""

    async def allowed(self, chat: Engine | None, embedding: Engine | None) -> str:
        """``""`` when passages may go to both engines, else one line why not."""
        ...


@dataclass
class Grounding:
    """What the documents gave one question: numbered sources, or why there are none."""

    query: str
    retrieval: Retrieval | None = None
    """``None`` when the search failed or was refused: sent without sources."""
    note: str = ""
    """One line for the sources panel (fallback, failure, nothing matched)."""
    extra_tokens: int = 0
    """What the augmented prompt adds to the question, for the context plan."""

    @property
    def sources(self) -> list[Source]:
        return self.retrieval.sources if self.retrieval is not None else []

    def request(self, messages: Sequence[Message]) -> tuple[Message, ...]:
        """The messages to send: the last user turn augmented when the search ran."""
        if self.retrieval is None:
            return tuple(messages)
        from offyai_tui.rag.prompt import augment

        return tuple(augment(messages, self.retrieval.sources))

    def apply(self, handle: ReplyHandle) -> None:
        """Augment the request of ``handle`` and record the sources on its answer."""
        handle.messages = self.request(handle.messages)
        self.record(handle.message)

    def record(self, message: ChatMessage) -> None:
        """Store the sources and the search facts on ``message`` (they go to the transcript)."""
        if self.retrieval is None:
            message.sources, message.retrieval = [], {"query": self.query, "note": self.note}
            return
        data: dict[str, Any] = self.retrieval.to_dict()
        message.sources = data.pop("sources")
        data["note"] = self.note
        message.retrieval = data


def question_of(messages: Sequence[ChatMessage]) -> str:
    """The latest user message: what the answer being prepared replies to."""
    return next((m.content for m in reversed(messages) if m.role == "user"), "")


async def ground(
    access: DocumentsAccess,
    question: str,
    plan: ContextPlan,
    count: CountFn,
    *,
    engine: Engine | None,
    timeout: float = RETRIEVAL_TIMEOUT,
) -> Grounding:
    """Search the workspace's documents for ``question``; never raises for a search failure.

    A remote engine (answering or embedding) gets nothing before the workspace
    allowed its host (:meth:`DocumentsAccess.allowed`): a refusal sends the
    question without documents.

    Args:
        access: The documents service and the surface's consent question.
        question: The user's words.
        plan: The context plan without passages; it sets the passages' budget.
        count: Token counter of the answering model, to size the augmented prompt.
        engine: The engine that will answer (gets the passages).
        timeout: Seconds before giving up on the search.
    """
    from offyai_tui.rag.errors import RemoteEmbeddingRefused
    from offyai_tui.rag.prompt import augmented_prompt

    docs = access.docs
    if refused := await access.allowed(engine, docs.engine):
        return Grounding(question, note=refused)
    top_k = max(1, access.top_k)
    budget = plan.documents_budget(SHARE, PROMPT_OVERHEAD + PER_SOURCE_OVERHEAD * top_k)
    try:
        grounding = await asyncio.wait_for(
            _search(docs, question, top_k, budget, access.how_to_add), timeout
        )
    except asyncio.TimeoutError:
        grounding = Grounding(question, note=(
            f"documents not searched: no result within {timeout:.0f} s; sent without sources"))
    except RemoteEmbeddingRefused as exc:
        grounding = Grounding(question, note=_one_line(exc))
    except Exception as exc:  # any search failure: the question still goes out
        grounding = Grounding(question, note=(
            f"documents not searched: {_one_line(exc)}; sent without sources"))
    if grounding.retrieval is not None:
        augmented = await count(Message("user", augmented_prompt(question, grounding.sources)))
        plain = await count(Message("user", question))
        grounding.extra_tokens = max(0, augmented - plain)
    return grounding


async def _search(
    docs: Documents, question: str, top_k: int, budget: int, how_to_add: str
) -> Grounding:
    from offyai_tui.rag.errors import RemoteEmbeddingRefused

    # A remote embedding engine is refused before anything is sent to it; the
    # service would otherwise fall back to keywords and hide the refusal.
    try:
        await docs.embedder()
    except RemoteEmbeddingRefused:
        raise
    except Exception:
        pass  # engine down or no model: retrieve() falls back and says why
    index = await docs.index()
    if not await asyncio.to_thread(_chunk_count, index):
        return Grounding(question, note=(
            f"no documents are indexed in this workspace yet ({how_to_add}); "
            "sent without sources"))
    if budget < MIN_BUDGET:
        return Grounding(question, note=(
            "no room for document passages in this context window; sent without sources"))
    retrieval = await docs.retrieve(question, top_k, budget)
    notes = [retrieval.note] if retrieval.note else []
    if not retrieval.sources:
        notes.append("no passage of your documents matched this question")
    return Grounding(question, retrieval, "; ".join(notes))


def _chunk_count(index: DocumentIndex) -> int:
    index.refresh()
    return index.chunk_count()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
