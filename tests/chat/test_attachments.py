"""Attachments: stored once as private files in the workspace, referenced by messages."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import httpx
import pytest

from offyai_tui.chat import ConversationStore, TokenCounter, read_transcript
from offyai_tui.chat.attachments import MAX_BYTES, Attachment, AttachmentError, store_attachment
from offyai_tui.chat.errors import ReadOnlyWorkspace
from offyai_tui.engines.base import Done
from offyai_tui.engines.ollama import OllamaEngine
from tests.images import png
from tests.ollama_fixtures import ollama_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_image_is_stored_once_privately_under_its_hash(tmp_path: Path) -> None:
    source = tmp_path / "holiday photo.png"
    source.write_bytes(png(4, 3))
    os.chmod(source, 0o644)
    root = tmp_path / "workspace"
    first = store_attachment(root, source)
    again = store_attachment(root, png(4, 3), name="copy.png")
    sha = hashlib.sha256(png(4, 3)).hexdigest()
    assert first.file == again.file == f"attachments/{sha}.png"
    assert (first.mime, first.name) == ("image/png", "holiday photo.png")
    assert first.size == len(png(4, 3))
    assert again.name == "copy.png"
    folder = root / "attachments"
    assert [p.name for p in folder.iterdir()] == [f"{sha}.png"]  # once, and no temp file
    assert _mode(folder) == 0o700 and _mode(folder / f"{sha}.png") == 0o600
    assert (folder / f"{sha}.png").read_bytes() == png(4, 3)


def test_a_damaged_stored_copy_is_replaced_not_trusted(tmp_path: Path) -> None:
    stored = store_attachment(tmp_path, png())
    stored.path(tmp_path).write_bytes(b"half a fi")
    store_attachment(tmp_path, png())
    assert stored.path(tmp_path).read_bytes() == png()


@pytest.mark.parametrize("content", [b"%PDF-1.7 not an image", b"", png()[:7]])
def test_what_is_not_an_image_is_one_line_and_stores_nothing(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "notes.png").write_bytes(content)
    with pytest.raises(AttachmentError) as caught:
        store_attachment(tmp_path / "ws", tmp_path / "notes.png")
    assert str(caught.value) == "notes.png is not a PNG, JPEG, GIF or WebP image; nothing attached"
    assert caught.value.title == "Cannot attach"
    assert not (tmp_path / "ws").exists()


def test_too_large_and_missing_files_are_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.write(png())
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(AttachmentError, match=r"^big.png is 20.0 MB; images up to 20 MB"):
        store_attachment(tmp_path / "ws", big)
    with pytest.raises(AttachmentError, match=r"^cannot read gone.png: No such file"):
        store_attachment(tmp_path / "ws", tmp_path / "gone.png")
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize(
    "entry",
    [
        {"sha256": "a" * 64, "mime": "image/png", "file": "attachments/../../../etc/passwd"},
        {"sha256": "a" * 64, "mime": "image/png", "file": "/tmp/" + "a" * 64 + ".png"},
        {"sha256": "b" * 64, "mime": "image/png", "file": "attachments/" + "a" * 64 + ".png"},
        {"sha256": "a" * 64, "mime": "image/jpeg", "file": "attachments/" + "a" * 64 + ".png"},
        ["not", "an", "object"],
    ],
)
def test_references_from_a_transcript_cannot_point_elsewhere(entry: object) -> None:
    with pytest.raises(ValueError):
        Attachment.from_dict(entry)


async def test_a_message_references_its_image_and_the_engine_gets_the_bytes(
    store: ConversationStore, ollama_server: str
) -> None:
    image = store.attach(png(5, 5, (10, 200, 10)), name="leaf.png")
    conv = store.create(model="smollm2:135m")
    conv.add_user("What colour is this?", images=[image])
    path = store.path_for(conv.id)
    encoded = base64.b64encode(png(5, 5, (10, 200, 10))).decode()
    assert encoded.encode() not in path.read_bytes()  # a reference, never the bytes
    store._live.clear()
    reloaded = store.load(conv.id)
    assert reloaded.messages[0].images == [image]
    ref = reloaded.history()[0].images[0]
    assert Path(ref.path) == store.workspace.root / image.file and ref.name == "leaf.png"
    engine = OllamaEngine(ollama_settings(ollama_server))
    try:
        handle = await reloaded.start_reply(TokenCounter(), model="smollm2:135m")
        handle.options.num_predict = 3
        async for event in engine.stream_chat(handle.messages, handle.options):
            if handle.apply(event):
                break
        assert isinstance(event, Done)
    finally:
        await engine.aclose()
    async with httpx.AsyncClient(trust_env=False) as client:
        state = (await client.get(f"{ollama_server}/_test/state")).json()
    sent = [r["body"] for r in state["requests"] if r["path"] == "/api/chat"][-1]
    assert sent["messages"][-1]["images"] == [encoded]
    assert read_transcript(path).messages[-1].status == "complete"


def test_grounding_in_documents_keeps_the_turns_images(tmp_path: Path) -> None:
    from offyai_tui.engines.base import Message
    from offyai_tui.rag.prompt import augment

    image = store_attachment(tmp_path, png()).ref(tmp_path)
    turns = [Message("user", "What is this?", images=(image,))]
    (grounded,) = augment(turns, [])
    assert grounded.images == (image,) and "Question: What is this?" in grounded.content


def test_a_read_only_store_attaches_nothing(store: ConversationStore) -> None:
    with (
        ConversationStore.open(store.workspace, read_only=True) as other,
        pytest.raises(ReadOnlyWorkspace),
    ):
        other.attach(png())
    assert not (store.workspace.root / "attachments").exists()


def test_markdown_export_links_the_stored_image_instead_of_inlining_it(
    store: ConversationStore, tmp_path: Path
) -> None:
    image = store.attach(png(), name="chart.png")
    conv = store.create()
    conv.add_user("Explain this chart.", images=[image])
    export = store.export_markdown(conv.id)
    text = export.read_text(encoding="utf-8")
    assert f"![chart.png](<../{image.file}>)" in text  # exports/ sits beside attachments/
    assert (export.parent / ".." / image.file).read_bytes() == png()
    assert base64.b64encode(png()).decode() not in text
    elsewhere = store.export_markdown(conv.id, tmp_path / "out" / "chat.md").read_text()
    link = elsewhere.split("](<", 1)[1].split(">)", 1)[0]
    assert (tmp_path / "out" / link).resolve() == (store.workspace.root / image.file).resolve()
