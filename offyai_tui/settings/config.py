"""Settings: nested sections read from ``config.toml``, with env overrides.

The file is optional. Unknown keys produce warnings (a typo must not silently
do nothing). A bad value (wrong type, out of range, NaN) is one warning line
naming the key, and the default is kept: one mistake in the file never stops
the app. Only writers of the file (:mod:`offyai_tui.settings.config_write`) parse it
strictly, where a bad value is a :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from offyai_tui.settings import locations
from offyai_tui.settings.config_tools import McpSettings, ToolsSettings


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
    thinking_models: list[str] = field(default_factory=list)
    """Models of this server that think first (``qwen3*`` patterns allowed): the
    OpenAI protocol does not say which do, and ``/set think on`` is refused for others."""
    vision_models: list[str] = field(default_factory=list)
    """Models of this server that take images (the OpenAI protocol does not say which do)."""
    tools_models: list[str] = field(default_factory=list)
    """Models of this server that call tools: only they are offered any (a server
    without tool support may refuse every request that carries ``tools``)."""


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
    n_threads_batch: int = 0
    """Prompt-processing threads; 0 means every physical core (it scales, and the
    UI is idle while a prompt is read)."""
    kv_cache_type: str = "f16"
    """KV cache element type: ``f16``, ``q8_0`` (about half the memory) or ``q4_0``."""
    flash_attention: str = "auto"
    """``auto`` (on when the KV cache is quantized, which needs it), ``on`` or ``off``."""
    parameters: dict[str, dict[str, float]] = field(default_factory=dict)
    """Sampling per model, by Ollama's names: ``[llamacpp.parameters."MODEL"]``."""


@dataclass
class ChatSettings:
    model: str = ""
    """Model to start with; empty means the chosen engine's default."""
    mode: str = "default"
    num_ctx: int = 0
    """0 means the model's own window (capped by the engine's n_ctx)."""
    reply_reserve: int = 512
    temperature: float | None = None
    """Sent with every request when set; unset, the model's own applies (a GGUF's
    ``general.sampling.temp``, an Ollama Modelfile's, else the engine's default, 0.8 for
    Ollama and the embedded engine), which a fixed value here would always hide. Modes
    and ``/set parameter`` override it."""
    timeout: float = 120.0
    """Seconds ``offyai ask`` waits without a word from a server before giving up
    (0: no limit; the embedded engine has none); ``--timeout`` overrides it for one run."""
    repeat_guard: int = 10
    """Stop an answer that repeats the same passage this many times (0: never);
    see :mod:`offyai_tui.chat.runaway`."""
    show_thinking: str = "fold"
    """A reasoning model's thinking once the answer begins: ``fold`` (one line,
    "Thought for 12 s", a key opens it) or ``open``."""


@dataclass
class AttachmentSettings:
    max_image_side: int = 0
    """Longer side in pixels above which an image is downscaled; 0: the engine's default."""
    max_image_mb: float = 0.0
    """Size above which an image is re-encoded smaller; 0: the engine's default."""


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
    follow_symlinks: bool = False
    """Follow links out of an added folder (hidden and ignored targets stay skipped);
    off, such a link is listed as skipped with its target (:mod:`offyai_tui.util.confine`)."""
    allow_remote: bool = False
    """No longer used: a global switch is not the per-workspace, per-host opt-in
    documents need (:mod:`offyai_tui.settings.privacy`); ``true`` only produces a warning."""


@dataclass
class VoiceSettings:
    send_at_once: bool = False
    """Push to talk sends what was heard at once instead of leaving it in the prompt."""
    whisper_model: str = ""
    """A whisper.cpp ggml model file; empty: the models directory's, else the bundled one."""
    read_answers: bool = False
    """Read every answer aloud, sentence by sentence, while it streams (Esc stops)."""
    input: str = "auto"
    """What records: ``auto`` (PortAudio where it loads, else ALSA), ``portaudio`` or ``alsa``."""
    output: str = "auto"
    """What plays read-aloud speech: ``auto``, ``portaudio`` or ``alsa``, as for ``input``."""


