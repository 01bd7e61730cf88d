"""The built-in engines' factories, registered in ``pyproject.toml`` like any plugin.

They take the ``[engines.NAME]`` table as every engine does, but their settings
have lived in their own sections since before plugins existed (``[ollama]``,
``[[openai]]``, ``[llamacpp]``), so they read those through ``settings``;
``config.toml`` warns about an ``[engines.ollama]`` table instead of half-using it.
Each imports its engine module only when called: that module pulls in httpx or
llama-cpp-python, which a start that never uses the engine must not pay for.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.engines.base import Engine
from offyai_tui.settings.config import OpenAIEndpoint, Settings


def ollama(config: dict[str, Any], *, settings: Settings) -> Engine:
    """Ollama over its native API, at ``[ollama] host`` (``OLLAMA_HOST`` overrides)."""
    from offyai_tui.engines.ollama import OllamaEngine

    return OllamaEngine(settings)


def openai(
    config: dict[str, Any], *, settings: Settings, endpoint: OpenAIEndpoint | None = None
) -> Engine:
    """One OpenAI-compatible endpoint of ``[[openai]]`` (the first, unless ``endpoint``)."""
    from offyai_tui.engines.openai_compat import OpenAICompatEngine

    chosen = endpoint or (settings.openai[0] if settings.openai else OpenAIEndpoint())
    return OpenAICompatEngine(chosen, settings)


def llamacpp(config: dict[str, Any], *, settings: Settings) -> Engine:
    """llama.cpp embedded through llama-cpp-python in a worker process (``[llamacpp]``)."""
    from offyai_tui.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine(settings)
