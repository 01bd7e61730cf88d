"""Sampling for the embedded engine: Ollama's defaults, a GGUF's own advice, then the user.

llama-cpp-python's defaults differ from Ollama's in the one that matters most for
small models: no repeat penalty (1.0). SmolLM2-135M then repeats a phrase until the
context is full. The embedded engine therefore starts from Ollama's defaults, so a
model behaves as it does under ``ollama run``; a GGUF that carries recommended
sampling (``general.sampling.*``, written by recent converters) overrides them;
``[llamacpp.parameters."MODEL"]`` in config overrides that; and the request's own
options (``chat.temperature`` when set, the mode, ``/set parameter``) override all.
Ollama does the same on its side with a Modelfile's ``PARAMETER`` lines
(:func:`ollama_sampling` says so for ``/show parameters``).

Every value travels by its Ollama name until :func:`llama_kwargs` maps it to
``create_chat_completion``'s keywords.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from offyai_tui.engines.options import PARAMETERS, OptionError, ParamValue, parse_param

OLLAMA_DEFAULTS: dict[str, float | int] = {
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
}
"""Ollama's defaults (``api/types.go`` ``DefaultOptions``), the embedded engine's base."""

GGUF_SAMPLING_KEYS: dict[str, tuple[str, type, float, float]] = {
    "general.sampling.temp": ("temperature", float, 0.0, 2.0),
    "general.sampling.top_k": ("top_k", int, 0, 1_000_000),
    "general.sampling.top_p": ("top_p", float, 0.0, 1.0),
    "general.sampling.min_p": ("min_p", float, 0.0, 1.0),
    "general.sampling.penalty_repeat": ("repeat_penalty", float, 0.0, 5.0),
    "general.sampling.penalty_last_n": ("repeat_last_n", int, -1, 1_048_576),
    "general.sampling.mirostat": ("mirostat", int, 0, 2),
    "general.sampling.mirostat_tau": ("mirostat_tau", float, 0.0, 100.0),
    "general.sampling.mirostat_eta": ("mirostat_eta", float, 0.0, 1.0),
}
"""GGUF key -> (Ollama name, type, lowest, highest). Values outside are ignored: a
model file is input from the internet, not a setting the user chose."""

MODELFILE_IGNORED = frozenset({"num_ctx"})
"""Modelfile parameters every request overrides: the context plan always sends ``num_ctx``."""

SOURCE_DEFAULT = "default"
SOURCE_MODEL_FILE = "model file"
SOURCE_CONFIG = "per-model config"

_RENAMED = {"num_predict": "max_tokens", "mirostat": "mirostat_mode"}
_ENGINE_ONLY = frozenset({"num_ctx", "num_thread", "repeat_last_n"})
"""Not keywords of ``create_chat_completion``: the worker applies them to the model."""


def model_file_sampling(metadata: Mapping[str, Any]) -> dict[str, float | int]:
    """The sampling a GGUF recommends (``general.sampling.*``), validated."""
    found: dict[str, float | int] = {}
    for key, (name, kind, low, high) in GGUF_SAMPLING_KEYS.items():
        value = metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value) or not low <= value <= high:
            continue
        if kind is int and float(value).is_integer():
            found[name] = int(value)
        elif kind is float:
            found[name] = round(float(value), 6)  # GGUF stores float32: 0.9 -> 0.8999999762
    return found


def modelfile_sampling(parameters: str) -> dict[str, ParamValue]:
    """An Ollama model's ``PARAMETER`` lines (``/api/show``'s ``parameters``), validated.

    Ollama applies them under every request's options, as the embedded engine applies
    a GGUF's advice; a name or value this app would refuse from the user is left out.
    ``stop`` lines add up, one sequence each.
    """
    found: dict[str, ParamValue] = {}
    for line in parameters.splitlines():
        name, _, raw = line.strip().partition(" ")
        if name not in PARAMETERS or name in MODELFILE_IGNORED:
            continue
        try:
            value = parse_param(name, raw)
        except OptionError:
            continue
        if isinstance(value, list):
            stops = found.setdefault(name, [])
            assert isinstance(stops, list)
            stops.extend(value)
        else:
            found[name] = value
    return found


def ollama_sampling(parameters: str) -> dict[str, tuple[Any, str]]:
    """What an Ollama model samples with where a request sets nothing, and why:
    Ollama's defaults (``default``) under its Modelfile's ``PARAMETER`` lines (``model
    file``), for ``/show parameters``."""
    shown: dict[str, tuple[Any, str]] = {
        name: (value, SOURCE_DEFAULT) for name, value in OLLAMA_DEFAULTS.items()
    }
    for name, value in modelfile_sampling(parameters).items():
        shown[name] = (value, SOURCE_MODEL_FILE)
    return shown


def resolve(
    metadata: Mapping[str, Any],
    configured: Mapping[str, Any] | None,
    requested: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values a request runs with and where each came from.

    Args:
        metadata: The GGUF's metadata (for ``general.sampling.*``).
        configured: ``[llamacpp.parameters."MODEL"]`` (validated by the config).
        requested: ``ChatOptions.sampling()``: config, mode and ``/set`` values.

    Returns:
        ``(values, sources)``; a source is ``default``, ``model file``,
        ``per-model config`` or ``request``.
    """
    values: dict[str, Any] = dict(OLLAMA_DEFAULTS)
    sources = dict.fromkeys(values, SOURCE_DEFAULT)
    for layer, source in (
        (model_file_sampling(metadata), SOURCE_MODEL_FILE),
        (configured or {}, SOURCE_CONFIG),
        (requested, "request"),
    ):
        for name, value in layer.items():
            values[name] = value
            sources[name] = source
    return values, sources


def llama_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Ollama-named values -> keyword arguments of ``create_chat_completion``.

    ``num_predict`` of -1 (no limit) becomes no ``max_tokens``: llama-cpp-python
    then stops at the context window, which the worker reports as ``length``.
    """
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name in _ENGINE_ONLY or value is None:
            continue
        if name == "num_predict" and int(value) <= 0:
            continue
        if name == "stop":
            if value:
                kwargs["stop"] = list(value)
            continue
        kwargs[_RENAMED.get(name, name)] = value
    return kwargs


def model_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values the worker applies to the loaded model rather than the call."""
    return {name: values[name] for name in ("repeat_last_n", "num_thread") if name in values}
