"""Real image files for the attachment tests, drawn with Pillow."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def picture(width: int, height: int, fmt: str = "PNG", **save: object) -> bytes:
    """A ``width`` × ``height`` image with a diagonal and a corner mark, so scaling shows."""
    image = Image.new("RGB", (width, height), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.line((0, 0, width - 1, height - 1), fill=(200, 0, 0), width=max(1, width // 50))
    draw.rectangle((0, 0, max(1, width // 10), max(1, height // 10)), fill=(0, 0, 200))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """A JPEG that compresses badly (random pixels): large in bytes for its size."""
    import os

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def animated_gif(frames: int = 3, size: int = 32) -> bytes:
    """An animated GIF whose first frame is red and the others shades of blue."""
    colours = [(255, 0, 0)] + [(0, 0, 255 - 20 * n) for n in range(frames - 1)]
    images = [Image.new("RGB", (size, size), c) for c in colours]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def rotated_jpeg(width: int, height: int) -> bytes:
    """A JPEG stored ``width`` × ``height`` with EXIF orientation 6 (shown rotated 90°)."""
    image = Image.new("RGB", (width, height), (10, 120, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size
