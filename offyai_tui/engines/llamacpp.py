"""The embedded engine: GGUF models run by llama.cpp in a worker process.

Nothing here imports llama-cpp-python. Chat and embeddings each get their own
workers (:mod:`offyai_tui.engines.llamacpp_worker`, :mod:`.llamacpp_pool`), so indexing documents
does not queue behind an answer, and stopping an answer can never take the
embedder down with it. A worker that dies (segfault, abort, kill) ends the
answer in progress with :class:`WorkerCrashed` and the text so far; the next
request starts a new one.

Stop: when the consumer closes or cancels ``stream_chat``, the worker is asked
to cancel; if it has not confirmed within :attr:`LlamaCppEngine.STOP_GRACE_S`
it is killed and replaced lazily, so generation always ends promptly.

Models are the bundled ones plus every ``*.gguf`` in the models dir, described
from their headers without loading them (:mod:`.llamacpp_catalog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timezone
from typing import Any

from offyai_tui.engines import bundled
from offyai_tui.engines.base import (
    ChatEvent,
    ChatOptions,
    Done,
    Engine,
    ErrorEvent,
    Health,
    LoadedModel,
    Message,
    ModelInfo,
    TextDelta,
    ThinkingDelta,
)
from offyai_tui.engines.chat_format import chat_format_for
from offyai_tui.engines.errors import (
    BadModelFile,
    EngineError,
    EngineUnavailable,
    Unsupported,
    WorkerCrashed,
)
from offyai_tui.engines.llamacpp_answer import answer_stats
from offyai_tui.engines.llamacpp_catalog import CatalogEntry, lookup, scan_models, usable_entry
from offyai_tui.engines.llamacpp_client import Request, WorkerSlot, log_path
from offyai_tui.engines.llamacpp_pool import EmbedPool, pool_size
from offyai_tui.engines.llamacpp_vision import chat_payload, drop_projector, projector_users
from offyai_tui.engines.sampling import resolve
from offyai_tui.engines.think_tags import ThinkSplitter
from offyai_tui.engines.thinking import template_kwargs
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings

ENGINE_LABEL = "llama.cpp"
EMBEDDING_CTX = 512
"""Context for embedding models whose header does not say (BERT's own size)."""


def physical_cores() -> int:
    """Physical cores (hyperthreads slow llama.cpp down rather than up)."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:  # pragma: no cover - psutil is a dependency
        cores = None
    return max(1, cores or (os.cpu_count() or 2) // 2)


def default_threads(cores: int | None = None) -> int:
    """Generation threads by default: every physical core but one.

    llama.cpp's threads meet at a barrier after every step; when the UI (which
    renders while tokens stream) takes a core from one of them, all of them
    wait. On two cores that oversubscription was measured to drop generation
    from ~60 to ~4 tokens/s, so one core is left to the app and the terminal.
    """
    cores = physical_cores() if cores is None else cores
    return max(1, cores - 1)


def parse_keep_alive(value: str | float | None, default: float) -> float:
    """Seconds from ``"5m"``, ``"30s"``, ``"1h"``, ``"0"`` or ``"-1"`` (forever: negative)."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", value)
    if not match:
        return default
    number = float(match.group(1))
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]
    return number * scale


