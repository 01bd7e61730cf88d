"""Themes as data: TOML files loaded at startup, tolerant of mistakes.

Built-in themes live in ``themes/`` at the top of the repository (packaged as
``offyai_tui/ui/_themes``); users add their own in ``<config dir>/themes``. A file
that cannot be used is reported as one warning line and skipped, so a typo in
a user theme never stops the app from starting. A ``[variables]`` entry Textual
could not parse (``footer-key-foreground = "#12345"``) used to pass here and
fail later as "CSS parsing failed", exiting the app at start or when the theme
was picked; each one is now tried in CSS like its default is used, and one that
fails is left out with a warning naming the file and the key.

The theme picked in the command palette is saved as ``ui.theme`` in
``config.toml`` (see :mod:`offyai_tui.settings.config_write`, which keeps the rest of
the file as it was).
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from offyai_tui.settings import locations

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

COLOR_KEYS = (
    "primary", "secondary", "warning", "error", "success", "accent",
    "foreground", "background", "surface", "panel", "boost",
)
_NUMBER_KEYS = ("luminosity_spread", "text_alpha")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ThemeError(ValueError):
    """A theme file that cannot be used; the message is one readable line."""


def builtin_themes_dir() -> Path:
    """The shipped themes: packaged copy if installed, else the checkout's ``themes/``."""
    packaged = Path(__file__).resolve().parent / "_themes"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "themes"


def user_themes_dir() -> Path:
    return locations.config_dir() / "themes"


def parse_theme(
    text: str, source: str, *, check_variables: bool = True
) -> tuple[Theme, list[str]]:
    """Build a :class:`Theme` from TOML text; returns it with non-fatal warnings.

    ``check_variables`` tries each ``[variables]`` value in CSS (about a
    millisecond each); the shipped themes, tested in the suite, skip it to keep
    the start fast.

    Raises:
        ThemeError: invalid TOML, a missing ``primary``, or a bad colour or value.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{source}: not valid TOML ({exc})") from None
    warnings: list[str] = []
    name = raw.pop("name", Path(source).stem)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeError(f"{source}: name must be letters, digits, '.', '_' or '-'")
    kwargs: dict[str, Any] = {"name": name}
    for key in COLOR_KEYS:
        if key in raw:
            kwargs[key] = _color(raw.pop(key), f"{source}: {key}")
    if "primary" not in kwargs:
        raise ThemeError(f"{source}: primary colour missing")
    dark = raw.pop("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{source}: dark must be true or false")
    kwargs["dark"] = dark
    for key in _NUMBER_KEYS:
        if key in raw:
            value = raw.pop(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ThemeError(f"{source}: {key} must be a number")
            kwargs[key] = float(value)
    variables = raw.pop("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ThemeError(f"{source}: [variables] must map names to strings")
    for key in raw:
        warnings.append(f"{source}: unknown key {key!r} ignored")
    try:
        defaults = Theme(**kwargs).to_color_system().generate()
    except (ColorParseError, ValueError) as exc:
        raise ThemeError(f"{source}: {exc}") from None
    if check_variables:
        variables = {k: v for k, v in variables.items()
                     if _variable_usable(k, v, defaults, source, warnings)}
    kwargs["variables"] = dict(variables)
    return Theme(**kwargs), warnings


_PROBES = ("color", "background", "text-style")
"""Properties a theme variable is tried in: those its default value parses in."""


def _variable_usable(
    name: str, value: str, defaults: dict[str, str], source: str, warnings: list[str]
) -> bool:
    """Whether ``$name: value`` parses wherever its default does; else warn once."""
    default = defaults.get(name)
    needed = [p for p in _PROBES if default is not None and _parses(p, name, default)]
    if needed:
        ok = all(_parses(p, name, value) for p in needed)
    else:  # a variable no CSS of Textual's uses: only its syntax matters
        from textual.css.tokenize import tokenize_values
        from textual.css.tokenizer import TokenError

        try:
            tokenize_values({name: value})
            ok = True
        except (TokenError, ValueError):
            ok = False
    if not ok:
        warnings.append(f"{source}: [variables] {name} = {value!r} is not a valid value "
                        "for it; left out")
    return ok


@functools.lru_cache(maxsize=512)
def _parses(prop: str, name: str, text: str) -> bool:
    """Whether ``prop: $name`` parses with ``$name`` set to ``text`` (cached: the
    probes for a default are the same for every theme)."""
    from textual.css.stylesheet import Stylesheet, StylesheetError
    from textual.css.tokenizer import TokenError

    sheet = Stylesheet(variables={name: text})
    try:
        sheet.add_source(f"Screen {{ {prop}: ${name}; }}", read_from=("theme", name))
        sheet.parse()
    except (StylesheetError, TokenError, ValueError):
        return False
    return True


def _color(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{where} must be a colour string such as \"#4FA3E0\"")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{where}: {value!r} is not a colour") from None
    return value


def load_themes(directories: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """Load every ``*.toml`` theme; later directories override earlier names.

    Returns the themes and one warning per unusable file or unknown key.
    """
    if directories is None:
        directories = [builtin_themes_dir(), user_themes_dir()]
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                text = path.read_text(encoding="utf-8")
                trusted = directory == builtin_themes_dir()
                theme, notes = parse_theme(text, str(path), check_variables=not trusted)
            except (OSError, UnicodeDecodeError) as exc:
                warnings.append(f"theme {path}: cannot be read ({exc}); skipped")
                continue
            except ThemeError as exc:
                warnings.append(f"theme {exc}; skipped")
                continue
            themes[theme.name] = theme
            warnings.extend(f"theme {note}" for note in notes)
    return list(themes.values()), warnings
