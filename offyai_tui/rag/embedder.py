"""Embeddings through any engine's ``embed``: batched, truncated, normalized.

Engines differ (llama.cpp returns normalized vectors, Ollama and OpenAI-style
servers may not), so vectors are normalized here: the index relies on inner
product being cosine similarity. Texts are cut to the model's window before
they are sent; if an engine still refuses a batch, it is split down to single
texts, then each text is halved, so one odd chunk cannot fail a whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError, EngineUnavailable, WorkerCrashed
from offyai_tui.rag import tokens
from offyai_tui.rag.errors import RemoteEmbeddingRefused
from offyai_tui.settings import privacy
from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace

BUNDLED_EMBEDDER = "all-minilm-l6-v2"

# Known windows, in the model's own tokens. The budget below is in cl100k tokens,
# which are on average larger than WordPiece pieces: 0.75 leaves room for that.
_WINDOWS = {"all-minilm": 512, "minilm": 512, "bge-small": 512, "bge-base": 512,
            "nomic-embed": 8192, "mxbai-embed": 512, "snowflake-arctic-embed": 512}


@dataclass(frozen=True)
class EmbeddingIdentity:
    """What produced a set of vectors: vectors of different identities never mix."""

    engine: str
    model: str
    dim: int

    def describe(self) -> str:
        return f"{self.model} via {self.engine} ({self.dim} dimensions)"


def input_token_limit(model: str) -> int:
    """Safe input size in cl100k tokens for ``model`` (unknown models: MiniLM's)."""
    lowered = model.lower()
    window = next((size for key, size in _WINDOWS.items() if key in lowered), 512)
    return int(min(window, 8192) * 0.75)


async def resolve_model(engine: Engine, settings: Settings) -> str:
    """The embedding model to use with ``engine``.

    ``rag.embedding_model`` wins on every engine. Without it, llama.cpp uses
    ``llamacpp.embedding_model`` or the bundled MiniLM, and other engines the
    first installed model that reports an embedding capability.
    """
    if settings.rag.embedding_model:
        return settings.rag.embedding_model
    if engine.kind == "llamacpp":
        return settings.llamacpp.embedding_model or BUNDLED_EMBEDDER
    for info in await engine.list_models():
        if {"embed", "embedding", "embeddings"} & set(info.capabilities):
            return info.name
    raise EngineError(
        f"{engine.label} has no embedding model installed (e.g. `ollama pull all-minilm`), "
        "or name one with rag.embedding_model"
    )


class Embedder:
    """Turns texts into normalized float32 vectors with one engine and model."""

    def __init__(
        self,
        engine: Engine,
        model: str,
        *,
        batch_size: int = 32,
        max_input_tokens: int | None = None,
    ) -> None:
        self.engine = engine
        self.model = model
        self.batch_size = max(1, batch_size)
        self.max_input_tokens = max_input_tokens or input_token_limit(model)
        self.dim: int | None = None

    @classmethod
    async def for_engine(
        cls,
        engine: Engine,
        settings: Settings,
        *,
        batch_size: int = 32,
        workspace: Workspace | None = None,
        remote_this_run: bool = False,
    ) -> Embedder:
        """An embedder for ``engine``, refusing a remote one without the opt-in.

        The texts it embeds are the workspace's documents, so a remote engine
        needs the workspace's opt-in for its host (:func:`offyai_tui.settings.privacy.check`)
        or ``remote_this_run``; without a workspace a remote engine is refused.

        Raises:
            RemoteEmbeddingRefused: the engine is remote and nothing allowed it.
        """
        dest = privacy.destination(engine)
        if dest is not None and not remote_this_run:
            if workspace is None:
                raise RemoteEmbeddingRefused(
                    f"documents not sent: {dest.describe()} is not on this machine"
                )
            if why := privacy.check(engine, workspace):
                raise RemoteEmbeddingRefused(privacy.refusal(why, "nothing was sent there", (
                    f"allow it when the chat asks, or add {privacy.CLI_FLAG} to offyai "
                    "index or ask")))
        return cls(engine, await resolve_model(engine, settings), batch_size=batch_size)

    @property
    def identity(self) -> EmbeddingIdentity:
        """Known after the first call (the dimension comes from the model)."""
        if self.dim is None:
            raise RuntimeError("embedding dimension unknown before the first embed call")
        return EmbeddingIdentity(self.engine.kind, self.model, self.dim)

    async def probe(self) -> EmbeddingIdentity:
        """Embed one word to learn the dimension (and fail early if the engine cannot)."""
        if self.dim is None:
            await self.embed(["dimension probe"])
        return self.identity

    async def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Vectors for ``texts``, shape ``(len(texts), dim)``, each of unit length.

        Args:
            texts: The texts; each is cut to the model's window first.
            progress: Called with the number of texts done after each batch.
        """
        prepared = [tokens.truncate(t, self.max_input_tokens) or " " for t in texts]
        rows: list[np.ndarray] = []
        for start in range(0, len(prepared), self.batch_size):
            batch = prepared[start : start + self.batch_size]
            rows.append(await self._embed_batch(batch))
            if progress:
                progress(min(start + len(batch), len(prepared)))
        if not rows:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return np.vstack(rows)

    async def embed_query(self, text: str) -> np.ndarray:
        return (await self.embed([text]))[0]

    async def _embed_batch(self, batch: list[str]) -> np.ndarray:
        try:
            raw = await self.engine.embed(batch, model=self.model)
        except (EngineUnavailable, WorkerCrashed):
            raise
        except EngineError:
            if len(batch) > 1:
                half = len(batch) // 2
                first = await self._embed_batch(batch[:half])
                return np.vstack([first, await self._embed_batch(batch[half:])])
            shorter = tokens.truncate(batch[0], tokens.count(batch[0]) // 2)
            if not shorter.strip() or shorter == batch[0]:
                raise
            return await self._embed_batch([shorter])
        return self._normalize(raw, len(batch))

    def _normalize(self, raw: list[list[float]], expected: int) -> np.ndarray:
        try:
            vectors = np.asarray(raw, dtype=np.float32)
        except (TypeError, ValueError):
            raise EngineError(f"{self.engine.label} returned vectors of unequal length") from None
        if vectors.ndim != 2 or vectors.shape[0] != expected or vectors.shape[1] == 0:
            raise EngineError(
                f"{self.engine.label} returned {vectors.shape[0] if vectors.ndim else 0} "
                f"vectors for {expected} texts"
            )
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        elif vectors.shape[1] != self.dim:
            raise EngineError(
                f"{self.model} changed dimension from {self.dim} to {vectors.shape[1]}"
            )
        if not np.isfinite(vectors).all():
            raise EngineError(f"{self.model} returned vectors with NaN or infinite values")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms
