"""Implementations of the headless subcommands (``offyai ask`` and friends)."""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from offyai_tui import locations
from offyai_tui.config import ConfigError, Settings, load_settings
from offyai_tui.engines.base import ChatOptions, Done, Engine, ErrorEvent, Message, TextDelta
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.textsafe import strip_controls, visible
from offyai_tui.workspace import Workspace, WorkspaceError

if TYPE_CHECKING:
    import argparse


class UserError(Exception):
    """A failure to report as one line on stderr with exit code 1."""


def dispatch(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    for warning in settings.warnings:
        print(f"offyai: {visible(warning)}", file=sys.stderr)
    if getattr(args, "engine", None):
        settings.engine.default = args.engine
        settings.overrides["engine.default"] = "--engine"
    if getattr(args, "model", None):
        settings.chat.model = args.model
    try:
        workspace = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None
    command = args.command
    if command is None:
        return run_tui(settings, workspace)
    if command == "locate":
        return locate()
    if command == "setup":
        return setup()
    handler = HANDLERS[command]
    return _run(handler(args, settings, workspace))


def _run(coro: Awaitable[int]) -> int:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except EngineError as exc:
        raise UserError(str(exc)) from None
    except WorkspaceError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        from offyai_tui.oserrors import describe

        raise UserError(describe(exc)) from None
    except sqlite3.Error as exc:
        hint = " (is the disk full?)" if "I/O" in str(exc) or "full" in str(exc) else ""
        raise UserError(f"the workspace index could not be written: {exc}{hint}") from None


def run_tui(settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.app import make_app

    registry = EngineRegistry(settings)
    app = make_app(settings=settings, workspace=workspace, registry=registry)
    app.run()
    return int(app.return_code or 0)


def locate() -> int:
    width = max(len(name) for name in locations.all_locations())
    for name, path in locations.all_locations().items():
        print(visible(f"{name:<{width}}  {path}"))
    return 0


def setup() -> int:
    from offyai_tui import bundled

    try:
        models = bundled.prepare_all(report=lambda line: print(line, flush=True))
    except EngineError as exc:
        raise UserError(str(exc)) from None
    for model in models:
        state = "ready" if model.ready else "MISSING"
        print(f"{state:<7} {model.name:<24} {model.kind:<9} {model.path}")
    expected = {bundled.SMOLLM2, bundled.GEMMA3, bundled.MINILM}
    missing = expected - {m.name for m in models if m.ready}
    if missing:
        raise UserError(f"bundled models not ready: {', '.join(sorted(missing))}")
    return 0


async def _engine(registry: EngineRegistry, args: argparse.Namespace) -> Engine:
    if getattr(args, "engine", None):
        return registry.engine(args.engine)
    selection = await registry.detect()
    for warning in selection.warnings:
        print(f"offyai: {visible(warning)}", file=sys.stderr)
    return selection.engine


def _prompt_text(args: argparse.Namespace) -> str:
    prompt = " ".join(args.prompt).strip()
    if not sys.stdin.isatty():
        from offyai_tui.cli_guard import read_piped

        try:
            piped, note = read_piped()
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if note:
            print(f"offyai: piped input {note}", file=sys.stderr)
        if piped.strip():
            prompt = f"{prompt}\n\n{piped}" if prompt else piped
    if not prompt.strip():
        raise UserError('nothing to ask: give a prompt, e.g. offyai ask "Write a haiku"')
    return prompt


def _system_prompt(args: argparse.Namespace, settings: Settings) -> str:
    if args.system:
        return str(args.system)
    from offyai_tui.chat import modes

    name = args.mode or settings.chat.mode
    found = modes.find_mode(name)
    if found is None:
        known = ", ".join(m.name.lower() for m in modes.load_modes().modes)
        raise UserError(f"unknown mode {name!r}; available: {known}")
    return found.system_prompt


def _ask_options(args: argparse.Namespace, settings: Settings, model: str) -> ChatOptions:
    """The mode's parameters (as in the chat), then --max-tokens, --temperature, --seed."""
    from offyai_tui.chat import modes
    from offyai_tui.chat.params import apply_params

    mode = modes.find_mode(args.mode or settings.chat.mode)
    options = apply_params(ChatOptions(model=model), mode.parameters if mode else {})
    for flag, name in (("max_tokens", "num_predict"), ("temperature", "temperature"),
                       ("seed", "seed")):
        if getattr(args, flag) is not None:
            setattr(options, name, getattr(args, flag))
    return options


async def ask(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.cli_guard import check_options, guarded, timeout_for

    try:
        check_options(args)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    prompt = _prompt_text(args)
    system = _system_prompt(args, settings)
    registry = EngineRegistry(settings)
    try:
        engine = await _engine(registry, args)
        model = settings.chat.model or await engine.default_model()
        if (prewarm := getattr(engine, "prewarm", None)) is not None:
            await prewarm(model)  # the model loads while the rest of the start runs
        messages = [Message("system", system)] if system else []
        messages.append(Message("user", prompt))
        sources: list[Any] = []
        if args.docs:
            messages, sources = await _with_documents(
                messages, prompt, settings, workspace, registry, engine,
                this_run=bool(getattr(args, "allow_remote_docs", False)),
            )  # fmt: skip
        options = _ask_options(args, settings, model)
        clean = strip_controls if sys.stdout.isatty() else (lambda text: text)
        wrote = False
        from offyai_tui.chat.runaway import guard_repetition

        stream = guard_repetition(
            engine.stream_chat(messages, options), settings.chat.repeat_guard, model
        )
        timeout = timeout_for(engine, getattr(args, "timeout", None), settings.chat.timeout)
        async for event in guarded(stream, engine, timeout):
            if isinstance(event, TextDelta):
                sys.stdout.write(clean(event.text))
                sys.stdout.flush()
                wrote = wrote or bool(event.text)
            elif isinstance(event, ErrorEvent):
                if wrote:
                    sys.stdout.write("\n")
                    sys.stdout.flush()
                raise UserError(str(event.error))
            elif isinstance(event, Done):
                sys.stdout.write("\n")
                if sources:
                    sys.stdout.write("\nSources:\n")
                    sys.stdout.writelines(f"[{s.number}] {visible(s.label)}\n" for s in sources)
                sys.stdout.flush()
                from offyai_tui.manage.speed_record import record_answer

                if event.stats.note:  # cut short: the context is full, or it looped
                    print(f"offyai: {visible(event.stats.note)}", file=sys.stderr)
                if event.stats.done_reason != "repeating":  # no real stats to record
                    await record_answer(engine, event.stats)  # for `offyai models`
                if args.stats:
                    s = event.stats
                    print(
                        visible(
                            f"{s.model} · {s.completion_tokens} tokens · {s.tokens_per_s:.1f}"
                            f" tok/s · first token {s.ttft_s * 1000:.0f} ms · {s.done_reason}"
                        ),
                        file=sys.stderr,
                    )
        return 0
    finally:
        await registry.aclose()


async def models(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui import hardware
    from offyai_tui.cli_tables import print_models
    from offyai_tui.manage.rows import collect

    registry = EngineRegistry(settings)
    try:
        await registry.prepare_plugins()
        engines = registry.configured()
        for line in registry.skipped:  # an unusable address; a plugin that does not load
            print(f"offyai: {visible(line)}", file=sys.stderr)
        if getattr(args, "engine", None):
            engines = [registry.engine(args.engine)]
        hw = await asyncio.to_thread(hardware.detect)
        n_ctx = settings.chat.num_ctx or hardware.DEFAULT_N_CTX
        inventory = await collect(engines, hw, log=hardware.SpeedLog(), n_ctx=n_ctx)
        listed = await registry.listing()
    finally:
        await registry.aclose()
    return print_models(inventory, hw, n_ctx, as_json=bool(getattr(args, "json", False)),
                        engines=listed)


async def pull(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from offyai_tui.manage.pull_track import PullTracker

    registry = EngineRegistry(settings)
    try:
        engine = registry.engine(getattr(args, "engine", None) or "ollama")
        if not engine.IMPLEMENTS_PULL:
            raise UserError(
                f"{engine.label} cannot download models; pull with Ollama (--engine ollama)"
                " or import a .gguf file on the Models screen"
            )
        tracker = PullTracker(args.name)
        columns = (
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as progress:
            tasks: dict[str, Any] = {}
            said = ""
            async for step in engine.pull(args.name):
                layer = tracker.update(step)
                if layer is None:
                    if step.status not in (said, "success"):
                        progress.console.print(visible(step.status), markup=False, highlight=False)
                    said = step.status
                    continue
                if layer.digest not in tasks:
                    what = visible(f"pulling {layer.short}")  # the digest comes from the server
                    tasks[layer.digest] = progress.add_task(what, total=None)
                progress.update(
                    tasks[layer.digest], total=layer.total or None, completed=layer.completed
                )
        print(visible(tracker.summary()))
        return 0
    finally:
        await registry.aclose()


async def rm(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.hardware import format_bytes
    from offyai_tui.manage.actions import delete_model, find_installed

    registry = EngineRegistry(settings)
    try:
        engines = registry.configured()
        for line in registry.skipped:
            print(f"offyai: {line}", file=sys.stderr)
        if getattr(args, "engine", None):
            engines = [registry.engine(args.engine)]
        engine, info = await find_installed(engines, args.name)
        unloaded = await delete_model(engine, info.name)
    finally:
        await registry.aclose()
    line = f"deleted {info.name} from {engine.label}"
    if unloaded:
        line += " (unloaded first)"
    if info.size_bytes:
        line += f"; freed {'' if info.path else 'up to '}{format_bytes(info.size_bytes)}"
    print(visible(line))
    return 0


def _embedding_engine(registry: EngineRegistry, settings: Settings) -> Engine:
    return registry.engine(settings.rag.embedding_engine)


async def _with_documents(
    messages: list[Message],
    question: str,
    settings: Settings,
    workspace: Workspace,
    registry: EngineRegistry,
    engine: Engine,
    *,
    this_run: bool = False,
) -> tuple[list[Message], list[Any]]:
    """The request with the last question grounded in the workspace's documents.

    A remote chat engine gets no passages without the workspace's opt-in for
    its host or ``--allow-remote-docs`` (``this_run``): the turn runs without
    them and one line on stderr says so. The search is skipped then too.
    """
    from offyai_tui import privacy
    from offyai_tui.rag import RagError, augment, retrieve

    if why := privacy.check(engine, workspace, this_run=this_run):
        print(f"offyai: {privacy.refusal(why, 'answering without them')}", file=sys.stderr)
        return messages, []
    window = settings.chat.num_ctx or settings.llamacpp.n_ctx
    budget = max(256, (window - settings.chat.reply_reserve) // 2)
    try:
        retrieval = await retrieve(
            workspace, _embedding_engine(registry, settings), settings, question,
            budget_tokens=budget, remote_this_run=this_run,
        )  # fmt: skip
    except RagError as exc:
        raise UserError(str(exc)) from None
    if retrieval.note:
        print(f"offyai: {visible(retrieval.note)}", file=sys.stderr)
    if not retrieval.sources:
        print("offyai: no document matched; answering without sources", file=sys.stderr)
    return augment(messages, retrieval.sources), list(retrieval.sources)


async def index(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.cli_interrupt import EXIT_CODE, ctrl_c_stops
    from offyai_tui.rag import Documents, RagError
    from offyai_tui.rag.language import documents_hint
    from offyai_tui.rag.progress import progress_line

    if getattr(args, "follow_symlinks", False):
        settings.rag.follow_symlinks = True
    configured = settings.rag.embedding_model
    if getattr(args, "embedder", None):
        settings.rag.embedding_model = args.embedder
    tty = sys.stderr.isatty()

    def progress(step: Any) -> None:
        if tty:
            sys.stderr.write(f"\r\x1b[2K{progress_line(step)[:120]}")
            sys.stderr.flush()

    registry = EngineRegistry(settings)
    try:
        engine = _embedding_engine(registry, settings)
        missing = [p for p in args.paths if not os.path.lexists(p)]
        paths = [p for p in args.paths if p not in missing]
        if missing and not paths:
            raise UserError(_not_found(missing))
        docs = Documents(
            workspace.ensure(), engine, settings,
            remote_this_run=bool(getattr(args, "allow_remote_docs", False)),
        )  # fmt: skip
        try:  # Ctrl+C: stop within a second, keep what is stored; twice: exit now
            with ctrl_c_stops(docs.cancel):
                report = await docs.add(paths, progress)
            hint = await documents_hint(docs)
        finally:
            docs.close()
    except RagError as exc:
        raise UserError(str(exc)) from None
    finally:
        if tty:
            sys.stderr.write("\r\x1b[2K")
        await registry.aclose()
    print(visible(report.summary()))
    if hint:
        print(f"offyai: {hint}", file=sys.stderr)
    if getattr(args, "embedder", None) and args.embedder != configured:
        print(f"offyai: the index now holds {visible(args.embedder)}'s vectors; set "
              f'rag.embedding_model = "{visible(args.embedder)}" in the config so searches '
              "use it too", file=sys.stderr)
    for skipped in report.skipped:
        print(f"skipped {visible(skipped)}")
    outside = sum(1 for s in report.skipped if s.reason.startswith("symlink to outside"))
    if outside and not settings.rag.follow_symlinks:
        print(f"offyai: {outside} link{'s' if outside != 1 else ''} out of the folders not "
              "followed; --follow-symlinks follows them (hidden folders never)", file=sys.stderr)
    if report.cancelled:
        # A file being parsed when the run stopped may have left a large heap behind
        # (a long PDF: millions of objects); the exit must not walk it (2-3 s).
        gc.freeze()
        return EXIT_CODE
    if missing:  # the others were indexed; the typo still fails the command
        raise UserError(_not_found(missing))
    return 0


def _not_found(paths: list[str]) -> str:
    """One line for paths given to ``offyai index`` that do not exist (a typo)."""
    shown = ", ".join(visible(p) for p in paths)
    return f"no such file or folder: {shown} (check the spelling; nothing was indexed from it)"


async def doctor(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    if getattr(args, "json", False):
        from offyai_tui.cli_hw import doctor_json

        return await doctor_json(settings, workspace)
    registry = EngineRegistry(settings)
    try:
        selection = await registry.detect()
        for warning in selection.warnings:
            print(visible(f"warning    {warning}"))
        print(visible(f"engine     {selection.engine.label} ({selection.engine.endpoint})"))
        print(visible(f"why        {selection.reason}"))
        for probe in selection.probes:
            state = "ok" if probe.ok else "no"
            line = f"probe      {probe.engine:<10} {probe.endpoint:<32} {state:<3} {probe.detail}"
            print(visible(line))
        listed = await registry.listing()
        builtin = ", ".join(e.name for e in listed if e.builtin)
        plugins = ", ".join(e.name for e in listed if not e.builtin and e.name) or "none"
        print(visible(f"engines    {builtin} (built in); plugins: {plugins}"))
        for entry in (e for e in listed if not e.builtin):
            print(visible(f"plugin     {entry.line()}"))
        try:
            model = settings.chat.model or await selection.engine.default_model()
            print(visible(f"model      {model}"))
        except EngineError as exc:
            print(visible(f"model      none ({exc})"))
    finally:
        await registry.aclose()
    from offyai_tui import hardware

    for line in hardware.describe(hardware.detect(), engines=True):
        print(visible(f"hardware   {line}"))
    from offyai_tui.cli_memory import kv_lines

    for line in kv_lines(settings):
        print(visible(f"memory     {line}"))
    print(visible(f"workspace  {workspace.name} ({workspace.root})"))
    locate()
    return 0 if selection.answering else 1  # the engine asked for is down


async def fit(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.cli_hw import fit as what_if

    return await what_if(args, settings, workspace)


HANDLERS: dict[str, Callable[..., Awaitable[int]]] = {
    "ask": ask,
    "fit": fit,
    "models": models,
    "pull": pull,
    "rm": rm,
    "index": index,
    "doctor": doctor,
}
