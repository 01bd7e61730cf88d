"""Does this model see images? Asked before anything is sent.

A text-only model given an image either fails far from the cause (a server
error about a projector) or, worse, answers as if it had seen it. So the
turn is refused first, in one line that says what to do:

- **Ollama**: ``/api/show`` lists ``vision`` in ``capabilities``
  (``ModelInfo.capabilities`` of ``model_info``).
- **OpenAI-compatible servers** do not say it in ``/v1/models`` reliably:
  the model is named in ``vision_models`` of its ``[[openai]]`` table in
  config.toml, or the server declares it (``capabilities`` with
  ``vision``/``multimodal``, LM Studio's ``type = "vlm"``, or ``image`` in
  ``input_modalities``).
- **Embedded llama.cpp**: a multimodal projector (``mmproj*.gguf``) beside
  the GGUF, which the engine loads with the model for requests with images
  (:mod:`offyai_tui.engines.llamacpp_vision`).
- **Plugins**: ``vision`` in the model's capabilities, or ``vision_models``
  in the plugin's ``[engines.NAME]`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from offyai_tui.attach.errors import NoVision
from offyai_tui.engines.base import Engine, Message, ModelInfo
from offyai_tui.engines.errors import EngineError
from offyai_tui.engines.llamacpp_vision import find_projector
from offyai_tui.settings.config import Settings
from offyai_tui.util.textsafe import visible

VISION_WORDS = frozenset({"vision", "multimodal", "image"})
_EXAMPLES = "gemma3, qwen2.5vl, llava, llama3.2-vision"


@dataclass(frozen=True)
class VisionCheck:
    """Whether a model takes images, and if not, the one line to show."""

    ok: bool
    reason: str = ""
    projector: str = ""
    """The ``mmproj`` file found beside an embedded model's GGUF, if any."""


async def vision_support(
    engine: Engine, model: str, settings: Settings | None = None
) -> VisionCheck:
    """Whether ``model`` of ``engine`` accepts images (one lookup; the caller may cache it)."""
    shown = visible(model or "the model")
    try:
        info = await engine.model_info(model) if model else None
    except EngineError as exc:
        return VisionCheck(False, f"cannot tell whether {shown} sees images ({exc}); nothing sent")
    if engine.kind == "llamacpp":
        return _embedded(shown, [model, info.path if info is not None else ""])
    if info is not None and VISION_WORDS & set(info.capabilities):
        return VisionCheck(True)
    if engine.kind == "openai":
        if model in _configured(settings, engine) or _declared(info):
            return VisionCheck(True)
        return VisionCheck(
            False,
            f"{shown} is not known to see images; nothing sent (if it does, add it to "
            f"vision_models of [[openai]] {visible(engine.label)!r} in config.toml)",
        )
    if engine.kind != "ollama" and model in _plugin_configured(settings, engine.kind):
        return VisionCheck(True)
    return VisionCheck(
        False,
        f"{shown} has no vision: it cannot see images; nothing sent (pick a vision model "
        f"such as {_EXAMPLES}, or remove the image)",
    )


def carries_images(messages: Sequence[Message]) -> bool:
    """Whether a request holds images anywhere, not only in its last turn.

    A photo attached earlier in the conversation is still sent with every
    later turn, so switching to a text-only model must be refused too.
    """
    return any(m.images for m in messages)


async def require_vision(engine: Engine, model: str, settings: Settings | None = None) -> None:
    """Raise :class:`NoVision` (one line) unless ``model`` takes images."""
    check = await vision_support(engine, model, settings)
    if not check.ok:
        raise NoVision(check.reason)


def _embedded(shown: str, places: list[str]) -> VisionCheck:
    """``places``: the model as named (a path to a link is looked beside) and its real file."""
    found = (find_projector(p) for p in places if p.lower().endswith(".gguf"))
    projector = next((p for p in found if p is not None), None)
    if projector is None:
        return VisionCheck(
            False,
            f"{shown} has no vision in the embedded llama.cpp engine: no multimodal projector "
            "(mmproj*.gguf) beside its GGUF; nothing sent (use Ollama with a vision model)",
        )
    return VisionCheck(True, projector=str(projector))


def _configured(settings: Settings | None, engine: Engine) -> list[str]:
    """``vision_models`` of the ``[[openai]]`` table this engine was made from."""
    if settings is None:
        return []
    for endpoint in settings.openai:
        if (endpoint.name or "openai") == engine.label:
            return list(getattr(endpoint, "vision_models", []) or [])
    return []


def _plugin_configured(settings: Settings | None, kind: str) -> list[str]:
    table = settings.engines.get(kind, {}) if settings is not None else {}
    names = table.get("vision_models") if isinstance(table, dict) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _declared(info: ModelInfo | None) -> bool:
    """What OpenAI-compatible servers put in a ``/v1/models`` entry when they say it."""
    if info is None:
        return False
    raw: dict[str, Any] = info.details if isinstance(info.details, dict) else {}
    words: set[str] = set()
    for key in ("capabilities", "input_modalities", "modalities"):
        value = raw.get(key)
        if isinstance(value, list):
            words |= {str(v).lower() for v in value}
    return bool(VISION_WORDS & words) or str(raw.get("type", "")).lower() == "vlm"
