"""Changing a few settings in ``config.toml`` from the app, keeping the rest of the file.

The Models screen's "set as default" actions write here. The file is edited line by
line, so the user's comments and layout survive, and the result is parsed before it
replaces the old file (atomically, 0600): an edit that would produce a config the app
cannot load is refused with one readable line and nothing is written.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from offyai_tui.settings import locations
from offyai_tui.settings.config import ConfigError, parse_settings
from offyai_tui.util.fileio import atomic_write_text

Value = str | int | float | bool

_KEY = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


class ConfigWriteError(Exception):
    """The config could not be updated; the message is one readable line."""


def toml_value(value: Value) -> str:
    """``value`` as a TOML literal (strings as basic strings, escapes included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigWriteError(f"cannot write {value!r} to the config")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise ConfigWriteError(f"cannot write a {type(value).__name__} to the config")


def _section_bounds(lines: list[str], section: str) -> tuple[int, int] | None:
    """Index of the ``[section]`` header and of the first line after the section."""
    start = None
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("["):
            continue
        if start is not None:
            return start, index
        match = _HEADER.match(line)
        if match and match.group(1) == section:
            start = index
    return (start, len(lines)) if start is not None else None


def _set_line(lines: list[str], section: str, key: str, literal: str) -> list[str]:
    assignment = f"{key} = {literal}"
    bounds = _section_bounds(lines, section)
    if bounds is None:
        tail = [""] if lines and lines[-1].strip() else []
        return [*lines, *tail, f"[{section}]", assignment]
    start, end = bounds
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for index in range(start + 1, end):
        if pattern.match(lines[index]):
            return [*lines[:index], assignment, *lines[index + 1 :]]
    last = start
    for index in range(start + 1, end):
        if lines[index].strip():
            last = index
    return [*lines[: last + 1], assignment, *lines[last + 1 :]]


def update_text(text: str, updates: Mapping[str, Value], source: str = "config.toml") -> str:
    """The config text with ``updates`` (``"section.key": value``) applied.

    Raises:
        ConfigWriteError: a key is not ``section.key``, the file is not valid TOML,
            or the edit would not give a loadable config.
    """
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigWriteError(f"{source} is not valid TOML, not changing it ({exc})") from None
    lines = text.splitlines()
    for dotted, value in updates.items():
        if not _KEY.match(dotted):
            raise ConfigWriteError(f"{dotted!r} is not a section.key setting name")
        section, key = dotted.split(".")
        lines = _set_line(lines, section, key, toml_value(value))
    new_text = "\n".join(lines) + "\n"
    try:
        raw = tomllib.loads(new_text)
        parse_settings(new_text, source, strict=True)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigWriteError(
            f"{source}: cannot set {', '.join(updates)} automatically ({exc}); edit it by hand"
        ) from None
    except ConfigError as exc:
        raise ConfigWriteError(str(exc)) from None
    for dotted, value in updates.items():
        section, key = dotted.split(".")
        table = raw.get(section)
        if not isinstance(table, dict) or table.get(key) != value:
            raise ConfigWriteError(
                f"{source}: {dotted} is set in a form this editor cannot change; edit it by hand"
            )
    return new_text


def set_config_values(updates: Mapping[str, Value], path: Path | None = None) -> Path:
    """Set several ``section.key`` values in one atomic write; return the file's path.

    Raises:
        ConfigWriteError: the file cannot be read, parsed or written (one line).
    """
    path = path or locations.config_file()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigWriteError(f"{path}: cannot be read ({exc})") from None
    new_text = update_text(text, updates, str(path))
    try:
        atomic_write_text(path, new_text)
    except OSError as exc:
        raise ConfigWriteError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


def set_config_value(key: str, value: Value, path: Path | None = None) -> Path:
    """Set one ``section.key`` (e.g. ``chat.model``) in ``config.toml``."""
    return set_config_values({key: value}, path)
