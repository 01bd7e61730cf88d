"""``offyai fit`` and the machine-readable ``offyai doctor --json``.

``fit`` answers "will it run, and how fast?" without asking any engine: the model comes
from the catalog or a GGUF header, the machine is this one or the one the flags
describe (:mod:`offyai_tui.hw.whatif`). It never touches the network.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from offyai_tui.settings.config import Settings
from offyai_tui.settings.workspace import Workspace
from offyai_tui.util.textsafe import inert_json, visible

if TYPE_CHECKING:
    import argparse


async def fit(args: argparse.Namespace, settings: Settings, workspace: Workspace) -> int:
    import asyncio

    from offyai_tui.commands import UserError
    from offyai_tui.hw.detect import detect
    from offyai_tui.hw.whatif import WhatIfError, described_machine, what_if

    try:
        if args.ram_gbps is not None and args.ram_gbps <= 0:
            raise WhatIfError("--ram-gbps wants a positive number")
        if args.ctx is not None and args.ctx <= 0:
            raise WhatIfError("--ctx wants a positive number of tokens")
        prompt = 1000 if getattr(args, "prompt", None) is None else args.prompt
        if prompt <= 0:
            raise WhatIfError("--prompt wants a positive number of tokens")
        base = await asyncio.to_thread(detect)
        hw = described_machine(
            base,
            gpus=args.gpu or None,
            apple=args.apple or "",
            ram_gib=args.ram,
            cores=args.cores,
            memory_gbps=args.ram_gbps or 0.0,
        )
        engine = (getattr(args, "engine", None) or "").split(":", 1)[0]
        n_ctx = args.ctx or settings.chat.num_ctx or 4096
        report = await asyncio.to_thread(
            what_if, args.model, hw, n_ctx=n_ctx, engine_kind=engine, prompt_tokens=prompt
        )
    except WhatIfError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(inert_json(json.dumps(report.to_json(), indent=2, ensure_ascii=False)))
    else:
        for line in report.lines():
            print(visible(line))
    return 0


async def doctor_json(settings: Settings, workspace: Workspace) -> int:
    """``offyai doctor --json``; exit status 1 when the engine asked for is down, as the text."""
    import asyncio

    from offyai_tui.engines.errors import EngineError
    from offyai_tui.engines.registry import EngineRegistry
    from offyai_tui.hw.hardware import describe, detect

    registry = EngineRegistry(settings)
    try:
        selection = await registry.detect()
        vision = ""
        try:
            model = settings.chat.model or await selection.engine.default_model()
            from offyai_tui.manage.projectors import vision_note

            vision = await vision_note(selection.engine, model)
        except EngineError as exc:
            model = f"none ({exc})"
        listed = await registry.listing()
    finally:
        await registry.aclose()
    hw = await asyncio.to_thread(detect)
    document = doctor_document(selection, model, describe(hw, engines=True), hw, workspace)
    document["engines"] = [entry.as_dict() for entry in listed]
    document["model_vision"] = vision  # the embedded engine: its projector, or why none
    from offyai_tui.commands.voice import doctor_facts

    document["voice"] = doctor_facts(settings.voice)
    print_json(document)
    return 0 if getattr(selection, "answering", True) else 1


def doctor_document(
    selection: Any, model: str, hw_lines: list[str], hw: Any, workspace: Workspace
) -> dict[str, Any]:
    """``offyai doctor --json``: the same facts as the text, as one JSON object."""
    from offyai_tui.settings import locations

    return {
        "engine": {
            "label": selection.engine.label,
            "endpoint": selection.engine.endpoint,
            "why": selection.reason,
            "probes": [
                {"engine": p.engine, "endpoint": p.endpoint, "ok": p.ok, "detail": p.detail}
                for p in selection.probes
            ],
        },
        "model": model,
        "hardware": {
            "summary": hw.describe(),
            "cpu": hw.cpu_model,
            "physical_cores": hw.physical_cores,
            "ram_total_bytes": hw.ram_total_bytes,
            "ram_available_bytes": hw.ram_available_bytes,
            "gpus": [
                {
                    "name": g.name,
                    "vendor": g.vendor,
                    "vram_total_bytes": g.vram_total_bytes,
                    "vram_free_bytes": g.vram_free_bytes,
                    "unified": g.unified,
                }
                for g in hw.gpus
            ],
            "detected": list(hw.found),
            "not_detected": list(hw.notes),
            "lines": hw_lines,
        },
        "workspace": {"name": workspace.name, "root": str(workspace.root)},
        "paths": {name: str(path) for name, path in locations.all_locations().items()},
    }


def print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(inert_json(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n")
