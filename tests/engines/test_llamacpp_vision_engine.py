"""Images through the embedded llama.cpp engine end to end: catalog, parent, worker, model.

A link to the bundled Gemma 3 270M in the models folder gets a projector beside
it (:mod:`tests.engines.mmproj`, a real GGUF that ``libmtmd`` loads); the image
is a Pillow drawing stored as an attachment would be.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from offyai_tui.attach import vision_support
from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatEvent, ChatOptions, Done, ErrorEvent, Message, TextDelta
from offyai_tui.engines.errors import Unsupported
from offyai_tui.engines.llamacpp import LlamaCppEngine
from offyai_tui.engines.parts import ImageRef
from offyai_tui.settings import locations
from offyai_tui.settings.config import Settings
from offyai_tui.util import fileio
from tests.attach.pictures import picture
from tests.engines.mmproj import IMAGE_TOKENS, WRAP_TOKENS, write_projector

pytestmark = pytest.mark.slow

MODEL = "gemma-vision"


@pytest.fixture
def engine() -> Iterator[LlamaCppEngine]:
    folder = fileio.ensure_private_dir(locations.models_dir())
    (folder / f"{MODEL}.gguf").symlink_to(bundled.gemma3_path())
    write_projector(folder / f"mmproj-{MODEL}.gguf", bundled.gemma3_path())
    settings = Settings()
    settings.llamacpp.n_threads = 2
    engine = LlamaCppEngine(settings)
    yield engine
    engine.close()


async def chat(engine: LlamaCppEngine, messages: Sequence[Message], model: str) -> list[ChatEvent]:
    options = ChatOptions(model=model, num_predict=6, temperature=0.0, seed=3)
    return [event async for event in engine.stream_chat(messages, options)]


def shot(folder: Path, fmt: str = "PNG") -> ImageRef:
    data = picture(64, 48, fmt)
    path = folder / f"shot.{fmt.lower()}"
    path.write_bytes(data)
    return ImageRef(str(path), hashlib.sha256(data).hexdigest(), f"image/{fmt.lower()}", path.name)


async def test_the_model_with_a_projector_sees_the_image(
    engine: LlamaCppEngine, tmp_path: Path
) -> None:
    models = {m.name: m for m in await engine.list_models()}
    assert "vision" in models[MODEL].capabilities
    assert "vision" not in models[bundled.GEMMA3].capabilities
    assert not any("mmproj" in name for name in models)  # a projector is not a model
    assert (await vision_support(engine, MODEL)).ok

    image = shot(tmp_path)
    system = Message("system", "Answer in one word.")
    seen = await chat(engine, [system, Message("user", "Say hi.", images=(image,))], MODEL)
    text_only = await chat(engine, [system, Message("user", "Say hi.")], MODEL)
    done, plain = seen[-1], text_only[-1]
    assert isinstance(done, Done) and isinstance(plain, Done), (seen, text_only)
    assert any(isinstance(e, TextDelta) and e.text for e in seen)
    # The image's 16 embeddings and its two markers are what the prompt grew by.
    assert done.stats.prompt_tokens == plain.stats.prompt_tokens + IMAGE_TOKENS + WRAP_TOKENS
    assert done.stats.completion_tokens > 0


async def test_webp_and_jpeg_are_seen_too(engine: LlamaCppEngine, tmp_path: Path) -> None:
    """llama.cpp decodes no WebP: the engine sends it as a PNG of the same pixels."""
    counts = []
    for fmt in ("PNG", "WEBP", "JPEG"):
        events = await chat(engine, [Message("user", "Hi.", images=(shot(tmp_path, fmt),))], MODEL)
        assert isinstance(events[-1], Done), events[-1]
        counts.append(events[-1].stats.prompt_tokens)
    assert len(set(counts)) == 1, counts


async def test_a_model_without_a_projector_refuses_in_one_line(
    engine: LlamaCppEngine, tmp_path: Path
) -> None:
    events = await chat(engine, [Message("user", "Say hi.", images=(shot(tmp_path),))],
                        bundled.GEMMA3)
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert isinstance(events[0].error, Unsupported)
    assert str(events[0].error) == (
        f"{bundled.GEMMA3} has no vision in the embedded llama.cpp engine: no multimodal "
        "projector (mmproj*.gguf) beside its GGUF; nothing sent (use Ollama with a vision model)"
    )