class LlamaCppEngine(Engine):
    """llama.cpp through llama-cpp-python, in worker processes."""

    kind = "llamacpp"
    IMPLEMENTS_EMBED = True
    IMPLEMENTS_UNLOAD = True
    IMPLEMENTS_LOAD = True
    IMPLEMENTS_COUNT_TOKENS = True
    IMPLEMENTS_DELETE = True
    IMPLEMENTS_CONTINUE = True
    """A request ending in the assistant's partial answer grows it (:mod:`.llamacpp_continue`);
    a model run in a named chat format refuses with ``Unsupported``."""
    STOP_GRACE_S = 0.15
    """How long a cancelled request may take to confirm before its worker is killed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._chat = WorkerSlot()
        self._embedder = WorkerSlot()
        self._pool = EmbedPool(self._embedder)  # more embedding workers: llamacpp_pool
        self._effective: dict[str, Any] = {}

    @property
    def label(self) -> str:
        return ENGINE_LABEL

    @property
    def worker_pid(self) -> int | None:
        """PID of the live chat worker, if one runs (tests signal it)."""
        worker = self._chat.current()
        return worker.pid if worker else None

    @property
    def embed_worker_pid(self) -> int | None:
        worker = self._embedder.current()
        return worker.pid if worker else None

    @property
    def n_threads(self) -> int:
        """Threads for the worker; never more than the CPUs (100,000 crashed it)."""
        wanted = self.settings.llamacpp.n_threads or default_threads()
        return max(1, min(wanted, os.cpu_count() or 1))

    @property
    def n_threads_batch(self) -> int:
        """Prompt threads at most: the setting, else every physical core, never fewer than
        generation's (the worker may leave busy ones out: :func:`.setup.prompt_threads`)."""
        wanted = self.settings.llamacpp.n_threads_batch or physical_cores()
        return max(self.n_threads, min(wanted, os.cpu_count() or 1))

    @property
    def kv_cache_type(self) -> str:
        """The KV cache element type models load with (fit estimates read it)."""
        return self.settings.llamacpp.kv_cache_type

    @property
    def last_effective(self) -> dict[str, Any]:
        """What the last answer really ran with, as the worker read it back from llama.cpp:
        threads, context, KV cache, flash attention, chat format and sampling keywords."""
        return dict(self._effective)

    async def sampling_defaults(self, model: str = "") -> dict[str, tuple[Any, str]]:
        """What ``model`` samples with when a request leaves a value unset, and why
        (``default``: Ollama's; ``model file``: the GGUF's ``general.sampling.*``;
        ``per-model config``), for ``/show parameters``."""
        entry = await self._usable(model or await self.default_model(), "chat")
        values, sources = self._sampling(entry, {})
        return {name: (values[name], sources[name]) for name in values}

    def _sampling(
        self, entry: CatalogEntry, requested: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        assert entry.info is not None
        configured = self.settings.llamacpp.parameters
        own = configured.get(entry.name) or configured.get(entry.path.name)
        return resolve(entry.info.metadata, own, requested)

    # -- catalog ---------------------------------------------------------------

    async def health(self) -> Health:
        if importlib.util.find_spec("llama_cpp") is None:
            return Health(False, self.kind, "local", detail="llama-cpp-python is not installed")
        try:
            version = importlib.metadata.version("llama_cpp_python")
        except importlib.metadata.PackageNotFoundError:
            version = ""
        return Health(True, self.kind, "local", version, "embedded, runs GGUF files")

    async def list_models(self) -> list[ModelInfo]:
        return [entry.model_info() for entry in await asyncio.to_thread(scan_models)]

    async def default_model(self) -> str:
        return self.settings.llamacpp.model or bundled.SMOLLM2

    def default_embedding_model(self) -> str:
        return self.settings.llamacpp.embedding_model or bundled.MINILM

    async def model_info(self, name: str) -> ModelInfo:
        return (await self._find(name)).model_info()

    async def _find(self, name: str) -> CatalogEntry:
        """The catalog entry for ``name`` (or a path to a GGUF), without preparing it."""
        return await asyncio.to_thread(lookup, name, ENGINE_LABEL)

    async def _usable(self, name: str, capability: str | None) -> CatalogEntry:
        """The entry for ``name``, ready to load (one thread hop: this is on the TTFT path).

        ``capability`` (``chat``, ``embedding``) is required of the model unless None.

        Raises:
            ModelNotFound, BadModelFile, Unsupported, EngineError: one readable line.
        """
        return await asyncio.to_thread(usable_entry, name, capability, ENGINE_LABEL)

    # -- chat ------------------------------------------------------------------

    def start_worker(self) -> None:
        """Spawn the chat worker now, before the model is known: its Python start and import
        of llama.cpp (0.6 s, more on a busy machine) overlap the caller's own imports."""
        self._chat.ensure()

    async def prewarm(self, model: str = "") -> None:
        """Start the chat worker and have it load ``model`` now, without waiting for it.

        ``offyai ask`` calls this as soon as it knows the model, so the load overlaps
        the rest of the start; a load that fails is reported again by the chat after it.
        """
        try:
            entry = await self._usable(model or await self.default_model(), "chat")
        except EngineError:
            return  # the chat request says why, in its own words
        request = self._chat.ensure().submit(
            {"op": "load", "slot": "chat", "model": self._spec(entry)}
        )
        request.release()  # nobody waits for this reply

    async def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        started = time.perf_counter()
        try:
            entry = await self._usable(options.model or await self.default_model(), "chat")
            payload = await chat_payload(messages, options, entry.name, entry.path)
        except EngineError as err:
            yield ErrorEvent(err)
            return
        assert entry.info is not None
        try:
            variables = template_kwargs(entry.info.chat_template, options.think, entry.name)
        except Unsupported as err:
            yield ErrorEvent(err)
            return
        spec = self._spec(entry, options)
        request = self._chat.ensure().submit(
            {
                "op": "chat",
                "model": spec,
                **payload,  # messages (the worker folds system text), mmproj with images
                "params": self._sampling(entry, options.sampling())[0],
                "n_threads_batch": self.n_threads_batch,
                "adapt_threads": not self.settings.llamacpp.n_threads_batch,  # 0: automatic
                "template_variables": variables,
            }
        )
        split = ThinkSplitter()
        first_at = 0.0
        try:
            while True:
                message = await request.next()
                event = message.get("ev")
                if event == "thinking_open":  # the prompt ends in "<think>" (DeepSeek-R1)
                    split = ThinkSplitter(inside=True)
                elif event == "delta":
                    if not first_at:
                        first_at = time.perf_counter()
                    for out in _deltas(*split.feed(str(message.get("text", "")))):
                        yield out
                elif event in {"done", "cancelled"}:
                    for out in _deltas(*split.close()):
                        yield out
                    stats = message.get("stats") or {}
                    self._effective = dict(stats.get("effective") or self._effective)
                    yield Done(answer_stats(entry.name, stats, started, first_at, event))
                    return
                elif request.finished:
                    yield ErrorEvent(self._error(message, entry), partial_text=split.text)
                    return
        finally:
            if not request.finished:
                await self._stop(request)
            request.release()

    async def _stop(self, request: Request) -> None:
        """Cancel ``request``; kill its worker if it does not confirm in time."""
        worker = request.worker
        if not worker.alive:
            return
        worker.send({"op": "cancel", "id": request.id})
        try:
            await asyncio.wait_for(request.result(), self.STOP_GRACE_S)
        except (asyncio.TimeoutError, TimeoutError):
            worker.kill("was stopped because it did not cancel in time")
        except BaseException:
            worker.kill("was stopped")
            raise

    def _spec(self, entry: CatalogEntry, options: ChatOptions | None = None) -> dict[str, Any]:
        info = entry.info
        assert info is not None
        config = self.settings.llamacpp
        if info.is_embedding:
            n_ctx = min(info.context_length or EMBEDDING_CTX, max(config.n_ctx, EMBEDDING_CTX))
            pooled = self._embed_workers(entry) > 1  # then each worker runs one thread
        else:
            n_ctx = (options.num_ctx if options else None) or config.n_ctx
            if info.context_length:
                n_ctx = min(n_ctx, info.context_length)
        keep_alive = parse_keep_alive(options.keep_alive if options else None, config.keep_alive)
        spec: dict[str, Any] = {
            "name": entry.name,
            "path": str(entry.path.resolve()),
            "n_ctx": n_ctx,
            "n_threads": 1 if info.is_embedding and pooled else self.n_threads,
            "n_threads_batch": 1 if info.is_embedding and pooled else self.n_threads_batch,
            "chat_format": None if info.is_embedding else chat_format_for(info),
            "architecture": info.architecture,
            "keep_alive": keep_alive,
        }
        if not info.is_embedding:
            spec.update(kv_cache_type=config.kv_cache_type, flash_attention=config.flash_attention)
        return spec

    def _error(self, message: dict[str, Any], entry: CatalogEntry) -> EngineError:
        event = message.get("ev")
        if event == "exit":
            if message.get("fatal"):
                return EngineUnavailable(f"llama.cpp cannot start: {message['fatal']}")
            return WorkerCrashed(
                f"the llama.cpp process {message.get('reason') or 'stopped'} while working "
                f"on {entry.name}; the next request starts a new one (log: {log_path()})"
            )
        text = str(message.get("message", "")) or "unknown error"
        if message.get("kind") == "load":
            return BadModelFile(f"llama.cpp could not load {entry.path.name}: {text}")
        if message.get("kind") == "unsupported":
            return Unsupported(f"{entry.name}: {text}")
        if message.get("kind") == "context":
            return EngineError(
                f"{entry.name}: the conversation is too long for its context ({text})"
            )
        return EngineError(f"llama.cpp: {text}")

    # -- embeddings and tokens -------------------------------------------------

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        """Normalized embeddings, one per text, from an embedding GGUF."""
        entry = await self._usable(model or self.default_embedding_model(), "embedding")
        if not texts:
            return []
        spec = self._spec(entry)
        value = await self._pool.map(texts, self._embed_workers(entry), lambda slot, part: (
            self._call(slot, {"op": "embed", "model": spec, "texts": part}, entry)))
        return [[float(x) for x in vector] for vector in value]

    def _embed_workers(self, entry: CatalogEntry) -> int:
        return pool_size(entry.path, physical_cores(), bool(self.settings.llamacpp.n_threads_batch))

    async def count_tokens(self, text: str, model: str = "") -> int | None:
        """Exact token count with the model's own tokenizer (no BOS or special tokens)."""
        entry = await self._usable(model or await self.default_model(), None)
        slot = self._embedder if "embedding" in entry.capabilities else self._chat
        value = await self._call(
            slot, {"op": "tokens", "model": self._spec(entry), "text": text}, entry
        )
        return int(value)

    async def _call(self, slot: WorkerSlot, message: dict[str, Any], entry: CatalogEntry) -> Any:
        request = slot.ensure().submit(message)
        try:
            reply = await request.result()
        finally:
            if not request.finished:
                await self._stop(request)
            request.release()
        if reply.get("ev") == "result":
            return reply.get("value")
        raise self._error(reply, entry)

    # -- lifecycle -------------------------------------------------------------

    async def loaded(self) -> list[LoadedModel]:
        models: list[LoadedModel] = []
        for slot in (self._chat, self._embedder):
            worker = slot.current()
            if worker is None:
                continue
            request = worker.submit({"op": "status"})
            try:
                reply = await asyncio.wait_for(request.result(), 2.0)
            except (asyncio.TimeoutError, TimeoutError):
                continue
            finally:
                request.release()
            for item in (reply.get("value") or {}).get("loaded", []):
                expires = item.get("expires_at")
                models.append(
                    LoadedModel(
                        name=str(item.get("name", "")),
                        size_bytes=int(item.get("size_bytes") or 0),
                        expires_at=_iso(expires) if expires else "",
                    )
                )
        return models

    async def load(self, name: str) -> None:
        """Load ``name`` in its worker now; it stays for ``llamacpp.keep_alive`` idle seconds."""
        entry = await self._usable(name, None)
        embedding = "embedding" in entry.capabilities
        slot = self._embedder if embedding else self._chat
        request = {
            "op": "load",
            "slot": "embed" if embedding else "chat",
            "model": self._spec(entry),
        }
        await self._call(slot, request, entry)

    async def unload(self, name: str) -> None:
        """Free ``name`` in every worker that holds it (a no-op if none does)."""
        held = {model.name for model in await self.loaded()}
        if name not in held:
            await self._find(name)  # unknown names get ModelNotFound; known ones: nothing to do
            return
        self._pool.close_extra()
        for slot in (self._chat, self._embedder):
            worker = slot.current()
            if worker is not None:
                request = worker.submit({"op": "unload", "name": name})
                try:
                    await request.result()
                finally:
                    request.release()

    async def delete(self, name: str) -> str:
        """Delete a user GGUF from the models dir, and its projector when no model left there
        pairs with it (the note says which); bundled models cannot be deleted."""
        entry = await self._find(name)
        if entry.bundled:
            raise Unsupported(f"{entry.name} is bundled with OffyAI and cannot be deleted")
        folder = locations.models_dir().resolve()
        if entry.path.parent.resolve() != folder:  # a symlink there is deleted, not its target
            raise Unsupported(f"{entry.path} is not in {folder}; only models there are deleted")
        with contextlib.suppress(EngineError):
            await self.unload(entry.name)
        projector, users = await asyncio.to_thread(projector_users, entry.path)
        await asyncio.to_thread(entry.path.unlink, missing_ok=True)
        return await asyncio.to_thread(drop_projector, projector, users)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop the workers (they unload everything); the engine stays usable."""
        self._chat.close()
        self._embedder.close()
        self._pool.close_extra()


def _deltas(thinking: str, text: str) -> list[ChatEvent]:
    """The events for one piece of an answer split at its ``<think>`` block."""
    events: list[ChatEvent] = [ThinkingDelta(thinking)] if thinking else []
    return [*events, TextDelta(text)] if text else events


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")
