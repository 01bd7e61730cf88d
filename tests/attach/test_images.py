"""Images: sent as they are when they fit, downscaled with a note when not, refused in one line."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from offyai_tui.attach import (
    AttachmentError,
    CorruptImage,
    NotAFile,
    NotAnImage,
    NotFound,
    TooLarge,
    Unreadable,
    chip,
    image_limits,
    notes,
    prepare,
)
from offyai_tui.attach.limits import MAX_INPUT_BYTES, ImageLimits
from tests.attach.pictures import animated_gif, noisy_jpeg, picture, rotated_jpeg, size_of


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _stored(root: Path) -> list[str]:
    folder = root / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp"),
     ("GIF", "image/gif", "gif")],
)  # fmt: skip
def test_an_image_within_the_limits_is_stored_as_its_original_bytes(
    tmp_path: Path, fmt: str, mime: str, ext: str
) -> None:
    data = picture(640, 480, fmt)
    source = _write(tmp_path / f"photo.{ext}", data)
    item = prepare(tmp_path / "ws", source, want="image", limits=image_limits("ollama"))
    sha = hashlib.sha256(data).hexdigest()
    assert (item.mime, item.sha256, item.file) == (mime, sha, f"attachments/{sha}.{ext}")
    assert (item.width, item.height, item.size, item.note) == (640, 480, len(data), "")
    stored = tmp_path / "ws" / item.file
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert item.ref(tmp_path / "ws").read() == data  # what an engine puts on the wire


def test_a_large_image_is_downscaled_keeping_its_aspect_and_says_so(tmp_path: Path) -> None:
    source = _write(tmp_path / "scan.png", picture(3000, 1500))
    item = prepare(tmp_path / "ws", source, limits=ImageLimits(1024, 8 << 20))
    assert (item.width, item.height) == (1024, 512)
    stored = (tmp_path / "ws" / item.file).read_bytes()
    assert size_of(stored) == (1024, 512) and item.mime == "image/png"
    assert item.note == "downscaled from 3000×1500 to 1024×512"
    assert notes([item]) == ["scan.png: downscaled from 3000×1500 to 1024×512"]
    assert chip(item, 1) == f"[image 1: scan.png 1024×512 {round(len(stored) / 1024)} KB]"
    assert _stored(tmp_path / "ws") == [f"{item.sha256}.png"]  # only the downscaled copy


def test_an_image_over_the_byte_limit_is_made_smaller_until_it_fits(tmp_path: Path) -> None:
    data = noisy_jpeg(1200, 900)
    limit = len(data) // 4
    source = _write(tmp_path / "noise.jpg", data)
    item = prepare(tmp_path / "ws", source, limits=ImageLimits(4096, limit))
    assert item.size <= limit and item.mime == "image/jpeg"
    assert item.width < 1200 and abs(item.width / item.height - 4 / 3) < 0.01
    assert item.note.startswith("downscaled from 1200×900 to ")


def test_a_downscaled_photo_keeps_its_rotation(tmp_path: Path) -> None:
    source = _write(tmp_path / "phone.jpg", rotated_jpeg(400, 200))
    item = prepare(tmp_path / "ws", source, limits=ImageLimits(100, 8 << 20))
    assert (item.width, item.height) == (50, 100)  # shown upright: taller than wide


def test_an_animated_gif_becomes_its_first_frame(tmp_path: Path) -> None:
    source = _write(tmp_path / "blink.gif", animated_gif(frames=3))
    item = prepare(tmp_path / "ws", source, limits=image_limits())
    assert item.mime == "image/png" and item.file.endswith(".png")
    assert item.note == "first frame of an animated GIF (3 frames)"
    with Image.open(tmp_path / "ws" / item.file) as frame:
        assert getattr(frame, "n_frames", 1) == 1
        assert frame.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_a_truncated_png_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    data = picture(300, 300)
    source = _write(tmp_path / "cut.png", data[: len(data) // 2])
    with pytest.raises(CorruptImage) as caught:
        prepare(tmp_path / "ws", source)
    assert str(caught.value) == "cut.png is a damaged image (truncated); nothing attached"
    assert _stored(tmp_path / "ws") == []


def test_a_png_signature_on_garbage_is_a_damaged_image(tmp_path: Path) -> None:
    source = _write(tmp_path / "fake.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    with pytest.raises(CorruptImage, match=r"^fake.png is a damaged image"):
        prepare(tmp_path / "ws", source)


def test_a_text_file_renamed_png_is_not_an_image(tmp_path: Path) -> None:
    source = _write(tmp_path / "notes.png", b"just some notes\n")
    with pytest.raises(NotAnImage) as caught:
        prepare(tmp_path / "ws", source, want="image")
    assert str(caught.value) == (
        "notes.png is not an image (PNG, JPEG, WebP or GIF); nothing attached"
    )
    # Without /image, the content decides: it is attached as the text it is.
    item = prepare(tmp_path / "ws", source)
    assert not item.is_image and item.mime == "text/plain"


def test_an_image_named_txt_is_still_an_image(tmp_path: Path) -> None:
    source = _write(tmp_path / "screenshot.txt", picture(20, 10))
    item = prepare(tmp_path / "ws", source, want="file")
    assert item.is_image and (item.width, item.height) == (20, 10)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    with big.open("wb") as handle:
        handle.write(picture(10, 10))
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB that take no disk
    with pytest.raises(TooLarge) as caught:
        prepare(tmp_path / "ws", big, want="image")
    assert str(caught.value) == (
        f"huge.png is 200.0 MB; files up to {MAX_INPUT_BYTES // 1024 // 1024}.0 MB can be "
        "attached; nothing attached"
    )


def test_too_many_pixels_is_refused_without_decoding(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 8_000)).save(out, "PNG")  # 96 Mpx in a few KB
    source = _write(tmp_path / "bomb.png", out.getvalue())
    with pytest.raises(TooLarge, match=r"^bomb.png .*too many pixels|^bomb.png is 12000×8000"):
        prepare(tmp_path / "ws", source)


def test_missing_folder_and_looping_paths_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"gone.png does not exist; nothing attached$"):
        prepare(tmp_path / "ws", tmp_path / "gone.png")
    (tmp_path / "shots").mkdir()
    with pytest.raises(NotAFile, match=r"^shots is a folder; attach its files one by one"):
        prepare(tmp_path / "ws", tmp_path / "shots")
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    with pytest.raises(Unreadable, match=r"^loop.png cannot be read: a symlink loop"):
        prepare(tmp_path / "ws", loop)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(NotAFile, match=r"^pipe.png is not a regular file"):
        prepare(tmp_path / "ws", fifo)
    assert not (tmp_path / "ws").exists()


def test_an_image_from_stdin(tmp_path: Path) -> None:
    data = picture(30, 20, "JPEG")
    item = prepare(tmp_path / "ws", "-", want="image", stdin=io.BytesIO(data))
    assert (item.name, item.mime, item.size) == ("stdin", "image/jpeg", len(data))


def test_a_name_with_terminal_escapes_is_shown_inert(tmp_path: Path) -> None:
    source = _write(tmp_path / "evil\x1b]0;owned\x07.png", picture(8, 8))
    item = prepare(tmp_path / "ws", source)
    assert "\x1b" not in chip(item, 1) and "\\x1b]0;owned\\x07.png" in chip(item, 1)
    with pytest.raises(AttachmentError) as caught:
        prepare(tmp_path / "ws", tmp_path / "gone\x1b[2J.png")
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "side", "mb", "expected"),
    [("ollama", 0, 0, (2048, 8 << 20)), ("llamacpp", 0, 0, (1024, 4 << 20)),
     ("some-plugin", 0, 0, (2048, 8 << 20)), ("openai", 768, 2.5, (768, int(2.5 * 2**20))),
     ("ollama", 10, 500, (64, 20 << 20))],
)  # fmt: skip
def test_limits_per_engine_and_from_config(
    kind: str, side: int, mb: float, expected: tuple[int, int]
) -> None:
    limits = image_limits(kind, side, mb)
    assert (limits.max_side, limits.max_bytes) == expected


def test_a_camera_jpeg_with_a_second_picture_is_a_jpeg(tmp_path: Path) -> None:
    first, second = Image.new("RGB", (64, 48), (200, 0, 0)), Image.new("RGB", (64, 48))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])
    with Image.open(io.BytesIO(out.getvalue())) as opened:
        assert opened.format == "MPO"  # how Pillow reads it
    source = _write(tmp_path / "camera.jpg", out.getvalue())
    item = prepare(tmp_path / "ws", source, want="image")
    assert (item.mime, item.width, item.height, item.note) == ("image/jpeg", 64, 48, "")


def test_a_rotated_photo_sent_as_is_tells_its_size_as_seen(tmp_path: Path) -> None:
    data = rotated_jpeg(400, 200)
    item = prepare(tmp_path / "ws", _write(tmp_path / "phone.jpg", data))
    assert (tmp_path / "ws" / item.file).read_bytes() == data  # the original bytes
    assert (item.width, item.height) == (200, 400)
