"""``ollama run``-style slash commands typed in the prompt.

:func:`parse` turns the prompt text into a typed command; the UI executes it.
Text that is not a command comes back as :class:`Prompt` (send it). A prompt
that must start with a slash is written with two (``//etc/hosts is ...``);
text whose first word is a path (``/usr/bin is ...``) is a prompt too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from offyai_tui.chat.errors import ParameterError
from offyai_tui.chat.params import PARAMETERS, ParamValue, format_value, parse_param, parse_think
from offyai_tui.engines.thinking import WORDS, Think, think_word
from offyai_tui.util.pathtext import one_path

if TYPE_CHECKING:
    from offyai_tui.chat.conversation import Conversation
    from offyai_tui.settings.config import ChatSettings


@dataclass(frozen=True)
class Prompt:
    """Not a command: send ``text`` to the model."""

    text: str


@dataclass(frozen=True)
class SetSystem:
    """``/set system TEXT``: override the mode's system prompt."""

    text: str


@dataclass(frozen=True)
class SetParameter:
    """``/set parameter NAME VALUE`` (already validated)."""

    name: str
    value: ParamValue


@dataclass(frozen=True)
class SetThink:
    """``/set think on|off|low|medium|high|default`` (``None``: the model's default)."""

    value: Think


@dataclass(frozen=True)
class Show:
    """``/show [model|parameters|system]``; ``all`` without an argument."""

    what: Literal["all", "model", "parameters", "system"] = "all"


@dataclass(frozen=True)
class Clear:
    """``/clear``: forget the context (messages stay visible)."""


@dataclass(frozen=True)
class Help:
    """``/help`` or ``/?``: show ``text``."""

    text: str


@dataclass(frozen=True)
class Attach:
    """``/image PATH`` or ``/file PATH``: attach a file to the next message.

    ``path`` is as typed with quotes, backslash escapes and ``file://`` undone,
    not yet resolved (relative to the folder the app runs in);
    ``offyai_tui.attach.prepare`` reads it.
    """

    kind: Literal["image", "file"]
    path: str


@dataclass(frozen=True)
class InvalidCommand:
    """A command that cannot run; show ``message`` (one line) to the user."""

    message: str


SlashCommand = (
    Prompt | SetSystem | SetParameter | SetThink | Show | Clear | Help | Attach | InvalidCommand
)

COMMANDS = ("set", "show", "clear", "help", "image", "file")
_COMMAND = re.compile(r"^/(\?|[A-Za-z][A-Za-z_-]*)(?=\s|$)")
_SHOW_TOPICS = {
    "model": "model",
    "info": "model",
    "parameters": "parameters",
    "params": "parameters",
    "system": "system",
}

HELP_TEXT = """\
Commands:
  /set system TEXT             use TEXT as the system prompt of this conversation
  /set parameter NAME VALUE    set a generation parameter (see /set parameter)
  /set think on|off|low|medium|high|default
                               whether a reasoning model thinks first, and how much
  /show                        show model, mode, parameters and system prompt
  /show model|parameters|system
  /clear                       start a fresh context (earlier messages stay visible)
  /image PATH                  attach an image to the next message (vision models)
  /file PATH                   put a text file or PDF in the next message
                               (@PATH in a message, or a dropped file, does the same)
  /help, /?                    this help

Start a message with // to send a text that begins with a slash."""


def parameters_help() -> str:
    lines = ["Parameters (/set parameter NAME VALUE):"]
    for spec in PARAMETERS.values():
        lines.append(f"  {spec.name:<17} {spec.help}")
    return "\n".join(lines)


def parse(text: str) -> SlashCommand:
    """Classify prompt text; never raises."""
    stripped = text.strip()
    if stripped.startswith("//"):
        return Prompt(text.lstrip()[1:])
    match = _COMMAND.match(stripped)
    if match is None:
        return Prompt(text)
    name = match.group(1).lower()
    rest = stripped[match.end() :].strip()
    if name in ("help", "?"):
        return Help(parameters_help() if rest.startswith("param") else HELP_TEXT)
    if name == "clear":
        return Clear() if not rest else InvalidCommand("/clear takes no arguments")
    if name == "show":
        return _parse_show(rest)
    if name == "set":
        return _parse_set(rest)
    if name in ("image", "file"):
        path = one_path(rest)
        if path is None:
            return InvalidCommand(f"usage: /{name} PATH (quote a path with spaces)")
        return Attach("image" if name == "image" else "file", path)
    hint = difflib.get_close_matches(name, COMMANDS, n=1)
    did_you_mean = f"did you mean /{hint[0]}? " if hint else ""
    return InvalidCommand(f"unknown command /{name}; {did_you_mean}try /help")