@dataclass
class Settings:
    engine: EngineSettings = field(default_factory=EngineSettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    openai: list[OpenAIEndpoint] = field(default_factory=list)
    llamacpp: LlamaCppSettings = field(default_factory=LlamaCppSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    ui: UISettings = field(default_factory=UISettings)
    rag: RagSettings = field(default_factory=RagSettings)
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    tools: ToolsSettings = field(default_factory=ToolsSettings)
    mcp: McpSettings = field(default_factory=McpSettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    keys: dict[str, str] = field(default_factory=dict)
    """Binding id -> key, e.g. ``stop = "ctrl+c"``."""
    engines: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``[engines.NAME]``: each engine plugin's own table, handed to it as a dict."""
    warnings: list[str] = field(default_factory=list, repr=False)
    overrides: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Setting -> where its value came from when not from config.toml (e.g.
    ``ollama.host`` -> ``OLLAMA_HOST``, ``engine.default`` -> ``--engine``), so
    a message about a bad value names what the user actually set."""


_NOT_SETTINGS = frozenset({"warnings", "overrides"})


class _Stop(ConfigError):
    """A bad value in strict mode: ends the parse (never turned into a warning)."""


class _Issues:
    """Where bad values go: raised when strict, else warnings (the default is kept)."""

    def __init__(self, strict: bool, warnings: list[str], source: str = "") -> None:
        self.strict = strict
        self.warnings = warnings
        self.source = source

    def bad(self, message: str, default: Any = None, *, kept: str | None = None) -> None:
        """One bad value; ``kept`` says what is used instead (else ``default``)."""
        prefix = f"{self.source}: " if self.source else ""
        if self.strict:
            raise _Stop(f"{prefix}{message}")
        instead = kept if kept is not None else f"using the default ({default!r})"
        self.warnings.append(f"config: {message}; {instead}")


def _check(value: Any, expected: Any, where: str) -> Any:
    if expected is Any:  # a plugin's table: its values are the plugin's to check
        return value
    origin = get_origin(expected)
    if origin in (Union, UnionType) and type(None) in get_args(expected):
        (inner,) = [arg for arg in get_args(expected) if arg is not type(None)]
        return _check(value, inner, where)  # TOML has no null: a present key has a value
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


def _build(cls: type, raw: Any, where: str, warnings: list[str], issues: _Issues) -> Any:
    """``cls`` from a TOML table; each bad key goes to ``issues`` and keeps its default."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table, got {type(raw).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_SETTINGS}
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if key not in fields:
            warnings.append(f"config: unknown key {name} ignored")
            continue
        hint = hints[key]
        try:
            if dataclasses.is_dataclass(hint):
                kwargs[key] = _build(hint, value, name, warnings, issues)
            elif get_origin(hint) is list and get_args(hint)[0] is str:
                kwargs[key] = _strings(value, name)
            elif get_origin(hint) is list:
                kwargs[key] = _build_list(get_args(hint)[0], value, name, warnings, issues)
            elif get_origin(hint) is dict:
                kwargs[key] = _build_dict(hint, value, name, issues)
            else:
                kwargs[key] = _check(value, hint, name)
        except _Stop:
            raise
        except ConfigError as exc:
            default = getattr(defaults, key)
            if dataclasses.is_dataclass(default) or isinstance(default, (list, dict)):
                issues.bad(str(exc), kept=f"using the defaults for [{name}]")
            else:
                issues.bad(str(exc), default)
    return cls(**kwargs)


def _strings(value: Any, name: str) -> list[str]:
    """An array of strings (``thinking_models = ["qwen3*"]``)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{name}: expected an array of strings, got {value!r}")
    return list(value)


def _build_list(item_t: type, value: Any, name: str, warnings: list[str],
                issues: _Issues) -> list[Any]:
    """An array of tables; an entry that is not a table is left out."""
    if not isinstance(value, list):
        raise ConfigError(f"{name}: expected an array of tables ([[{name.split('.')[-1]}]])")
    items = []
    for i, entry in enumerate(value):
        try:
            items.append(_build(item_t, entry, f"{name}[{i}]", warnings, issues))
        except _Stop:
            raise
        except ConfigError as exc:
            issues.bad(str(exc), kept="ignored")
    return items


def _build_dict(hint: Any, value: Any, name: str, issues: _Issues) -> dict[Any, Any]:
    """A table of scalars (``[keys]``); a bad entry is left out, the others kept."""
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: expected a table")
    key_t, val_t = get_args(hint)
    result = {}
    for k, v in value.items():
        try:
            result[_check(k, key_t, name)] = _check(v, val_t, f"{name}.{k}")
        except _Stop:
            raise
        except ConfigError as exc:
            issues.bad(str(exc), kept="ignored")
    return result


def parse_settings(text: str, source: str = "config.toml", *, strict: bool = False) -> Settings:
    """Parse TOML text into :class:`Settings` (used by :func:`load_settings` and tests).

    Not strict (the app and the CLI), a bad value is a warning in
    ``settings.warnings`` and its default is used, and a file that is not TOML
    at all gives the defaults: starting with one wrong setting beats not
    starting. Strict (writers of the file), the first bad value raises.
    """
    warnings: list[str] = []
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if strict:
            raise ConfigError(f"{source}: not valid TOML ({exc})") from None
        settings = Settings()
        settings.warnings = [f"config: {source}: not valid TOML ({exc}); using the defaults"]
        return settings
    issues = _Issues(strict, warnings, source)
    settings = _build(Settings, raw, "", warnings, issues)
    from offyai_tui.settings.config_checks import check_values

    check_values(settings, issues.bad, warnings.append)
    from offyai_tui.settings.config_llamacpp import check_llamacpp

    check_llamacpp(settings, issues.bad)
    from offyai_tui.settings.config_tools import check_tools

    check_tools(settings, issues.bad)
    if settings.rag.allow_remote:
        warnings.append(
            "config: rag.allow_remote is ignored: documents go to a remote engine only "
            "after the workspace allows that host (the chat asks; offyai ask/index "
            "--allow-remote-docs allows one run)"
        )
    settings.warnings = warnings
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """Load the config file if it exists, then apply environment overrides."""
    path = path or locations.config_file()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            settings = Settings()
            settings.warnings.append(
                f"config: {path} cannot be read ({reason}); using the defaults"
            )
        else:
            settings = parse_settings(text, str(path))
    else:
        settings = Settings()
    host = os.environ.get("OLLAMA_HOST")
    if host:
        settings.ollama.host = host
        settings.overrides["ollama.host"] = "OLLAMA_HOST"
    return settings
