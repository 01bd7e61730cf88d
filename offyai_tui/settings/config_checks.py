"""Range checks for settings whose type is right but whose value cannot work.

TOML reads ``nan``, ``inf``, ``-5`` and ``100000`` as perfectly typed numbers,
and each of them reached an engine before: a NaN temperature, a negative
timeout, or 100,000 llama.cpp threads (the worker crashed with SIGSEGV and an
empty log). Each check here names the key, says what is allowed and puts the
default back; :func:`offyai_tui.settings.config.parse_settings` decides whether that is
a warning (the app, the CLI) or an error (writers of the file).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENGINE_KINDS = ("auto", "ollama", "llamacpp", "openai")
SHOW_THINKING = ("fold", "open")
"""``chat.show_thinking``: reasoning folds when the answer begins, or stays open."""
AUDIO_LIBRARIES = ("auto", "portaudio", "alsa")
"""``voice.input`` / ``voice.output``: PortAudio where it loads, else ALSA; or one only
(see :func:`offyai_tui.voice.devices.backend`)."""
MAX_THREADS_PER_CPU = 1
"""llama.cpp gains nothing from more threads than logical CPUs, and far more
(100,000) crash its worker."""


@dataclass(frozen=True)
class Range:
    """An allowed closed range for one ``section.key``; ``None`` is unbounded."""

    key: str
    low: float | None
    high: float | None
    allowed: str
    """How the rule reads in a message, e.g. ``must be positive``."""


RANGES = (
    Range("engine.probe_timeout_ms", 1, 60_000, "must be between 1 and 60000"),
    Range("ollama.connect_timeout", 0.001, 3600, "must be between 0.001 and 3600 seconds"),
    Range("ollama.stall_timeout", 0.001, 86_400, "must be between 0.001 and 86400 seconds"),
    Range("llamacpp.n_ctx", 128, 1_048_576, "must be between 128 and 1048576"),
    Range("llamacpp.n_threads", 0, None, "must be 0 (automatic) or more"),
    Range("llamacpp.keep_alive", None, None, "must be a number of seconds"),
    Range("chat.num_ctx", 0, 1_048_576, "must be 0 (the model's window) or up to 1048576"),
    Range("chat.reply_reserve", 0, 1_048_576, "must be between 0 and 1048576"),
    Range("chat.temperature", 0, 2, "must be between 0 and 2"),
    Range("chat.timeout", 0, 86_400, "must be between 0 (no limit) and 86400 seconds"),
    Range("rag.chunk_tokens", 1, 100_000, "must be positive"),
    Range("rag.chunk_overlap", 0, None, "must be 0 or more"),
    Range("rag.top_k", 1, 1000, "must be positive"),
    Range("rag.max_file_mb", 1, 1_000_000, "must be positive"),
    Range("attachments.max_image_side", 0, 16_384, "must be 0 (the engine's) or up to 16384"),
    Range("attachments.max_image_mb", 0, 20, "must be 0 (the engine's) or up to 20"),
)

Report = Callable[..., None]
"""``report(message, default)``: one bad value (see ``config._Issues.bad``)."""


def check_values(settings: Any, report: Report, warn: Callable[[str], None]) -> None:
    """Put the default back for every value out of its range, reporting each once.

    ``warn`` takes notes that are never errors (a thread count clamped to the CPUs).
    """
    defaults = type(settings)()
    kind = settings.engine.default.split(":", 1)[0]
    if kind not in ENGINE_KINDS and not _plugin(settings.engine.default):
        report(f"engine.default must be auto, ollama, llamacpp, openai or an installed "
               f"engine plugin, got {settings.engine.default!r}", defaults.engine.default)
        settings.engine.default = defaults.engine.default
    for name in [n for n in settings.engines if n in ENGINE_KINDS[1:]]:
        report(f"[engines.{name}] is for engine plugins; the built-in {name} engine reads "
               f"[{'[openai]' if name == 'openai' else name}]", None, kept="ignored")
        del settings.engines[name]
    for rule in RANGES:
        section, name = rule.key.split(".")
        if not hasattr(getattr(settings, section), name):
            continue  # a setting another version does not have
        value = getattr(getattr(settings, section), name)
        if value is None or _inside(value, rule):
            continue  # None: an optional setting left unset
        default = getattr(getattr(defaults, section), name)
        if default is None:  # optional (chat.temperature): unset, the model's own applies
            report(f"{rule.key} {rule.allowed}, got {value!r}", None,
                   kept=f"left unset (the model's own {name} applies)")
        else:
            report(f"{rule.key} {rule.allowed}, got {value!r}", default)
        setattr(getattr(settings, section), name, default)
    rag = settings.rag
    if rag.chunk_overlap >= rag.chunk_tokens:
        report("rag.chunk_overlap must be between 0 and rag.chunk_tokens, "
               f"got {rag.chunk_overlap}", min(defaults.rag.chunk_overlap, rag.chunk_tokens // 2))
        rag.chunk_overlap = min(defaults.rag.chunk_overlap, rag.chunk_tokens // 2)
    if settings.chat.show_thinking not in SHOW_THINKING:
        report(f"chat.show_thinking must be {' or '.join(SHOW_THINKING)}, "
               f"got {settings.chat.show_thinking!r}", defaults.chat.show_thinking)
        settings.chat.show_thinking = defaults.chat.show_thinking
    for key in ("input", "output"):
        value = getattr(settings.voice, key)
        if value not in AUDIO_LIBRARIES:
            report(f"voice.{key} must be auto, portaudio or alsa, got {value!r}", "auto")
            setattr(settings.voice, key, getattr(defaults.voice, key))
    _clamp_threads(settings, warn)


def _plugin(name: str) -> bool:
    """Whether an engine plugin is registered as ``name``: the entry points are read
    only here, for a name that is not built in (see :mod:`offyai_tui.engines.plugins`)."""
    from offyai_tui.engines.plugins import registered

    return name in registered()


def _inside(value: Any, rule: Range) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN compares false with everything; inf has no use anywhere
    if rule.low is not None and value < rule.low:
        return False
    return rule.high is None or value <= rule.high


def _clamp_threads(settings: Any, warn: Callable[[str], None]) -> None:
    """More llama.cpp threads than CPUs: one per CPU, and a warning (the value is
    not wrong, just more than this machine has)."""
    cpus = os.cpu_count() or 1
    limit = cpus * MAX_THREADS_PER_CPU
    if settings.llamacpp.n_threads > limit:
        warn(f"config: llamacpp.n_threads = {settings.llamacpp.n_threads} is more than the "
             f"{cpus} CPUs of this machine; using {limit}")
        settings.llamacpp.n_threads = limit
