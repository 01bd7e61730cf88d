"""Images through the embedded llama.cpp engine, by the multimodal projector beside a GGUF.

A GGUF holds only the language model; what lets it see is a *multimodal
projector* (``mmproj``): a vision encoder and the projection into the model's
embedding space, in a GGUF of its own. llama.cpp (``libmtmd``) loads it next to
the model and turns each image into embeddings in the prompt.

- **Where it is looked for.** In the folder of the model's GGUF (as named, so a
  link in the models folder counts), a ``.gguf`` file with ``mmproj`` in its
  name: ``mmproj-model-f16.gguf``, ``model.mmproj.gguf``,
  ``gemma-3-4b-it-mmproj-f16.gguf``. Several: the one sharing the longest name
  prefix with the model wins, and on a tie one named for another model there is
  passed over (:func:`pick_projector`). Projector files are not models: the
  catalog does not list them, importing one alone is refused, and importing or
  deleting a model brings or deletes its projector (``offyai_tui.manage``).
- **Parent side** (:func:`chat_payload`): refuses what cannot be sent (images
  without a projector, tools) before the worker is asked, reads each image once
  (checked against its SHA-256) into a ``data:`` URL (WebP as PNG: llama.cpp
  decodes no WebP), and names the projector.
- **Worker side** (:func:`projector_handler`): for a request with images the
  model's chat handler is swapped for llama-cpp-python's ``MTMDChatHandler``
  with that projector, made once per loaded model and freed with it. Text-only
  requests keep the usual handler, so a vision model chats as before.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offyai_tui.engines.chat_format import unsupported_parts
from offyai_tui.engines.errors import AttachmentUnavailable, EngineError, Unsupported

if TYPE_CHECKING:
    from offyai_tui.engines.base import ChatOptions, Message
    from offyai_tui.engines.parts import ImageRef

CAPABILITY = "vision"
PROJECTOR_ARCHITECTURE = "clip"
"""``general.architecture`` of a projector GGUF, whatever its file is called."""

_GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{{ p['text'] }}{% endfor %}{% endif %}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
_CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for p in m['content'] %}{{ p['text'] }}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_TEMPLATES = {"gemma": _GEMMA_TEMPLATE}
"""Templates for models whose GGUF has none (the projector handler needs Jinja, not a
named format); ChatML for the rest, the most widely trained format."""


def is_projector(path: Path) -> bool:
    """Whether ``path`` is named as a multimodal projector (and so is not a model)."""
    return path.suffix.lower() == ".gguf" and "mmproj" in path.name.lower()


def find_projector(gguf: str | Path) -> Path | None:
    """The multimodal projector beside ``gguf``, if any (see :func:`pick_projector`)."""
    model = Path(gguf)
    if is_projector(model):
        return None
    projectors = projectors_in(model.parent)
    if not projectors:
        return None
    return pick_projector(model, projectors, models_in(model.parent))


def projector_of(gguf: str | Path) -> Path | None:
    """The projector the engine sends images through for the model at ``gguf``: beside
    the path as named, else beside the file it links to."""
    path = Path(gguf)
    return find_projector(path) or find_projector(path.resolve())


def projectors_in(folder: Path) -> list[Path]:
    """The projector files in ``folder``, sorted (the order breaks the last ties)."""
    try:
        return sorted(p for p in folder.iterdir() if is_projector(p) and p.is_file())
    except OSError:
        return []


def models_in(folder: Path) -> list[Path]:
    """The GGUF files in ``folder`` that are not projectors: the models that claim them."""
    try:
        return sorted(p for p in folder.glob("*.gguf") if not is_projector(p))
    except OSError:
        return []


def pick_projector(
    model: Path, candidates: Sequence[Path], models: Sequence[Path] = ()
) -> Path | None:
    """Which of ``candidates`` (sorted) goes with ``model``; pure, so an import can ask
    what a new file would change.

    The longest name prefix shared with the model wins (``gemma-3-4b-it-Q4_K_M.gguf``
    takes ``gemma-3-4b-it-mmproj-f16.gguf`` over ``mmproj-llava.gguf``; ``mmproj``
    itself is not counted). On a tie a projector another of ``models`` shares a longer
    prefix with is passed over (``llava-7b.mmproj.gguf`` is llava's, not a
    ``seer.gguf``'s), then the first in order wins.
    """
    if not candidates:
        return None
    others = [m for m in models if m.name != model.name]

    def key(projector: Path) -> tuple[int, bool]:
        score = _score(projector, model)
        return score, not any(_score(projector, other) > score for other in others)

    return max(candidates, key=key)


def _score(projector: Path, model: Path) -> int:
    return len(_common_prefix(_without_mmproj(projector.stem), model.stem.lower()))


def projector_users(model: Path) -> tuple[Path | None, list[str]]:
    """The projector beside ``model`` (in its folder only) and the other models there that
    pair with it now: asked before the model is deleted, since its name still claims
    projectors named for it (:func:`pick_projector`)."""
    projector = find_projector(model)
    if projector is None:
        return None, []
    others = (m for m in models_in(model.parent) if m.name != model.name)
    return projector, [m.stem for m in others if projector_of(m) == projector]


def drop_projector(projector: Path | None, users: list[str]) -> str:
    """Delete ``projector`` after its model's file was deleted, unless ``users`` (other
    models, e.g. another quantization of it) pair with it; returns what was done, in
    words, for the line that reports the delete ("" without a projector).

    Raises:
        EngineError: the projector could not be deleted (the model already is).
    """
    if projector is None:
        return ""
    if users:
        return f"kept its projector {projector.name} ({users[0]} uses it)"
    try:
        projector.unlink()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise EngineError(
            f"its projector {projector.name} could not be deleted ({exc.strerror or exc})"
        ) from None
    return f"also deleted its projector {projector.name}"


def with_vision(capabilities: tuple[str, ...], path: Path) -> tuple[str, ...]:
    """``capabilities`` of the chat model at ``path``, with ``vision`` when a projector is
    beside it (as named, or beside the file it links to)."""
    if "chat" not in capabilities or CAPABILITY in capabilities:
        return capabilities
    if projector_of(path):
        return (*capabilities, CAPABILITY)
    return capabilities


async def chat_payload(
    messages: Sequence[Message], options: ChatOptions, model: str, path: Path
) -> dict[str, Any]:
    """The ``messages`` (and ``mmproj``) of a worker chat request for ``model`` at ``path``.

    The projector is looked for only when images are sent, so a text chat costs
    no directory listing; beside the path as named first, then beside the file
    it links to.

    Raises:
        Unsupported: images without a projector, or tools (one line).
        AttachmentUnavailable: an attached image is gone or changed.
    """
    if not any(m.images for m in messages):
        if refusal := unsupported_parts(messages, options, model):
            raise refusal
        return {"messages": [m.as_dict() for m in messages]}

    def read() -> dict[str, Any]:
        projector = projector_of(path)
        if refusal := unsupported_parts(messages, options, model, projector is not None):
            raise refusal
        if messages[-1].role == "assistant":  # growing an answer evaluates text only
            raise Unsupported(
                f"{model}: an answer about images cannot be continued in the embedded "
                "llama.cpp engine; ask again instead"
            )
        return {"messages": [_with_images(m) for m in messages], "mmproj": str(projector)}

    return await asyncio.to_thread(read)


def _with_images(message: Message) -> dict[str, Any]:
    """Images first, then the text: the order vision models are trained on."""
    if not message.images:
        return message.as_dict()
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": _data_url(image)}} for image in message.images
    ]
    if message.content:
        parts.append({"type": "text", "text": message.content})
    return {"role": message.role, "content": parts}


def _data_url(image: ImageRef) -> str:
    """The image as a ``data:`` URL llama.cpp decodes: it reads PNG, JPEG and GIF but not
    WebP, which goes as a PNG of the same pixels (lossless, so the model sees the same)."""
    if image.mime != "image/webp":
        return image.data_url()
    from PIL import Image

    data, out = image.read(), io.BytesIO()
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.save(out, "PNG")
    except (OSError, ValueError) as exc:
        name = image.name or Path(image.path).name
        raise AttachmentUnavailable(f"the attached image {name} cannot be decoded: {exc}") from None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@contextlib.contextmanager
def projector_handler(llm: Any, mmproj: str | None, chat_format: str | None) -> Iterator[None]:
    """Within this block ``llm`` renders and evaluates through the projector ``mmproj``.

    Wrap the ``create_chat_completion`` call only: the handler evaluates the
    prompt (images included) before it returns the stream. The handler is made
    once per loaded model (the projector stays loaded with it). The projector
    handler evaluates from an empty cache and leaves image embeddings in it that
    its token list does not describe, so the first text-only request after it
    starts from an empty cache too instead of reusing a prefix that is not there.
    """
    if not mmproj:
        forget_images(llm)
        yield
        return
    handler = _handler(llm, mmproj, chat_format)
    saved = llm.chat_handler
    llm.chat_handler = handler
    llm._offyai_image_kv = True
    try:
        yield
    finally:
        llm.chat_handler = saved


def forget_images(llm: Any) -> None:
    """Empty ``llm``'s cache if the last request went through the projector.

    Its token list holds stale ids where the image embeddings sit, so a prompt
    that happened to match them would reuse embeddings it never had; every
    request without images that evaluates through ``llm`` calls this first.
    """
    if getattr(llm, "_offyai_image_kv", False):
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm._offyai_image_kv = False


def _handler(llm: Any, mmproj: str, chat_format: str | None) -> Any:
    held = getattr(llm, "_offyai_projector", None)
    if held is not None and held[0] == (mmproj, chat_format):
        return held[1]
    if held is not None:
        raise ValueError(f"{Path(mmproj).name}: another projector is loaded with this model")
    template = None
    if chat_format is not None:  # the GGUF's own template is not used: no template or broken
        template = _TEMPLATES.get(chat_format, _CHATML_TEMPLATE)
    handler = _handler_class()(mmproj, template)
    llm._offyai_projector = ((mmproj, chat_format), handler)
    return handler


_CLASS: list[type] = []


def _handler_class() -> type:
    """``MTMDChatHandler`` as the engine needs it, made on first use (in the worker only,
    so that importing this module never loads llama.cpp)."""
    if _CLASS:
        return _CLASS[0]
    from llama_cpp.llama_chat_format import MTMDChatHandler

    class ProjectorHandler(MTMDChatHandler):  # type: ignore[misc]
        """Uses a given template when the model's own is missing or broken, and reads
        images from ``data:`` URLs only: the stock handler would fetch any other URL."""

        def __init__(self, mmproj: str, template: str | None) -> None:
            super().__init__(clip_model_path=mmproj, verbose=False)
            self._template = template

        def _get_chat_template(self, llama_model: Any) -> str:
            if self._template is not None:
                return self._template
            return str(super()._get_chat_template(llama_model))

        def load_image(self, image_url: str) -> bytes:
            if not image_url.startswith("data:"):
                raise ValueError("only attached images are sent to the projector")
            return bytes(super().load_image(image_url))

    _CLASS.append(ProjectorHandler)
    return ProjectorHandler


def _without_mmproj(stem: str) -> str:
    return stem.lower().replace("mmproj", "").strip("-_.")


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
