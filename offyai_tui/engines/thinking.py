"""Whether a reasoning model thinks before it answers, and how each engine is told.

``ChatOptions.think`` holds the user's choice: ``None`` leaves it to the model
(nothing is sent), ``True``/``False`` turn thinking on or off, and ``"low"``,
``"medium"``, ``"high"`` ask for an amount (gpt-oss and OpenAI's reasoning
models take levels). One parser serves ``/set think``, ``offyai ask --think``
and what transcripts store, so a value accepted in one place is accepted in all.

The embedded engine has no request field for it: the switch, where a model has
one, is a variable of the GGUF's own chat template (Qwen3's ``enable_thinking``,
gpt-oss's ``reasoning_effort``), so :func:`template_kwargs` reads the template to
decide what to pass, and refuses a request it cannot honour with one clear line.
"""

from __future__ import annotations

from typing import Any

from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.options import OptionError

Think = bool | str | None
"""``None`` (the model's default), ``True``, ``False``, or one of :data:`LEVELS`."""

LEVELS = ("low", "medium", "high")
WORDS: dict[str, Think] = {
    "on": True,
    "off": False,
    "low": "low",
    "medium": "medium",
    "high": "high",
    "default": None,
}
"""What ``/set think WORD`` and ``--think WORD`` accept."""

CAPABILITY = "thinking"
"""The ``ModelInfo.capabilities`` entry of a model that can think."""

THINK_OFF_HINT = "/set think off"


def parse_think(word: str) -> Think:
    """The value of ``/set think WORD``; an ``OptionError`` names the words allowed."""
    key = word.strip().lower()
    if key not in WORDS:
        raise OptionError(f"think must be one of {', '.join(WORDS)}, got {word.strip()!r}")
    return WORDS[key]


def check_think(value: Any) -> Think:
    """A stored value (JSON or TOML): ``null``, a boolean, a level or one of the words."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return parse_think(value)
    raise OptionError(f"think must be one of {', '.join(WORDS)}, got {value!r}")


def think_word(value: Think) -> str:
    """How ``/show`` names a value: the word that sets it."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def template_thinks(template: str | None) -> bool:
    """True when a chat template is written for a reasoning model."""
    return bool(template) and any(
        mark in template  # type: ignore[operator]
        for mark in ("<think>", "<thinking>", "enable_thinking", "reasoning_effort")
    )


def template_kwargs(template: str | None, think: Think, model: str) -> dict[str, Any]:
    """Variables to render ``template`` with so that it follows ``think``.

    Qwen3-style templates read ``enable_thinking`` (off: they close an empty
    think block in the prompt); gpt-oss's reads ``reasoning_effort``. A template
    that always thinks (DeepSeek-R1) has no switch: ``on`` changes nothing there.

    Raises:
        Unsupported: ``think`` asks for something this model cannot do.
    """
    text = template or ""
    if think is None:
        return {}
    has_switch = "enable_thinking" in text
    if isinstance(think, str):
        if "reasoning_effort" in text:
            return {"reasoning_effort": think}
        hint = "use /set think on" if has_switch else f"use {THINK_OFF_HINT} or default"
        raise Unsupported(f"{model} has no thinking levels in the embedded engine; {hint}")
    if has_switch:
        return {"enable_thinking": think}
    if not think:
        if template_thinks(text):
            raise Unsupported(
                f"{model} always thinks: its chat template has no switch to turn it off "
                "(use /set think default)"
            )
        return {}  # a model that cannot think already does not
    if template_thinks(text):
        return {}
    raise Unsupported(f"{model} cannot think (it is not a reasoning model); use {THINK_OFF_HINT}")
