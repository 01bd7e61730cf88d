"""The engine interface and the events it yields.

An engine is an async object with a few required methods (``health``,
``list_models``, ``stream_chat``) and optional ones whose defaults are safe
(``Unsupported`` or an empty answer). Capability flags let the UI hide actions
an engine cannot perform instead of failing when the user tries them.

``stream_chat`` never raises for problems that happen during generation: it
yields an :class:`ErrorEvent` carrying the text produced so far, so callers
have a single place to reconcile a failed answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from offyai_tui.engines.errors import EngineError, ModelNotFound, Unsupported
from offyai_tui.engines.parts import ImageRef, ToolCall, ToolSpec

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class Message:
    """One message of a request: its text plus the parts some models understand.

    ``content`` is always the text (a plain ``str``), so code that only deals in
    text keeps working. Each engine maps the other parts to its wire format,
    or ends the answer with :class:`Unsupported` when it cannot send them.

    A tool result is ``Message("tool", output, tool_call_id=call.id, name=call.name)``
    (see :meth:`tool_result`).
    """

    role: Role
    content: str
    thinking: str | None = None
    """The model's reasoning that came with an earlier answer. No engine sends it
    back: a model is trained on answers without it, and it would fill the context."""
    images: tuple[ImageRef, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    """On an assistant message: the tools it asked to run."""
    tool_call_id: str | None = None
    """On a tool result: the id of the call it answers."""
    name: str | None = None
    """On a tool result: the tool's name."""

    @classmethod
    def tool_result(cls, call: ToolCall, output: str) -> Message:
        """The message that hands a tool's output back to the model, linked to its call."""
        return cls("tool", output, tool_call_id=call.id, name=call.name)

    def as_dict(self) -> dict[str, str]:
        """Role and text only: the form of text-only wire formats and token counts."""
        return {"role": self.role, "content": self.content}


@dataclass
class ChatOptions:
    """Generation parameters; ``None`` means the engine's default."""

    model: str = ""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    num_predict: int | None = None
    """Maximum tokens to generate."""
    num_ctx: int | None = None
    min_p: float | None = None
    typical_p: float | None = None
    repeat_penalty: float | None = None
    repeat_last_n: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    mirostat: int | None = None
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    num_thread: int | None = None
    """Generation threads (engines that run the model here)."""
    stop: list[str] = field(default_factory=list)
    keep_alive: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    """Tools the model may call; an engine that cannot offer them ends with ``Unsupported``."""
    think: bool | str | None = None
    """Reasoning models: ``None`` leaves it to the model (nothing is sent), ``True`` or
    ``False`` turn thinking on or off, ``"low"``/``"medium"``/``"high"`` ask for an
    amount (:mod:`offyai_tui.engines.thinking`)."""

    SAMPLING_NAMES = (
        "temperature", "top_p", "top_k", "seed", "num_predict", "num_ctx", "min_p",
        "typical_p", "repeat_penalty", "repeat_last_n", "presence_penalty",
        "frequency_penalty", "mirostat", "mirostat_tau", "mirostat_eta", "num_thread",
    )  # fmt: skip
    """Every field that is an Ollama option of the same name."""

    def sampling(self) -> dict[str, Any]:
        """The set sampling parameters, by Ollama's names."""
        names = self.SAMPLING_NAMES
        out: dict[str, Any] = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        if self.stop:
            out["stop"] = list(self.stop)
        return out


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    """Reasoning text streamed apart from the answer (Ollama ``message.thinking``,
    OpenAI-compatible ``reasoning_content``, or a ``<think>`` block that opens the
    answer, :mod:`offyai_tui.engines.think_tags`); it is not part of the answer's text."""

    text: str


@dataclass(frozen=True)
class ToolCallEvent:
    """The model asks to run a tool; yielded once per complete call, before ``Done``."""

    call: ToolCall


@dataclass(frozen=True)
class ChatStats:
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_s: float = 0.0
    """Seconds from request to first token."""
    total_s: float = 0.0
    tokens_per_s: float = 0.0
    """Decode speed: completion tokens / generation time after the first token."""
    done_reason: str = "stop"
    """``stop`` (natural end), ``length`` (hit num_predict or the context window),
    ``cancelled``, ``repeating`` (stopped by :mod:`offyai_tui.chat.runaway`)."""
    note: str = ""
    """Why the answer ended early, in words shown under it (e.g. ``stopped: the
    context window is full``); empty for a natural end."""


