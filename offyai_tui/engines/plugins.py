"""Engine plugins: every engine is named in the ``offyai.engines`` entry-point group.

A package registers an engine with an entry point whose value names an
:class:`~offyai_tui.engines.base.Engine` subclass or a factory; it is called with
the ``[engines.NAME]`` table of ``config.toml`` as a dict (``{}`` when absent).
A factory that also takes a ``settings`` keyword gets the whole parsed settings
(the built-ins do: their sections are ``[ollama]``, ``[[openai]]``, ``[llamacpp]``).

Why it is lazy: reading entry points imports :mod:`importlib.metadata` (about
40 ms) and scans every installed distribution; a cold start that uses a built-in
engine needs neither. Built-in names therefore resolve from :data:`BUILTINS`
(the very targets ``pyproject.toml`` registers; a test holds the two equal), and
the group is read once per process, only when a name is not built in or when
every engine is listed (``offyai models``, ``offyai doctor``). A plugin module
is imported only when its engine is asked for.

Why failures are one line: a plugin is someone else's code. One that does not
import or whose constructor raises must never stop the app or print a
traceback; :class:`PluginError` names the plugin, its package and the reason,
made inert for the terminal, and callers skip it.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from offyai_tui.engines.base import ChatEvent, Engine, ErrorEvent, Health, TextDelta
from offyai_tui.engines.errors import EngineError
from offyai_tui.util.textsafe import visible

GROUP = "offyai.engines"
BUILTINS: dict[str, str] = {
    "ollama": "offyai_tui.engines.builtin:ollama",
    "openai": "offyai_tui.engines.builtin:openai",
    "llamacpp": "offyai_tui.engines.builtin:llamacpp",
}
"""The built-in engines, as ``pyproject.toml`` registers them."""
ALIASES = {"llama.cpp": "llamacpp", "llama-cpp": "llamacpp"}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A usable engine name: it is typed after ``--engine`` and is a TOML table key."""
REASON_CHARS = 300


class PluginError(EngineError):
    """An engine plugin that cannot be imported or built; one line naming it and why."""

    title = "Engine plugin failed"

    def __init__(self, name: str, package: str, why: str) -> None:
        super().__init__(f"engine plugin {name!r} ({package}) {why}")
        self.why = why
        """What went wrong, without the plugin's name (for lists that name it already)."""


@dataclass(frozen=True)
class Registered:
    """One engine of the group: its name, what it points at and the package it came from."""

    name: str
    target: str
    """``module:attribute``, as in the entry point."""
    package: str
    builtin: bool


_found: dict[str, Registered] | None = None
_problems: list[str] = []


def reason(exc: BaseException) -> str:
    """An exception as one inert, bounded line (a plugin's message is data, not ours)."""
    text = " ".join(str(exc).split()) or "no message"
    line = visible(f"{type(exc).__name__}: {text}")
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


def canonical(name: str) -> str:
    """The registered name for ``name`` (``llama.cpp`` is ``llamacpp``)."""
    return ALIASES.get(name, name)


def registered() -> dict[str, Registered]:
    """Every engine by name, built-ins first; the entry points are read once per process."""
    global _found
    if _found is None:
        _found, problems = _discover()
        _problems[:] = problems
    return _found


def problems() -> list[str]:
    """One line per registration that was left out (a bad or taken name)."""
    registered()
    return list(_problems)


def forget() -> None:
    """Read the entry points again on next use (after packages were installed)."""
    global _found
    _found = None
    _problems.clear()


def _discover() -> tuple[dict[str, Registered], list[str]]:
    found = {n: Registered(n, t, "offyai-tui", True) for n, t in BUILTINS.items()}
    notes: list[str] = []
    try:
        from importlib.metadata import entry_points

        entries = sorted(entry_points(group=GROUP), key=lambda entry: entry.name)
    except Exception as exc:  # a broken installed distribution's metadata
        return found, [f"engine plugins could not be listed: {reason(exc)}"]
    for entry in entries:
        package = _package(entry)
        shown = visible(entry.name)
        if entry.name in BUILTINS or entry.name in ALIASES:
            if entry.value.replace(" ", "") != BUILTINS.get(entry.name):
                notes.append(f"engine plugin {shown!r} ({package}) uses a built-in engine's "
                             "name; ignored")
            continue  # else the built-ins' own registration
        if entry.name in found:
            notes.append(f"engine plugin {shown!r} ({package}) is also registered by "
                         f"{found[entry.name].package}; ignored")
            continue
        if not NAME.fullmatch(entry.name):
            notes.append(f"engine plugin {shown!r} ({package}) has a name that cannot be "
                         "typed after --engine (letters, digits, '.', '_', '-'); ignored")
            continue
        found[entry.name] = Registered(entry.name, entry.value, package, False)
    return found, notes


def _package(entry: Any) -> str:
    try:
        dist = entry.dist
        return visible(f"{dist.name} {dist.version}") if dist is not None else "unknown package"
    except Exception:  # METADATA without a name or version
        return "unknown package"


