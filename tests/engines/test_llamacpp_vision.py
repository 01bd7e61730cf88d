"""Images through the embedded llama.cpp engine's projector handler, with real parts.

The model is the bundled Gemma 3 270M; its projector is written by
:mod:`tests.engines.mmproj` (a real GGUF that ``libmtmd`` loads). The images
are drawn with Pillow.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offyai_tui.engines import bundled
from offyai_tui.engines.base import ChatOptions, Message
from offyai_tui.engines.chat_format import fold_system_messages
from offyai_tui.engines.errors import AttachmentUnavailable, Unsupported
from offyai_tui.engines.llamacpp_llama import CancelFlag, make_llama_class
from offyai_tui.engines.llamacpp_vision import (
    chat_payload,
    find_projector,
    is_projector,
    projector_handler,
)
from offyai_tui.engines.parts import ImageRef
from tests.attach.pictures import picture
from tests.engines.mmproj import IMAGE_TOKENS, WRAP_TOKENS, write_projector

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def projector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vision")
    return write_projector(folder / "mmproj-gemma3-270m.gguf", bundled.gemma3_path())


@pytest.fixture(scope="module")
def llm() -> Iterator[Any]:
    import llama_cpp

    worker_llama = make_llama_class(llama_cpp)
    model = worker_llama(
        str(bundled.gemma3_path()), cancel=CancelFlag(), n_ctx=1024, n_threads=2,
        chat_format="gemma", verbose=False,
    )  # fmt: skip
    yield model
    model.close()


def image_ref(folder: Path, data: bytes, mime: str = "image/png") -> ImageRef:
    path = folder / "shot.png"
    path.write_bytes(data)
    return ImageRef(str(path), hashlib.sha256(data).hexdigest(), mime, "shot.png")


def ask(llm: Any, messages: list[dict[str, Any]], mmproj: str | None) -> tuple[int, str]:
    """Prompt tokens and answer of one greedy request, as the worker makes it."""
    llm.reset_counters()
    with projector_handler(llm, mmproj, "gemma"):
        stream = llm.create_chat_completion(
            messages=messages, stream=True, max_tokens=6, temperature=0.0, seed=3
        )
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in stream)
    return llm.prompt_tokens, text


def test_projector_names(tmp_path: Path) -> None:
    model = tmp_path / "gemma-3-4b-it-Q4_K_M.gguf"
    model.write_bytes(b"GGUF")
    assert find_projector(model) is None
    for name in ("mmproj-llava.gguf", "gemma-3-4b-it-mmproj-f16.gguf", "notes.mmproj.txt"):
        (tmp_path / name).write_bytes(b"GGUF")
    assert find_projector(model) == tmp_path / "gemma-3-4b-it-mmproj-f16.gguf"
    assert find_projector(tmp_path / "llava-v1.6.gguf") == tmp_path / "mmproj-llava.gguf"
    assert is_projector(Path("qwen2.5-vl.mmproj.gguf")) and is_projector(Path("MMPROJ-x.GGUF"))
    assert not is_projector(model) and find_projector(tmp_path / "mmproj-llava.gguf") is None


async def test_payload_names_the_projector_and_carries_the_exact_bytes(tmp_path: Path) -> None:
    data = picture(40, 30)
    turn = Message("user", "what is this?", images=(image_ref(tmp_path, data),))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")

    with pytest.raises(Unsupported) as refused:
        await chat_payload([turn], ChatOptions(), "model", model)
    assert str(refused.value) == (
        "model has no vision in the embedded llama.cpp engine: no multimodal projector "
        "(mmproj*.gguf) beside its GGUF; nothing sent (use Ollama with a vision model)"
    )
    plain = await chat_payload([Message("user", "hi")], ChatOptions(), "model", model)
    assert plain == {"messages": [{"role": "user", "content": "hi"}]}

    (tmp_path / "model.mmproj.gguf").write_bytes(b"GGUF")
    payload = await chat_payload([Message("system", "Be brief."), turn], ChatOptions(), "m", model)
    assert payload["mmproj"] == str(tmp_path / "model.mmproj.gguf")
    image, text = payload["messages"][1]["content"]
    assert text == {"type": "text", "text": "what is this?"}
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == data

    with pytest.raises(Unsupported, match="cannot be continued"):
        await chat_payload([turn, Message("assistant", "A pic")], ChatOptions(), "m", model)

    (tmp_path / "shot.png").write_bytes(picture(41, 30))  # no longer the attached image
    with pytest.raises(AttachmentUnavailable):
        await chat_payload([turn], ChatOptions(), "m", model)


def test_system_text_joins_the_text_part_after_the_images() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [image, {"type": "text", "text": "what is this?"}]},
    ]
    assert fold_system_messages(messages, "gemma") == [
        {"role": "user", "content": [image, {"type": "text", "text": "Be brief.\n\nwhat is this?"}]}
    ]


def test_an_image_reaches_the_model_through_the_projector(
    llm: Any, projector: Path, tmp_path: Path
) -> None:
    url = "data:image/png;base64," + base64.b64encode(picture(64, 48)).decode()
    plain = [{"role": "user", "content": "Say hi."}]
    with_image = [
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "Say hi."},
        ]},
    ]  # fmt: skip
    fresh = ask(llm, plain, None)
    text_only, _ = ask(llm, plain, str(projector))
    seen, answer = ask(llm, with_image, str(projector))
    assert seen == text_only + IMAGE_TOKENS + WRAP_TOKENS
    assert answer and len(llm.sampled) > 0
    assert ask(llm, plain, None) == fresh  # the image's cache entries are not reused


def test_only_data_urls_are_read(llm: Any, projector: Path) -> None:
    messages = [
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}},
            {"type": "text", "text": "Say hi."},
        ]},
    ]  # fmt: skip
    with pytest.raises(ValueError, match="only attached images"):
        ask(llm, messages, str(projector))
