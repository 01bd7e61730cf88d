"""Settings: nested sections read from ``config.toml``, with env overrides.

The file is optional. Unknown keys produce warnings (a typo must not silently
do nothing); a value of the wrong type produces one :class:`ConfigError` line
naming the key, never a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from offyai_tui import locations


class ConfigError(Exception):
    """A config file that cannot be used; the message is one readable line."""


@dataclass
class EngineSettings:
    default: str = "auto"
    """``auto`` probes Ollama, then OpenAI-compatible endpoints, then llama.cpp."""
    probe_timeout_ms: int = 300
    """Total budget for startup detection."""


@dataclass
class OllamaSettings:
    host: str = "127.0.0.1:11434"
    keep_alive: str = "5m"
    connect_timeout: float = 2.0
    stall_timeout: float = 120.0
    """Seconds without a byte mid-stream before the stream is declared stalled."""


@dataclass
class OpenAIEndpoint:
    name: str = "llamafile"
    url: str = "http://127.0.0.1:8080/v1"
    api_key_env: str = ""
    """Name of an environment variable holding the API key (remote servers)."""
    model: str = ""


@dataclass
class LlamaCppSettings:
    model: str = ""
    """Chat model name or GGUF path; empty means the bundled SmolLM2."""
    embedding_model: str = ""
    n_ctx: int = 4096
    n_threads: int = 0
    """0 means every physical core but one (the other keeps the UI responsive)."""
    keep_alive: float = 300.0
    """Seconds a model stays loaded in the worker after its last request."""


@dataclass
class ChatSettings:
    model: str = ""
    """Model to start with; empty means the chosen engine's default."""
    mode: str = "default"
    num_ctx: int = 0
    """0 means the model's own window (capped by the engine's n_ctx)."""
    reply_reserve: int = 512
    temperature: float = 0.7


@dataclass
class UISettings:
    theme: str = "offyai-dark"


@dataclass
class RagSettings:
    embedding_engine: str = "llamacpp"
    embedding_model: str = ""
    """Embedding model on that engine; empty means the engine's default (llama.cpp:
    ``llamacpp.embedding_model``, then the bundled MiniLM)."""
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    top_k: int = 6
    max_file_mb: int = 50
    allow_remote: bool = False
    """No longer used: a global switch is not the per-workspace, per-host opt-in
    documents need (:mod:`offyai_tui.privacy`); ``true`` only produces a warning."""


@dataclass
class Settings:
    engine: EngineSettings = field(default_factory=EngineSettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    openai: list[OpenAIEndpoint] = field(default_factory=list)
    llamacpp: LlamaCppSettings = field(default_factory=LlamaCppSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    ui: UISettings = field(default_factory=UISettings)
    rag: RagSettings = field(default_factory=RagSettings)
    keys: dict[str, str] = field(default_factory=dict)
    """Binding id -> key, e.g. ``stop = "ctrl+c"``."""
    warnings: list[str] = field(default_factory=list, repr=False)


def _check(value: Any, expected: Any, where: str) -> Any:
    origin = get_origin(expected)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is None and isinstance(expected, type):
        if isinstance(value, bool) and expected is not bool:
            raise ConfigError(f"{where}: expected {expected.__name__}, got a boolean")
        if not isinstance(value, expected):
            raise ConfigError(
                f"{where}: expected {expected.__name__}, got {type(value).__name__} {value!r}"
            )
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        key_t, val_t = get_args(expected)
        return {_check(k, key_t, where): _check(v, val_t, f"{where}.{k}") for k, v in value.items()}
    raise ConfigError(f"{where}: unsupported setting type")  # pragma: no cover


def _build(cls: type, raw: Any, where: str, warnings: list[str]) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table, got {type(raw).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "warnings"}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if key not in known:
            warnings.append(f"config: unknown key {name} ignored")
            continue
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, name, warnings)
        elif get_origin(hint) is list:
            (item_t,) = get_args(hint)
            if not isinstance(value, list):
                raise ConfigError(f"{name}: expected an array of tables ([[{key}]])")
            kwargs[key] = [_build(item_t, v, f"{name}[{i}]", warnings) for i, v in enumerate(value)]
        else:
            kwargs[key] = _check(value, hint, name)
    return cls(**kwargs)


def parse_settings(text: str, source: str = "config.toml") -> Settings:
    """Parse TOML text into :class:`Settings` (used by :func:`load_settings` and tests)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    warnings: list[str] = []
    try:
        settings = _build(Settings, raw, "", warnings)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    _validate(settings, source)
    if settings.rag.allow_remote:
        warnings.append(
            "config: rag.allow_remote is ignored: documents go to a remote engine only "
            "after the workspace allows that host (the chat asks; offyai ask/index "
            "--allow-remote-docs allows one run)"
        )
    settings.warnings = warnings
    return settings


def _validate(settings: Settings, source: str) -> None:
    if settings.engine.default not in {"auto", "ollama", "llamacpp", "openai"}:
        raise ConfigError(
            f"{source}: engine.default must be auto, ollama, llamacpp or openai, "
            f"got {settings.engine.default!r}"
        )
    positive = {
        "engine.probe_timeout_ms": settings.engine.probe_timeout_ms,
        "llamacpp.n_ctx": settings.llamacpp.n_ctx,
        "rag.chunk_tokens": settings.rag.chunk_tokens,
        "rag.top_k": settings.rag.top_k,
        "rag.max_file_mb": settings.rag.max_file_mb,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{source}: {key} must be positive, got {value}")
    if settings.llamacpp.n_threads < 0 or settings.chat.num_ctx < 0:
        raise ConfigError(f"{source}: llamacpp.n_threads and chat.num_ctx must be >= 0")
    if not 0 <= settings.rag.chunk_overlap < settings.rag.chunk_tokens:
        raise ConfigError(f"{source}: rag.chunk_overlap must be between 0 and rag.chunk_tokens")


def load_settings(path: Path | None = None) -> Settings:
    """Load the config file if it exists, then apply environment overrides."""
    path = path or locations.config_file()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read ({exc})") from None
        settings = parse_settings(text, str(path))
    else:
        settings = Settings()
    host = os.environ.get("OLLAMA_HOST")
    if host:
        settings.ollama.host = host
    return settings
