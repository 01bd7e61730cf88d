"""Generation parameters in the chat core: the option table, with the chat's errors.

The table itself (names, types, ranges, parsing) is :mod:`offyai_tui.engines.options`;
here its errors become :class:`~offyai_tui.chat.errors.ParameterError`, which the
chat screen shows with a title like every other chat error.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.chat.errors import ParameterError
from offyai_tui.engines import options, thinking
from offyai_tui.engines.options import (
    MAX_STOP_CHARS,
    MAX_STOPS,
    PARAMETERS,
    ParamSpec,
    ParamValue,
    apply_params,
    format_value,
)

__all__ = [
    "MAX_STOPS",
    "MAX_STOP_CHARS",
    "PARAMETERS",
    "ParamSpec",
    "ParamValue",
    "apply_params",
    "check_param",
    "check_params",
    "format_value",
    "parse_param",
    "parse_think",
    "think_option",
]


def parse_param(name: str, raw: str) -> ParamValue:
    """Convert the text of ``/set parameter NAME VALUE`` and validate it."""
    try:
        return options.parse_param(name, raw)
    except options.OptionError as exc:
        raise ParameterError(str(exc)) from None


def check_param(name: str, value: Any) -> ParamValue:
    """Validate a value from TOML or JSON; returns it with the right type."""
    try:
        return options.check_param(name, value)
    except options.OptionError as exc:
        raise ParameterError(str(exc)) from None


def check_params(values: dict[str, Any]) -> dict[str, ParamValue]:
    """Validate a whole table; the first bad entry raises."""
    return {name: check_param(name, value) for name, value in values.items()}


def parse_think(word: str) -> thinking.Think:
    """The value of ``/set think on|off|low|medium|high|default`` (``ParameterError``)."""
    try:
        return thinking.parse_think(word)
    except options.OptionError as exc:
        raise ParameterError(str(exc)) from None


def check_think(value: Any) -> thinking.Think:
    """A stored ``think`` value from a transcript (``ParameterError`` if it makes no sense)."""
    try:
        return thinking.check_think(value)
    except options.OptionError as exc:
        raise ParameterError(str(exc)) from None


def think_option(stored: Any) -> thinking.Think:
    """What a stored or typed ``think`` value sends as ``ChatOptions.think``.

    ``offyai ask --think WORD`` and a conversation's ``/set think`` both go
    through here; a value that makes no sense means the model's default
    (nothing sent), so an old or hand-edited transcript still opens and answers.
    """
    try:
        return thinking.check_think(stored)
    except options.OptionError:
        return None