def factory(name: str) -> tuple[Registered, Callable[..., Any]]:
    """The engine class or factory registered as ``name``, imported now.

    Raises:
        EngineError: no engine has that name (the message lists those that do).
        PluginError: its module does not import, or has no such attribute.
    """
    name = canonical(name)
    if name in BUILTINS:  # no entry-point scan on the way to a built-in engine
        entry = Registered(name, BUILTINS[name], "offyai-tui", True)
    else:
        entry = registered().get(name)  # type: ignore[assignment]
        if entry is None:
            raise EngineError(f"unknown engine {visible(name)!r}; choose one of: {choices()}")
    try:
        return entry, _import(entry.target)
    except (Exception, SystemExit) as exc:
        raise PluginError(name, entry.package, f"cannot be imported: {reason(exc)}") from None


def choices() -> str:
    """The names ``--engine`` takes, for messages."""
    names = ["ollama", "openai[:NAME]", "llamacpp"]
    names += [n for n, r in registered().items() if not r.builtin]
    return ", ".join(names)


def _import(target: str) -> Any:
    module, _, attribute = target.partition(":")
    found: Any = importlib.import_module(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        found = getattr(found, part)
    return found


def build(name: str, config: Mapping[str, Any], settings: Any, **extra: Any) -> Engine:
    """The engine ``name``, built with its ``[engines.NAME]`` table.

    ``config`` is copied: an engine cannot change the settings the app holds.
    ``settings`` (and ``extra``) go only to a factory that declares parameters of
    those names, as the built-ins do.

    Raises:
        EngineError: an unknown name.
        PluginError: the plugin does not import, its constructor raised, or it
            gave something that is not an :class:`Engine`.
    """
    entry, made = factory(name)
    table = copy.deepcopy(dict(config))
    try:
        wants = _parameters(made)
        keywords = {k: v for k, v in {"settings": settings, **extra}.items() if k in wants}
        engine = made(table, **keywords)
    except (Exception, SystemExit) as exc:
        if entry.builtin:
            raise  # the registry reports the built-ins' own errors (an unusable address)
        raise PluginError(name, entry.package, f"could not start: {reason(exc)}") from None
    if not isinstance(engine, Engine):
        raise PluginError(name, entry.package, f"gave a {type(engine).__name__}, "
                          "not an offyai_tui.engines.Engine")
    if not entry.builtin:
        _guard(engine, name, entry.package)
    return engine


METHODS = (
    ("list_models", "listing its models"), ("default_model", "choosing a model"),
    ("model_info", "describing a model"), ("count_tokens", "counting tokens"),
    ("embed", "embedding"), ("loaded", "listing loaded models"), ("load", "loading a model"),
    ("unload", "unloading a model"), ("delete", "deleting a model"),
)  # fmt: skip
"""A plugin's async methods besides ``health`` and ``stream_chat``, and what each does."""


def _guard(engine: Engine, name: str, package: str) -> None:
    """Turn a plugin's unexpected exceptions into the contract's one-line errors.

    The app and ``offyai ask`` handle :class:`EngineError` (one line, the partial
    answer kept); a plugin's ``KeyError`` mid-answer would otherwise end ``ask``
    with a traceback. The methods are replaced on the instance, so the engine
    keeps its class, attributes and ``isinstance`` checks.
    """

    def failed(exc: Exception, doing: str) -> PluginError:
        return PluginError(name, package, f"failed {doing}: {reason(exc)}")

    stream = engine.stream_chat

    async def stream_chat(messages: Any, options: Any) -> AsyncIterator[ChatEvent]:
        text = ""
        inner = stream(messages, options)
        try:
            async for event in inner:
                if isinstance(event, TextDelta):
                    text += event.text
                yield event
        except EngineError as exc:  # raised instead of yielded: still one event
            yield ErrorEvent(exc, partial_text=text)
        except Exception as exc:
            yield ErrorEvent(failed(exc, "while answering"), partial_text=text)
        finally:  # stopped early (Esc): the plugin's stream closes now, not when collected
            closing = getattr(inner, "aclose", None)
            if closing is not None:
                await closing()

    health = engine.health

    async def guarded_health() -> Health:
        try:
            return await health()
        except Exception as exc:
            return Health(False, name, engine.endpoint, detail=failed(exc, "its probe").why)

    def wrap(method: Callable[..., Awaitable[Any]], doing: str) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except EngineError:
                raise
            except Exception as exc:
                raise failed(exc, doing) from None

        return call

    engine.stream_chat = stream_chat  # type: ignore[method-assign]
    engine.health = guarded_health  # type: ignore[method-assign]
    for method, doing in METHODS:
        setattr(engine, method, wrap(getattr(engine, method), doing))


def _parameters(made: Callable[..., Any]) -> set[str]:
    target = made.__init__ if isinstance(made, type) else made  # type: ignore[misc]
    try:
        return set(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # a builtin or C callable: the table only
        return set()