@dataclass(frozen=True)
class Done:
    stats: ChatStats


@dataclass(frozen=True)
class ErrorEvent:
    error: EngineError
    partial_text: str = ""


ChatEvent = TextDelta | ThinkingDelta | ToolCallEvent | Done | ErrorEvent
"""Consumers must ignore event types they do not know: engines may add new ones."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    engine: str
    size_bytes: int = 0
    family: str = ""
    parameter_size: str = ""
    quantization: str = ""
    context_length: int = 0
    capabilities: tuple[str, ...] = ("chat",)
    path: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class LoadedModel:
    name: str
    size_bytes: int = 0
    vram_bytes: int = 0
    expires_at: str = ""


@dataclass(frozen=True)
class PullProgress:
    status: str
    digest: str = ""
    total: int = 0
    completed: int = 0


@dataclass(frozen=True)
class Health:
    ok: bool
    engine: str
    endpoint: str = ""
    version: str = ""
    detail: str = ""


class Engine(ABC):
    """Base class of every engine.

    Subclasses set ``kind`` and the ``IMPLEMENTS_*`` flags they support.
    """

    kind: str = "engine"
    IMPLEMENTS_PULL = False
    IMPLEMENTS_DELETE = False
    IMPLEMENTS_EMBED = False
    IMPLEMENTS_UNLOAD = False
    IMPLEMENTS_LOAD = False
    IMPLEMENTS_COUNT_TOKENS = False
    IMPLEMENTS_CONTINUE = False
    """``stream_chat`` continues a request's final assistant message in place (the
    text streamed extends it) instead of answering after it; without this the
    turn runner refuses to continue an answer with ``Unsupported``."""

    @property
    def endpoint(self) -> str:
        """Where the engine runs (a URL, or ``local`` for in-process engines)."""
        return "local"

    @property
    def is_remote(self) -> bool:
        """True when requests leave this machine (the UI marks it)."""
        return False

    @property
    def label(self) -> str:
        return self.kind

    @abstractmethod
    async def health(self) -> Health:
        """Cheap liveness probe; must not raise for an unreachable engine."""

    @abstractmethod
    async def list_models(self) -> list[ModelInfo]:
        """Installed models. Raises :class:`EngineUnavailable` if unreachable."""

    @abstractmethod
    def stream_chat(
        self, messages: Sequence[Message], options: ChatOptions
    ) -> AsyncIterator[ChatEvent]:
        """Yield deltas (text, thinking, tool calls), then exactly one ``Done`` or ``ErrorEvent``.

        Message parts the engine cannot send (images, tools) end the stream with
        an ``ErrorEvent`` carrying :class:`Unsupported` and a reason a user
        understands, before anything reaches the model.
        """

    async def default_model(self) -> str:
        """The model used when options name none."""
        models = [m for m in await self.list_models() if "chat" in m.capabilities]
        if not models:
            raise ModelNotFound("(default)", [], self.kind)
        return models[0].name

    async def model_info(self, name: str) -> ModelInfo:
        for model in await self.list_models():
            if model.name == name:
                return model
        raise ModelNotFound(name, [m.name for m in await self.list_models()], self.kind)

    async def embed(self, texts: Sequence[str], model: str = "") -> list[list[float]]:
        raise Unsupported(f"{self.kind} cannot compute embeddings")

    async def count_tokens(self, text: str, model: str = "") -> int | None:
        """Exact token count with the model's tokenizer, or ``None`` if unknown."""
        return None

    async def loaded(self) -> list[LoadedModel]:
        return []

    async def load(self, name: str) -> None:
        """Load ``name`` into memory now, so the next answer starts at once."""
        raise Unsupported(f"{self.kind} cannot load a model on request")

    async def unload(self, name: str) -> None:
        raise Unsupported(f"{self.kind} cannot unload models")

    def pull(self, name: str) -> AsyncIterator[PullProgress]:
        raise Unsupported(f"{self.kind} cannot download models")

    async def delete(self, name: str) -> str | None:
        """Delete ``name``; returns a note on anything deleted or kept with it (the
        embedded engine's projector file), or None/"" when there is nothing to add."""
        raise Unsupported(f"{self.kind} cannot delete models")

    async def aclose(self) -> None:
        """Release connections and processes."""
