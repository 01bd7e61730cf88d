"""Chat modes: a named system prompt plus optional generation parameters.

Four modes are built in. Users add or override modes with TOML files in
``<config dir>/modes/``::

    name = "Reviewer"
    description = "Strict code review"
    system_prompt = \"\"\"You review code. ...\"\"\"

    [parameters]            # optional; same names and ranges as /set parameter
    temperature = 0.2
    num_ctx = 8192

``system`` is accepted for ``system_prompt`` (the name ``/set system`` and
Ollama's Modelfile use, and what the README once documented).

A file that cannot be used is reported in ``ModeCatalog.warnings`` and skipped;
it never stops the app. A user mode whose name matches a built-in replaces it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from offyai_tui.chat.errors import ParameterError
from offyai_tui.chat.params import ParamValue, check_params
from offyai_tui.settings import locations

MAX_MODE_FILE_BYTES = 256 * 1024
_KNOWN_KEYS = {"name", "description", "system_prompt", "system", "parameters"}


@dataclass(frozen=True)
class Mode:
    name: str
    """Display name, e.g. ``Coder``; matched case-insensitively."""
    description: str
    system_prompt: str
    parameters: dict[str, ParamValue] = field(default_factory=dict)
    source: str = "built-in"
    """``built-in`` or the path of the mode file."""

    @property
    def key(self) -> str:
        """Stable lowercase id stored in transcripts and config (``chat.mode``)."""
        return self.name.strip().lower()


BUILTIN_MODES: tuple[Mode, ...] = (
    Mode(
        "Default",
        "A helpful, direct assistant",
        "You are a helpful assistant running privately on the user's own computer. "
        "Answer clearly and accurately. Prefer short answers unless the user asks for "
        "detail. If you are unsure or do not know, say so instead of guessing. Use "
        "Markdown for lists, tables and code.",
    ),
    Mode(
        "Coder",
        "Concise programming help, code first",
        "You are an expert software engineer. Lead with working code in a fenced block "
        "tagged with its language, then at most a few sentences of explanation. Keep "
        "answers concise: no filler, no restating the question. Follow the conventions "
        "of the language and any code the user shows. Point out bugs, security problems "
        "and edge cases briefly. If the request is ambiguous, state the assumption you "
        "made.",
        {"temperature": 0.2},
    ),
    Mode(
        "Teacher",
        "Patient explanations with analogies",
        "You are a patient, encouraging teacher. Explain ideas step by step, starting "
        "from what the learner likely already knows. Use everyday analogies and small "
        "concrete examples, define any jargon the first time you use it, and check "
        "understanding with a short question at the end. Never make the learner feel "
        "bad for not knowing something.",
        {"temperature": 0.5},
    ),
    Mode(
        "Creative",
        "Imaginative writing and brainstorming",
        "You are an imaginative creative partner. Offer vivid, original ideas, "
        "unexpected angles and rich sensory detail. In brainstorming, give several "
        "distinct options rather than one safe answer. In stories and poems, show "
        "rather than tell and keep a consistent voice. Follow the user's constraints "
        "on length, tone and form.",
        {"temperature": 1.0, "top_p": 0.95},
    ),
)


@dataclass
class ModeCatalog:
    """Every usable mode, plus what went wrong loading user modes."""

    modes: list[Mode]
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> Mode | None:
        wanted = name.strip().lower()
        return next((m for m in self.modes if m.key == wanted), None)

    def resolve(self, name: str) -> Mode:
        """The named mode, or Default when it no longer exists (e.g. file removed)."""
        return self.get(name) or self.default

    @property
    def default(self) -> Mode:
        return self.get("default") or BUILTIN_MODES[0]

    def names(self) -> list[str]:
        return [m.name for m in self.modes]


class ModeFileError(ValueError):
    """Why one mode file cannot be used (one line)."""


def builtin_catalog() -> ModeCatalog:
    return ModeCatalog(list(BUILTIN_MODES))


def load_modes(directory: Path | None = None) -> ModeCatalog:
    """Built-in modes plus user modes from ``directory`` (default: config dir's ``modes/``)."""
    directory = directory if directory is not None else locations.config_dir() / "modes"
    catalog = builtin_catalog()
    if not directory.is_dir():
        return catalog
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            mode = load_mode_file(path, catalog.warnings)
        except ModeFileError as exc:
            catalog.warnings.append(f"mode file {path.name}: {exc}; skipped")
            continue
        if mode.key in seen:
            catalog.warnings.append(
                f"mode file {path.name}: name {mode.name!r} already used by "
                f"{seen[mode.key].name}; skipped"
            )
            continue
        seen[mode.key] = path
        builtin = catalog.get(mode.key)
        if builtin is not None:
            catalog.modes[catalog.modes.index(builtin)] = mode
        else:
            catalog.modes.append(mode)
    return catalog


def find_mode(name: str, directory: Path | None = None) -> Mode | None:
    """The named mode, built-in or user, or ``None`` (for ``offyai ask --mode``)."""
    return load_modes(directory).get(name)


def load_mode_file(path: Path, warnings: list[str] | None = None) -> Mode:
    """Parse one mode file; raises :class:`ModeFileError` if it is unusable."""
    try:
        if path.stat().st_size > MAX_MODE_FILE_BYTES:
            raise ModeFileError(f"larger than {MAX_MODE_FILE_BYTES // 1024} KiB")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ModeFileError("not UTF-8 text") from None
    except OSError as exc:
        raise ModeFileError(f"cannot be read ({exc.strerror or exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModeFileError(f"not valid TOML ({exc})") from None
    return mode_from_table(raw, path, warnings)


def mode_from_table(raw: dict[str, Any], path: Path, warnings: list[str] | None = None) -> Mode:
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip() or "\n" in name or len(name) > 40:
        raise ModeFileError("name must be one line of 1 to 40 characters")
    key = "system_prompt" if "system_prompt" in raw else "system"
    prompt = raw.get(key)
    if not isinstance(prompt, str):
        raise ModeFileError(f"{key} is missing or not a string (system_prompt = \"...\")")
    if "system_prompt" in raw and "system" in raw and warnings is not None:
        warnings.append(f"mode file {path.name}: both system and system_prompt; "
                        "system_prompt is used")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ModeFileError("description must be a string")
    params = raw.get("parameters", {})
    if not isinstance(params, dict):
        raise ModeFileError("parameters must be a table ([parameters])")
    try:
        checked = check_params(params)
    except ParameterError as exc:
        raise ModeFileError(f"parameters: {exc}") from None
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown and warnings is not None:
        warnings.append(f"mode file {path.name}: unknown keys ignored: {', '.join(unknown)}")
    return Mode(name.strip(), " ".join(description.split()), prompt.strip(), checked, str(path))
