"""Generation parameters a user may set: names, types and allowed ranges.

One table serves ``/set parameter``, mode files and transcripts, so a value
accepted in one place is accepted everywhere and errors read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offyai_tui.chat.errors import ParameterError

ParamValue = int | float


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: type
    """``int`` or ``float``."""
    low: float
    high: float
    help: str


PARAMETERS: dict[str, ParamSpec] = {
    spec.name: spec
    for spec in (
        ParamSpec("temperature", float, 0.0, 2.0, "randomness; 0 is deterministic"),
        ParamSpec("top_p", float, 0.0, 1.0, "nucleus sampling probability mass"),
        ParamSpec("top_k", int, 0, 1_000_000, "sample from the k likeliest tokens; 0 = off"),
        ParamSpec("seed", int, -1, 2**32 - 1, "random seed; -1 = random"),
        ParamSpec("num_predict", int, -1, 1_000_000, "maximum tokens to generate; -1 = no limit"),
        ParamSpec("num_ctx", int, 128, 1_048_576, "context window in tokens"),
    )
}


def parse_param(name: str, raw: str) -> ParamValue:
    """Convert the text of ``/set parameter NAME VALUE`` and validate it."""
    spec = _spec(name)
    text = raw.strip()
    try:
        value: ParamValue = int(text, 10) if spec.kind is int else float(text)
    except ValueError:
        kind = "a whole number" if spec.kind is int else "a number"
        raise ParameterError(f"{name} must be {kind}, got {text!r}") from None
    return check_param(name, value)


def check_param(name: str, value: Any) -> ParamValue:
    """Validate a value from TOML or JSON; returns it with the right type."""
    spec = _spec(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    checked: ParamValue
    if spec.kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ParameterError(f"{name} must be a whole number, got {value!r}")
        checked = int(value)
    else:
        checked = float(value)
    if checked != checked or not spec.low <= checked <= spec.high:  # NaN fails too
        raise ParameterError(
            f"{name} must be between {_num(spec.low)} and {_num(spec.high)}, got {checked!r}"
        )
    if name == "num_predict" and checked == 0:
        raise ParameterError("num_predict must be -1 (no limit) or at least 1, got 0")
    return checked


def check_params(values: dict[str, Any]) -> dict[str, ParamValue]:
    """Validate a whole table; the first bad entry raises."""
    return {name: check_param(name, value) for name, value in values.items()}


def _spec(name: str) -> ParamSpec:
    spec = PARAMETERS.get(name)
    if spec is None:
        raise ParameterError(f"unknown parameter {name!r}; known: {', '.join(PARAMETERS)}")
    return spec


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
