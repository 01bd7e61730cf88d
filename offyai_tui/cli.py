"""Implementations of the headless subcommands (``offyai ask`` and friends)."""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from offyai_tui.commands import UserError
from offyai_tui.engines.base import Engine
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.registry import EngineRegistry
from offyai_tui.settings import locations
from offyai_tui.settings.config import ConfigError, Settings, load_settings
from offyai_tui.settings.workspace import Workspace, WorkspaceError
from offyai_tui.util.textsafe import visible

if TYPE_CHECKING:
    import argparse


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
        from offyai_tui.util.oserrors import describe

        raise UserError(describe(exc)) from None
    except sqlite3.Error as exc:
        hint = " (is the disk full?)" if "I/O" in str(exc) or "full" in str(exc) else ""
        raise UserError(f"the workspace index could not be written: {exc}{hint}") from None


def run_tui(settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.ui.app import make_app

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
    from offyai_tui.engines import bundled

    try:
        models = bundled.prepare_all(report=lambda line: print(line, flush=True))
    except EngineError as exc:
        raise UserError(str(exc)) from None
    for model in models:
        state = "ready" if model.ready else "MISSING"
        print(f"{state:<7} {model.name:<24} {model.kind:<9} {model.path}")
    from offyai_tui.commands.voice import prepare_model

    print(prepare_model())  # speech to text is optional: a missing model fails nothing
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
    attached = [*getattr(args, "image", []), *getattr(args, "file", [])]
    if not sys.stdin.isatty() and "-" not in attached:  # "-": stdin is the attachment
        from offyai_tui.commands.guard import read_piped

        try:
            piped, note = read_piped()
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if note:
            print(f"offyai: piped input {note}", file=sys.stderr)
        if piped.strip():
            prompt = f"{prompt}\n\n{piped}" if prompt else piped
    if not prompt.strip() and not attached:
        raise UserError('nothing to ask: give a prompt, e.g. offyai ask "Write a haiku"')
    return prompt


async def ask(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.guard import check_options

    try:
        check_options(args)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    prompt = _prompt_text(args)
    registry = EngineRegistry(settings)
    try:
        engine = await _engine(registry, args)
        if (start := getattr(engine, "start_worker", None)) is not None:
            start()  # the embedded engine's worker starts while the rest is imported
        from offyai_tui.commands.ask import run_ask

        return await run_ask(args, settings, workspace, registry, engine, prompt)
    finally:
        await registry.aclose()


async def models(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.tables import print_models
    from offyai_tui.hw import hardware
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
    from offyai_tui.hw.hardware import format_bytes
    from offyai_tui.manage.actions import delete_model, find_installed

    registry = EngineRegistry(settings)
    try:
        engines = registry.configured()
        for line in registry.skipped:
            print(f"offyai: {line}", file=sys.stderr)
        if getattr(args, "engine", None):
            engines = [registry.engine(args.engine)]
        engine, info = await find_installed(engines, args.name)
        deleted = await delete_model(engine, info.name)
    finally:
        await registry.aclose()
    freed = ""
    if info.size_bytes:
        freed = f"freed {'' if info.path else 'up to '}{format_bytes(info.size_bytes)}"
    print(visible(deleted.line(info.name, engine.label, freed)))
    return 0


def _embedding_engine(registry: EngineRegistry, settings: Settings) -> Engine:
    return registry.engine(settings.rag.embedding_engine)


async def index(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.interrupt import EXIT_CODE, ctrl_c_stops
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
        from offyai_tui.commands.hw import doctor_json

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
            from offyai_tui.manage.projectors import vision_note

            note = await vision_note(selection.engine, model)
            print(visible(f"model      {model}" + (f" ({note})" if note else "")))
        except EngineError as exc:
            print(visible(f"model      none ({exc})"))
    finally:
        await registry.aclose()
    from offyai_tui.hw import hardware

    for line in hardware.describe(hardware.detect(), engines=True):
        print(visible(f"hardware   {line}"))
    from offyai_tui.commands.memory import kv_lines

    for line in kv_lines(settings):
        print(visible(f"memory     {line}"))
    from offyai_tui.commands.voice import doctor_lines

    for line in doctor_lines(voice=settings.voice):
        print(visible(f"voice      {line}"))
    print(visible(f"workspace  {workspace.name} ({workspace.root})"))
    locate()
    return 0 if selection.answering else 1  # the engine asked for is down


async def fit(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.hw import fit as what_if

    return await what_if(args, settings, workspace)


async def tools(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.tools import list_tools

    return await list_tools(args, settings, workspace)


async def transcribe(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.voice import transcribe as run

    return run(args, settings)


async def say(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    from offyai_tui.commands.voice import say as run

    return run(args, settings)


HANDLERS: dict[str, Callable[..., Awaitable[int]]] = {
    "ask": ask,
    "fit": fit,
    "models": models,
    "pull": pull,
    "rm": rm,
    "index": index,
    "doctor": doctor,
    "tools": tools,
    "transcribe": transcribe,
    "say": say,
}
