"""Generation options a user may set: Ollama's names, their types and allowed ranges.

One table serves ``/set parameter``, mode files, ``[llamacpp.parameters]`` in
config and transcripts, so a value accepted in one place is accepted everywhere
and errors read the same. The names are Ollama's (its Modelfile ``PARAMETER``
names), and the table holds every one of them that llama.cpp implements, so a
Modelfile's parameters carry over as they are. ``ChatOptions`` has one field per
name (:func:`apply_params`). It lives with the engines, the lowest layer, so the
config can check its tables without importing the chat core;
:mod:`offyai_tui.chat.params` raises the chat's ``OptionError`` from it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from offyai_tui.engines.base import ChatOptions

ParamValue = int | float | list[str]


class OptionError(ValueError):
    """An unknown option name or a bad value; ``str()`` is one readable line."""


MAX_STOPS = 16
MAX_STOP_CHARS = 256


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: type
    """``int``, ``float`` or ``list`` (``stop``: a list of strings)."""
    low: float
    high: float
    help: str


PARAMETERS: dict[str, ParamSpec] = {
    spec.name: spec
    for spec in (
        ParamSpec("temperature", float, 0.0, 2.0, "randomness; 0 is deterministic"),
        ParamSpec("top_p", float, 0.0, 1.0, "nucleus sampling probability mass"),
        ParamSpec("top_k", int, 0, 1_000_000, "sample from the k likeliest tokens; 0 = off"),
        ParamSpec("min_p", float, 0.0, 1.0, "drop tokens less likely than min_p x the likeliest"),
        ParamSpec("typical_p", float, 0.0, 1.0, "locally typical sampling; 1 = off"),
        ParamSpec("repeat_penalty", float, 0.0, 5.0, "penalize repeated tokens; 1 = off"),
        ParamSpec("repeat_last_n", int, -1, 1_048_576, "tokens the penalties look back; -1 = all"),
        ParamSpec("presence_penalty", float, -2.0, 2.0, "penalize tokens already present"),
        ParamSpec("frequency_penalty", float, -2.0, 2.0, "penalize tokens by their count"),
        ParamSpec("mirostat", int, 0, 2, "Mirostat sampling: 0 = off, 1 or 2 = on"),
        ParamSpec("mirostat_tau", float, 0.0, 100.0, "Mirostat target surprise"),
        ParamSpec("mirostat_eta", float, 0.0, 1.0, "Mirostat learning rate"),
        ParamSpec("seed", int, -1, 2**32 - 1, "random seed; -1 = random"),
        ParamSpec("num_predict", int, -1, 1_000_000, "maximum tokens to generate; -1 = no limit"),
        ParamSpec("num_ctx", int, 128, 1_048_576, "context window in tokens"),
        ParamSpec("num_thread", int, 1, 1024, "generation threads (llama.cpp; capped to CPUs)"),
        ParamSpec("stop", list, 0, MAX_STOPS, "stop sequences, e.g. stop \"###\" \"User:\""),
    )
}


def parse_param(name: str, raw: str) -> ParamValue:
    """Convert the text of ``/set parameter NAME VALUE`` and validate it.

    ``stop`` takes any number of words, quoted as in a shell
    (``/set parameter stop "User:" ###``), as Ollama's ``/set parameter stop`` does.
    """
    spec = _spec(name)
    text = raw.strip()
    if spec.kind is list:
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise OptionError(f"{name}: {exc} in {text!r}") from None
        return check_param(name, words)
    try:
        value: ParamValue = int(text, 10) if spec.kind is int else float(text)
    except ValueError:
        kind = "a whole number" if spec.kind is int else "a number"
        raise OptionError(f"{name} must be {kind}, got {text!r}") from None
    return check_param(name, value)


def check_param(name: str, value: Any) -> ParamValue:
    """Validate a value from TOML or JSON; returns it with the right type."""
    spec = _spec(name)
    if spec.kind is list:
        return _check_stop(name, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{name} must be a number, got {value!r}")
    checked: int | float
    if spec.kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise OptionError(f"{name} must be a whole number, got {value!r}")
        checked = int(value)
    else:
        checked = float(value)
    if checked != checked or not spec.low <= checked <= spec.high:  # NaN fails too
        raise OptionError(
            f"{name} must be between {_num(spec.low)} and {_num(spec.high)}, got {checked!r}"
        )
    if name == "num_predict" and checked == 0:
        raise OptionError("num_predict must be -1 (no limit) or at least 1, got 0")
    return checked


def _check_stop(name: str, value: Any) -> list[str]:
    """A stop list: one string or a list of 0 to 16 non-empty strings (0 clears it)."""
    words = [value] if isinstance(value, str) else value
    if not isinstance(words, (list, tuple)) or not all(isinstance(w, str) for w in words):
        raise OptionError(f"{name} must be a string or a list of strings, got {value!r}")
    if len(words) > MAX_STOPS:
        raise OptionError(f"{name} takes at most {MAX_STOPS} sequences, got {len(words)}")
    for word in words:
        if not word or len(word) > MAX_STOP_CHARS:
            raise OptionError(
                f"each {name} sequence must be 1 to {MAX_STOP_CHARS} characters, got {word!r}"
            )
    return list(words)


def check_params(values: dict[str, Any]) -> dict[str, ParamValue]:
    """Validate a whole table; the first bad entry raises."""
    return {name: check_param(name, value) for name, value in values.items()}


def apply_params(options: ChatOptions, params: dict[str, ParamValue]) -> ChatOptions:
    """Copy validated parameters onto ``options`` (``ChatOptions`` uses the same names).

    ``num_ctx`` is left to the caller: the context plan decides the window sent.
    """
    for name, value in params.items():
        if name == "num_ctx" or name not in PARAMETERS:
            continue
        spec = PARAMETERS[name]
        if spec.kind is list:
            setattr(options, name, list(value))  # type: ignore[arg-type]
        else:
            setattr(options, name, spec.kind(value))
    return options


def format_value(value: ParamValue) -> str:
    """How ``/show`` prints a value: stop lists quoted as they are typed."""
    if isinstance(value, list):
        return " ".join(shlex.quote(word) for word in value) if value else "(none)"
    return str(value)


def _spec(name: str) -> ParamSpec:
    spec = PARAMETERS.get(name)
    if spec is None:
        raise OptionError(f"unknown parameter {name!r}; known: {', '.join(PARAMETERS)}")
    return spec


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
