"""Where an imported model's multimodal projector goes in the models folder.

A vision GGUF sees images only through the projector (``mmproj``) beside it
(:mod:`offyai_tui.engines.llamacpp_vision`), so importing the model alone would
lose its vision. The models folder is flat and shared by every imported model,
and the engine pairs a model with the projector whose name shares the longest
prefix with it, so a projector is placed only under a name that (a) the new
model picks and (b) changes no other model's pick: generic names such as
``mmproj-F16.gguf`` come from many models and would otherwise be mixed up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from offyai_tui.engines.base import Engine, ModelInfo
from offyai_tui.engines.errors import BadModelFile, EngineError
from offyai_tui.engines.gguf_info import read_gguf_info
from offyai_tui.engines.llamacpp_vision import (
    models_in,
    pick_projector,
    projector_of,
    projector_users,
    projectors_in,
)
from offyai_tui.hw.hardware import format_bytes

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ProjectorPlan:
    """What importing a model does with the projector beside it."""

    source: Path
    """The projector beside the file being imported."""
    target: Path | None = None
    """Its place in the models folder (None: it is not brought, see ``skipped``)."""
    copy: bool = False
    """False with a target: the same file is already there and is shared."""
    skipped: str = ""
    """Why it is not brought, one line."""


def plan_projector(source_model: Path, target_model: Path, folder: Path) -> ProjectorPlan | None:
    """How the projector the engine would pair with ``source_model`` follows it into
    ``folder`` as ``target_model``; None when it has none.

    Tried in order: the projector's own name, then ``<model>.mmproj.gguf``. A name
    holding the very same bytes is shared instead of copied again.
    """
    projector = projector_of(source_model)
    if projector is None:
        return None
    try:
        read_gguf_info(projector)
    except BadModelFile as exc:
        return ProjectorPlan(projector, skipped=f"its projector is not usable: {exc}")
    existing = projectors_in(folder)
    others = [p for p in models_in(folder) if p != target_model]
    before = {model: projector_of(model) for model in others}
    everyone = sorted([*others, target_model])
    for name in dict.fromkeys((projector.name, f"{target_model.stem}.mmproj.gguf")):
        candidate = folder / name
        if candidate.exists():
            if pick_projector(target_model, existing, everyone) == candidate and same_bytes(
                candidate, projector
            ):
                return ProjectorPlan(projector, candidate)
            continue
        after = sorted([*existing, candidate])
        if pick_projector(target_model, after, everyone) != candidate:
            continue
        if any(pick_projector(model, after, everyone) != before[model] for model in others):
            continue
        return ProjectorPlan(projector, candidate, copy=True)
    return ProjectorPlan(
        projector,
        skipped=f"its projector {projector.name} was not brought: in {folder} it would be "
        "mixed up with another model's (copy it there under a name that starts like the "
        "model's)",
    )


def same_bytes(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes (the same file counts)."""
    try:
        if os.path.samefile(a, b):
            return True
        if a.stat().st_size != b.stat().st_size:
            return False
        with open(a, "rb") as left, open(b, "rb") as right:
            while chunk := left.read(CHUNK):
                if chunk != right.read(CHUNK):
                    return False
    except OSError:
        return False
    return True


def describe(plan: ProjectorPlan | None) -> str:
    """The import's words about the projector ("" without one)."""
    if plan is None:
        return ""
    if plan.target is None:
        return plan.skipped
    if plan.copy:
        return f"with its projector {plan.target.name} (vision)"
    return f"its projector {plan.target.name} was already there and is shared (vision)"


async def vision_note(engine: Engine, model: str) -> str:
    """For ``offyai doctor``'s model line: whether the embedded engine's ``model`` sees
    images and why (the projector paired with it, or none beside its file); "" for other
    engines (the server knows its models' vision) and for a model it cannot describe."""
    if engine.kind != "llamacpp":
        return ""
    try:
        info = await engine.model_info(model)
    except EngineError:
        return ""
    if projector := info.details.get("projector"):
        return f"vision through its projector {Path(str(projector)).name}"
    if "chat" in info.capabilities:
        return "no vision: no projector (mmproj*.gguf) beside its file"
    return ""


def delete_preview(info: ModelInfo) -> str:
    """For the delete question: what deleting ``info`` does to its projector, so the
    user knows before saying yes ("" when it has none). Lists its folder: call it in a
    thread."""
    if not info.details.get("projector") or not info.path:
        return ""
    projector, users = projector_users(Path(info.path))
    if projector is None:
        return ""
    if users:
        return f"Its projector {projector.name} stays: {users[0]} uses it."
    try:
        size = format_bytes(projector.stat().st_size)
    except OSError:
        return ""
    return f"Its projector {projector.name} ({size}) is deleted too."
