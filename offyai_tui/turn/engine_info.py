"""What a turn needs to know about the engine, asked once and cached.

Which model answers, its context window, the engine's hard window, and a
token counter per (engine, model): each costs a request or a tokenizer load,
so each is looked up once per engine and model.

The context meter counts with the engine's tokenizer only once a request has
used that model: an exact count can need the model loaded (llama.cpp starts
its worker process for it), which an idle app showing an empty chat should
not pay for. Until then the meter shows the offline cl100k estimate.
"""

from __future__ import annotations

import asyncio

from offyai_tui.chat import Conversation, TokenCounter
from offyai_tui.chat.tokens import offline_encoding
from offyai_tui.engines.base import Engine
from offyai_tui.settings.config import Settings

LOOKUP_TIMEOUT = 5.0


class EngineInfo:
    """Cached facts about engines and models for building requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._defaults: dict[int, str] = {}
        self._windows: dict[tuple[int, str], int] = {}
        self._capabilities: dict[tuple[int, str], tuple[str, ...]] = {}
        self._counters: dict[tuple[int, str], TokenCounter] = {}
        self._estimates: dict[str, TokenCounter] = {}

    def preferred_model(self, conversation: Conversation) -> str:
        """The conversation's model, else the one named in config or on the command line."""
        configured = getattr(self.settings.chat, "model", "") or ""
        return conversation.model or (configured if isinstance(configured, str) else "")

    async def model_for(self, engine: Engine, conversation: Conversation) -> str:
        """The model that will answer (raises the engine's error if there is none)."""
        model = self.preferred_model(conversation)
        if model:
            return model
        key = id(engine)
        if key not in self._defaults:
            self._defaults[key] = await asyncio.wait_for(engine.default_model(), LOOKUP_TIMEOUT)
        return self._defaults[key]

    async def model_window(self, engine: Engine, model: str) -> int:
        """The model's own context length, 0 if the engine does not say."""
        await self._look_up(engine, model)
        return self._windows[(id(engine), model)]

    async def supports(
        self, engine: Engine, model: str, capability: str, *, unknown: bool = True
    ) -> bool:
        """Whether ``model`` can do ``capability`` ("tools", "vision", "thinking").

        ``unknown`` answers for an engine that lists no capabilities for the model:
        the benefit of the doubt where its server answers a clear error, but not for
        tools, which a server without them may refuse for every question.
        """
        await self._look_up(engine, model)
        known = self._capabilities[(id(engine), model)]
        return capability in known if known else unknown

    async def _look_up(self, engine: Engine, model: str) -> None:
        key = (id(engine), model)
        if key in self._windows:
            return
        try:
            info = await asyncio.wait_for(engine.model_info(model), LOOKUP_TIMEOUT)
            self._windows[key] = info.context_length
            self._capabilities[key] = tuple(info.capabilities)
        except Exception:
            self._windows[key] = 0
            self._capabilities[key] = ()

    def engine_window(self, engine: Engine) -> int:
        """A hard limit set by the engine itself (llama.cpp's ``n_ctx``), else 0."""
        return self.settings.llamacpp.n_ctx if engine.kind == "llamacpp" else 0

    def counter(self, engine: Engine, model: str) -> TokenCounter:
        """The counter for requests: the engine's tokenizer when it has one."""
        key = (id(engine), model)
        if key not in self._counters:
            self._counters[key] = TokenCounter(engine, model)
        return self._counters[key]

    async def meter_counter(self, engine: Engine, model: str) -> TokenCounter:
        """The counter for the context meter: exact once a request has used the model."""
        exact = self._counters.get((id(engine), model))
        if exact is not None:
            return exact
        if model not in self._estimates:
            await asyncio.to_thread(offline_encoding)  # loaded once, off the event loop
            self._estimates[model] = TokenCounter(None, model)
        return self._estimates[model]