def _parse_show(rest: str) -> SlashCommand:
    if not rest:
        return Show("all")
    topic = _SHOW_TOPICS.get(rest.lower())
    if topic is None:
        return InvalidCommand(f"unknown /show topic {rest!r}; use model, parameters or system")
    return Show(topic)  # type: ignore[arg-type]


def _parse_set(rest: str) -> SlashCommand:
    head, *tail = rest.split(None, 1) or [""]
    word = head.lower()
    args = tail[0].strip() if tail else ""
    if word == "system":
        body = _unquote(args)
        if not body:
            return InvalidCommand("usage: /set system TEXT")
        return SetSystem(body)
    if word in ("parameter", "param"):
        parts = args.split(None, 1)
        if not parts:
            return Help(parameters_help())
        name = parts[0].lower()
        many = name in PARAMETERS and PARAMETERS[name].kind is list  # stop "a" "b" ...
        if len(parts) != 2 or (not many and len(parts[1].split()) != 1):
            return InvalidCommand(
                "usage: /set parameter NAME VALUE, e.g. /set parameter temperature 0.2"
            )
        try:
            return SetParameter(name, parse_param(name, parts[1]))
        except ParameterError as exc:
            return InvalidCommand(str(exc))
    if word == "think":
        return _parse_think(args)
    return InvalidCommand(
        "usage: /set system TEXT, /set parameter NAME VALUE or /set think on|off|..."
    )


THINK_USAGE = f"usage: /set think {'|'.join(WORDS)}"


def _parse_think(args: str) -> SlashCommand:
    if not args or len(args.split()) != 1:
        return InvalidCommand(THINK_USAGE)
    try:
        return SetThink(parse_think(args))
    except ParameterError as exc:
        return InvalidCommand(str(exc))


def _unquote(text: str) -> str:
    for quote in ('"""', '"', "'"):
        if len(text) >= 2 * len(quote) and text.startswith(quote) and text.endswith(quote):
            return text[len(quote) : -len(quote)].strip()
    return text


def show_text(
    command: Show,
    conversation: Conversation,
    settings: ChatSettings | None = None,
    engine_defaults: Mapping[str, tuple[ParamValue, str]] | None = None,
) -> str:
    """The text ``/show`` displays for a conversation.

    ``engine_defaults`` are the values the engine uses for what the conversation
    leaves unset, each with where it comes from (``model file`` for a GGUF's own
    recommendation, ``per-model config``, ``default``), so ``/show parameters``
    lists what the model is really run with rather than "engine defaults".
    """
    params: dict[str, ParamValue] = {}
    sources: dict[str, str] = {}
    for name, (value, origin) in (engine_defaults or {}).items():
        params[name], sources[name] = value, origin
    chosen = conversation.effective_parameters(settings)
    params.update(chosen)
    sources.update({name: "config" for name in chosen})
    sources.update({name: "/set" for name in conversation.params})
    sources.update(
        {
            n: f"mode {conversation.mode.name}"
            for n in conversation.mode.parameters
            if n not in conversation.params
        }
    )
    parts: list[str] = []
    if command.what in ("all", "model"):
        parts.append(
            f"Model: {conversation.model or '(engine default)'}\nMode:  {conversation.mode.name}"
        )
        plan = conversation.last_plan
        if plan is not None:
            parts.append(
                f"Context: {plan.used:,} of {plan.window:,} tokens used "
                f"({'exact' if plan.exact else 'estimated'})"
            )
    if command.what in ("all", "parameters"):
        lines = ["Parameters:"]
        for name, value in params.items():
            shown = format_value(value)
            lines.append(f"  {name:<17} {shown}  ({sources.get(name, 'config')})")
        parts.append("\n".join(lines) if params else "Parameters: engine defaults")
        parts.append(f"Think: {think_word(conversation.think)}")
    if command.what in ("all", "system"):
        prompt = conversation.system_prompt or "(none)"
        origin = (
            "/set system" if conversation.system is not None else f"mode {conversation.mode.name}"
        )
        parts.append(f"System prompt ({origin}):\n{prompt}")
    return "\n\n".join(parts)
