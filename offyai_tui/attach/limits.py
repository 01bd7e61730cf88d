"""How large an attachment may be, per engine, and the numbers as people read them.

Image limits are per engine because the engines differ in what an image costs:

- Ollama and OpenAI-compatible servers (llama-server, vLLM, LM Studio) resize
  images themselves to the model's own input size (336-1344 px for LLaVA,
  Gemma 3, Qwen2.5-VL, Llama 3.2 Vision), so 2048 px on the longer side loses
  nothing a model sees, while a 48-megapixel photo would travel as ~30 MB of
  base64 for nothing; 8 MB keeps requests reasonable.
- The embedded llama.cpp engine decodes and resizes on this machine's CPU,
  in the worker: 1024 px and 4 MB keep that to well under a second.

``[attachments]`` in config.toml overrides them for every engine
(``max_image_side``, ``max_image_mb``).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Files larger than this are refused before being read (a 200 MB "image" or log)."""
MAX_PIXELS = 80_000_000
"""Images with more pixels are refused before decoding: one could take gigabytes."""
MAX_STORED_BYTES = 20 * 1024 * 1024
"""The most any configured limit can allow (what attachments.py stores)."""


@dataclass(frozen=True)
class ImageLimits:
    """The largest image sent as is: longer side in pixels, size in bytes."""

    max_side: int
    max_bytes: int


DEFAULT = ImageLimits(2048, 8 * 1024 * 1024)
BY_ENGINE = {
    "ollama": DEFAULT,
    "openai": DEFAULT,
    "llamacpp": ImageLimits(1024, 4 * 1024 * 1024),
}


def image_limits(engine_kind: str = "", max_side: int = 0, max_mb: float = 0) -> ImageLimits:
    """The limits for an engine (``Engine.kind``), with configured overrides (0: default).

    A plugin engine gets :data:`DEFAULT`. Overrides are clamped to what is sane:
    at least 64 px, at most :data:`MAX_STORED_BYTES`.
    """
    base = BY_ENGINE.get(engine_kind, DEFAULT)
    side = max(64, max_side) if max_side > 0 else base.max_side
    size = int(max_mb * 1024 * 1024) if max_mb > 0 else base.max_bytes
    return ImageLimits(side, max(64 * 1024, min(size, MAX_STORED_BYTES)))


def human_bytes(size: int) -> str:
    """``210 KB``, ``3.4 MB``: what a chip and an error show."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    return f"{size / 1024 / 1024:.1f} MB"
