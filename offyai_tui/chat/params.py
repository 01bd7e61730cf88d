"""Generation parameters in the chat core: the option table, with the chat's errors.

The table itself (names, types, ranges, parsing) is :mod:`offyai_tui.engines.options`;
here its errors become :class:`~offyai_tui.chat.errors.ParameterError`, which the
chat screen shows with a title like every other chat error.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.chat.errors import ParameterError
from offyai_tui.engines import options
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
