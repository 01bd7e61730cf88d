"""From attaching to the wire: stored references, reopened chips, vision checks, exact bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from offyai_tui.attach import (
    NoVision,
    chips,
    message_chips,
    prepare,
    remote_notice,
    require_vision,
    vision_support,
)
from offyai_tui.attach.vision import find_projector
from offyai_tui.chat import ConversationStore, TokenCounter
from offyai_tui.engines.base import Done
from offyai_tui.engines.ollama import OllamaEngine
from offyai_tui.engines.openai_compat import OpenAICompatEngine
from offyai_tui.settings.config import OpenAIEndpoint, Settings
from tests.attach.pictures import picture
from tests.attach.vision_ollama import MODEL, vision_ollama
from tests.e2e.scripted_openai import scripted_openai


def _ollama(url: str) -> OllamaEngine:
    settings = Settings()
    settings.ollama.host = url
    return OllamaEngine(settings)


async def test_an_image_and_a_file_reach_a_vision_model_byte_for_byte(
    store: ConversationStore, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(picture(800, 600, "JPEG"))
    (tmp_path / "error.log").write_text("Traceback: KeyError 'user'\n")
    root = store.workspace.root
    image = prepare(root, photo, want="image")
    log = prepare(root, tmp_path / "error.log", budget=2000)
    conv = store.create(model=MODEL)
    conv.add_user("What went wrong?", images=[image], files=[log])

    line = store.path_for(conv.id).read_text().splitlines()[-1]
    event = json.loads(line)
    assert event["content"] == "What went wrong?"  # the user's words only
    assert event["images"][0]["file"] == image.file and event["files"][0]["file"] == log.file
    assert base64.b64encode(photo.read_bytes()).decode()[:200] not in line
    assert "KeyError" not in line

    with vision_ollama(["completion", "vision"]) as server:
        engine = _ollama(server.url)
        try:
            await require_vision(engine, MODEL)
            handle = await conv.start_reply(TokenCounter(), model=MODEL)
            async for answer in engine.stream_chat(handle.messages, handle.options):
                if handle.apply(answer):
                    break
            assert isinstance(answer, Done)
        finally:
            await engine.aclose()
    sent = server.chats[-1]["messages"][-1]
    (received,) = sent["images"]
    digest = hashlib.sha256(base64.b64decode(received)).hexdigest()
    assert digest == hashlib.sha256(photo.read_bytes()).hexdigest() == image.sha256
    assert sent["content"] == (
        "error.log\n```\nTraceback: KeyError 'user'\n```\n\nWhat went wrong?"
    )


async def test_a_model_without_vision_is_refused_before_anything_is_sent() -> None:
    with vision_ollama(["completion"]) as server:
        engine = _ollama(server.url)
        try:
            check = await vision_support(engine, MODEL)
            with pytest.raises(NoVision) as caught:
                await require_vision(engine, MODEL)
        finally:
            await engine.aclose()
    assert not check.ok and str(caught.value) == check.reason
    assert check.reason == (
        "eyes:latest has no vision: it cannot see images; nothing sent (pick a vision model "
        "such as gemma3, qwen2.5vl, llava, llama3.2-vision, or remove the image)"
    )
    assert server.chats == [] and server.shows and {s["model"] for s in server.shows} == {MODEL}


async def test_an_unknown_model_is_one_line_not_a_crash() -> None:
    with vision_ollama(["vision"]) as server:
        engine = _ollama(server.url)
        try:
            check = await vision_support(engine, "nope:1b")
        finally:
            await engine.aclose()
    assert not check.ok and check.reason.startswith("cannot tell whether nope:1b sees images")


async def test_openai_compatible_vision_comes_from_the_config_table() -> None:
    with scripted_openai(["qwen2.5-vl-7b", "llama-3-8b"]) as server:
        settings = Settings()
        endpoint = OpenAIEndpoint(name="box", url=server.url, vision_models=["qwen2.5-vl-7b"])
        settings.openai = [endpoint]
        engine = OpenAICompatEngine(endpoint, settings)
        try:
            seeing = await vision_support(engine, "qwen2.5-vl-7b", settings)
            blind = await vision_support(engine, "llama-3-8b", settings)
        finally:
            await engine.aclose()
    assert seeing.ok
    assert blind.reason == (
        "llama-3-8b is not known to see images; nothing sent (if it does, add it to "
        "vision_models of [[openai]] 'box' in config.toml)"
    )


async def test_the_embedded_engine_sees_with_the_projector_beside_the_model(
    tmp_path: Path,
) -> None:
    from offyai_tui.engines.bundled import smollm2_path
    from offyai_tui.engines.llamacpp import LlamaCppEngine

    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / "gemma-3-4b-it-Q4_K_M.gguf"
    model.symlink_to(smollm2_path())
    engine = LlamaCppEngine(Settings())
    try:
        without = await vision_support(engine, str(model))
        (folder / "mmproj-other.gguf").write_bytes(b"GGUF")
        (folder / "gemma-3-4b-it-mmproj-f16.gguf").write_bytes(b"GGUF")
        with_projector = await vision_support(engine, str(model))
    finally:
        await engine.aclose()
    assert not without.ok
    assert "no multimodal projector (mmproj*.gguf) beside its GGUF; nothing sent" in without.reason
    assert with_projector.ok
    assert with_projector.projector == str(folder / "gemma-3-4b-it-mmproj-f16.gguf")
    assert find_projector(folder / "other.gguf") == folder / "mmproj-other.gguf"


def test_reopened_conversations_show_the_same_chips(
    store: ConversationStore, tmp_path: Path
) -> None:
    (tmp_path / "shot.png").write_bytes(picture(1200, 800))
    (tmp_path / "notes.txt").write_text("remember the milk\n" * 30)
    root = store.workspace.root
    items = [prepare(root, tmp_path / "shot.png"), prepare(root, tmp_path / "notes.txt")]
    conv = store.create()
    conv.add_user("", images=items[:1], files=items[1:])
    before = chips(items)
    store._live.clear()
    message = store.load(conv.id).messages[0]
    assert message_chips(message.images, message.files) == before
    assert before[0].startswith("[image 1: shot.png 1200×800 ") and before[0].endswith(" KB]")
    assert before[1] == f"[file 2: notes.txt {items[1].tokens:,} tokens]"
    assert conv.title == "shot.png notes.txt"


def test_a_vanished_file_is_said_in_the_request_not_silently_dropped(
    store: ConversationStore, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    item = prepare(store.workspace.root, tmp_path / "a.txt")
    conv = store.create()
    conv.add_user("and?", files=[item])
    (store.workspace.root / item.file).unlink()
    (request,) = conv.history()
    assert request.content.startswith("(the attached file a.txt cannot be read")
    assert request.content.endswith("\n\nand?")


def test_export_links_images_and_files(store: ConversationStore, tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(picture(40, 30))
    (tmp_path / "y.md").write_text("# y\n")
    root = store.workspace.root
    image, text = prepare(root, tmp_path / "x.png"), prepare(root, tmp_path / "y.md")
    conv = store.create()
    conv.add_user("look", images=[image], files=[text])
    exported = store.export_markdown(conv.id).read_text()
    assert f"![x.png](<../{image.file}>) *(40×30)*" in exported
    assert f"[y.md](<../{text.file}>) *({text.tokens:,} tokens)*" in exported


async def test_a_remote_engine_is_named_before_files_go_there(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    item = prepare(tmp_path / "ws", tmp_path / "a.txt")
    remote = OpenAICompatEngine(OpenAIEndpoint(name="cloud", url="https://api.example.net/v1"))
    local = OpenAICompatEngine(OpenAIEndpoint(name="box", url="http://127.0.0.1:9/v1"))
    try:
        assert remote_notice(remote, [item, item]) == (
            "⚠ a.txt and a.txt go to cloud at api.example.net:443, which is not on this machine"
        )
        assert remote_notice(remote, []) == remote_notice(local, [item]) == ""
    finally:
        await remote.aclose()
        await local.aclose()


def test_the_embedded_engine_refuses_images_with_where_to_send_them(tmp_path: Path) -> None:
    from offyai_tui.engines.base import ChatOptions, Message
    from offyai_tui.engines.chat_format import unsupported_parts

    item = prepare(tmp_path, picture(4, 4))
    turn = Message("user", "what is this?", images=(item.ref(tmp_path),))
    refusal = unsupported_parts([turn], ChatOptions(), "gemma3-4b")
    assert refusal is not None and str(refusal) == (
        "gemma3-4b has no vision in the embedded llama.cpp engine: no multimodal projector "
        "(mmproj*.gguf) beside its GGUF; nothing sent (use Ollama with a vision model)"
    )
    assert unsupported_parts([Message("user", "hi")], ChatOptions(), "gemma3-4b") is None


async def test_an_openai_compatible_server_gets_the_image_as_a_data_url(tmp_path: Path) -> None:
    from offyai_tui.engines.base import ChatOptions, Message

    shot = tmp_path / "shot.webp"
    shot.write_bytes(picture(64, 48, "WEBP"))
    item = prepare(tmp_path / "ws", shot, want="image")
    with scripted_openai(["qwen2.5-vl-7b"]) as server:
        endpoint = OpenAIEndpoint(name="box", url=server.url, vision_models=["qwen2.5-vl-7b"])
        engine = OpenAICompatEngine(endpoint)
        try:
            turn = Message("user", "what is this?", images=(item.ref(tmp_path / "ws"),))
            events = [e async for e in engine.stream_chat([turn], ChatOptions("qwen2.5-vl-7b"))]
        finally:
            await engine.aclose()
    assert isinstance(events[-1], Done)
    parts = server.bodies[-1]["messages"][-1]["content"]
    url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
    head, encoded = url.split(",", 1)
    assert head == "data:image/webp;base64"
    assert base64.b64decode(encoded) == shot.read_bytes()


def test_pending_attachments_split_for_the_message_and_the_meter(tmp_path: Path) -> None:
    from offyai_tui.attach import by_kind, file_tokens

    (tmp_path / "a.txt").write_text("alpha beta\n")
    (tmp_path / "b.png").write_bytes(picture(8, 8))
    (tmp_path / "c.md").write_text("# gamma\n")
    items = [prepare(tmp_path / "ws", tmp_path / n) for n in ("a.txt", "b.png", "c.md")]
    images, files = by_kind(items)
    assert [i.name for i in images] == ["b.png"] and [f.name for f in files] == ["a.txt", "c.md"]
    assert file_tokens(items) == items[0].tokens + items[2].tokens > 0
