"""Images for vision models: checked with Pillow, sent as they are when they fit.

An image goes to the model as its original bytes when the model's limits
allow (see :mod:`.limits`): re-encoding would cost quality and the user's
record would no longer be the file they chose. Otherwise it is downscaled
(aspect kept, EXIF rotation applied, since re-encoding drops the tag that
would rotate it) and the attachment carries a note saying so. An animated GIF
becomes its first frame as a PNG: no local vision model reads animations, and
servers differ on which frame they would take.

The whole image is decoded once before anything is stored, so a truncated or
damaged file is refused here, in one line, not by the model server later.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from offyai_tui.attach.errors import CorruptImage, NotAnImage, TooLarge
from offyai_tui.attach.limits import MAX_PIXELS, ImageLimits, human_bytes
from offyai_tui.chat.attachments import sniff_image

_PIL_FORMATS = {
    "PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "GIF": "image/gif",
    "WEBP": "image/webp",
}  # fmt: skip
"""Pillow's names; MPO is how it opens the JPEGs of cameras that store a second picture."""
_SAVE = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)
"""EXIF orientations that show the stored pixels turned by 90°."""
_SHRINK = 0.75
"""Each retry when a downscaled image is still over the byte limit."""
_TRIES = 8


@dataclass(frozen=True)
class PreparedImage:
    """The bytes to store and send, with what the chip and the note show."""

    data: bytes
    mime: str
    width: int
    height: int
    note: str = ""
    """Empty when the original bytes are sent; else what was done to them."""


def prepare_image(data: bytes, name: str, limits: ImageLimits) -> PreparedImage:
    """Check ``data`` is an image we take and fit it to ``limits``.

    Args:
        data: The file's bytes.
        name: Shown in errors and notes (already made visible by the caller).
        limits: The model's largest side and size.

    Raises:
        NotAnImage: not PNG, JPEG, WebP or GIF by its first bytes.
        CorruptImage: it cannot be decoded (truncated, damaged).
        TooLarge: more pixels than can be decoded safely, or no smaller
            version fits the byte limit.
    """
    mime = sniff_image(data)
    if mime is None:
        raise NotAnImage(f"{name} is not an image (PNG, JPEG, WebP or GIF); nothing attached")
    image = _decode(data, name, mime)
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    animated = mime == "image/gif" and frames > 1
    if not animated and max(width, height) <= limits.max_side and len(data) <= limits.max_bytes:
        if mime == "image/jpeg" and image.getexif().get(_ORIENTATION, 1) in _QUARTER_TURNS:
            width, height = height, width  # the chip tells the size as the photo is seen
        return PreparedImage(data, mime, width, height)
    if mime == "image/jpeg":
        image = ImageOps.exif_transpose(image)
        width, height = image.size
    out_mime = "image/png" if mime == "image/gif" else mime
    side = min(limits.max_side, max(width, height))
    for _ in range(_TRIES):
        small = _resized(image, side)
        encoded = _encode(small, out_mime)
        if len(encoded) <= limits.max_bytes:
            return PreparedImage(
                encoded, out_mime, small.width, small.height,
                _note(width, height, small.size, frames if animated else 1),
            )  # fmt: skip
        side = int(side * _SHRINK)
    raise TooLarge(
        f"{name} is still over {human_bytes(limits.max_bytes)} at {side}px; nothing attached"
    )


def _decode(data: bytes, name: str, mime: str) -> Image.Image:
    """Open and fully decode the first frame; every decoding failure is one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if _PIL_FORMATS.get(str(image.format)) != mime:
                raise CorruptImage(_damaged(name, "unexpected format"))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise TooLarge(_too_many_pixels(name, width, height))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(f"{name} has too many pixels to open safely; nothing attached") from None
    except UnidentifiedImageError:
        raise CorruptImage(_damaged(name, "cannot be decoded")) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = "truncated" if "truncated" in str(exc) else "cannot be decoded"
        raise CorruptImage(_damaged(name, reason)) from None
    return image


def _damaged(name: str, reason: str) -> str:
    return f"{name} is a damaged image ({reason}); nothing attached"


def _too_many_pixels(name: str, width: int, height: int) -> str:
    return (
        f"{name} is {width}×{height} pixels, over the {MAX_PIXELS // 1_000_000} megapixel "
        "limit; nothing attached"
    )


def _resized(image: Image.Image, side: int) -> Image.Image:
    """A copy whose longer side is at most ``side``, aspect kept (never enlarged)."""
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _encode(image: Image.Image, mime: str) -> bytes:
    buffer = io.BytesIO()
    if mime == "image/jpeg":
        image = image.convert("RGB") if image.mode not in ("RGB", "L", "CMYK") else image
        image.save(buffer, "JPEG", quality=90, optimize=True)
    elif mime == "image/webp":
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.save(buffer, "WEBP", quality=90)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _note(width: int, height: int, size: tuple[int, int], frames: int) -> str:
    parts = []
    if frames > 1:
        parts.append(f"first frame of an animated GIF ({frames} frames)")
    if size != (width, height):
        parts.append(f"downscaled from {width}×{height} to {size[0]}×{size[1]}")
    elif frames <= 1:
        parts.append("re-encoded to fit the model's size limit")
    return "; ".join(parts)
