"""Pictures people upload (an event's, a store's photos): checked and resized with Pillow.

What is accepted: a JPEG, PNG, WebP or GIF (its first frame) of at most 8 MB and 40
megapixels; anything else is refused with a sentence saying what to choose instead. What is
kept: the picture turned upright (its EXIF orientation), fitted within 1200 x 1200 px, on
white where it was transparent, re-encoded as a progressive JPEG. Re-encoding drops its
metadata, so a phone photo's GPS position and camera details are not published with it.

Resizing is CPU work: `prepare` runs it in a worker thread, before any transaction opens.
Reading an upload from a form and serving a stored picture with caching headers are
`http/images.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from redcard.errors import InvalidInput

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1200
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")  # the only decoders Pillow may use on an upload
JPEG_QUALITY = 82


class ImageRefused(InvalidInput):
    pass


class ImageTooLarge(ImageRefused):
    status_code = 413


NOT_AN_IMAGE = "this file is not an image we can read; choose a JPEG, PNG, WebP or GIF"
TOO_LARGE = "the image is larger than 8 MB; choose a smaller one"
TOO_MANY_PIXELS = "the image is larger than 40 megapixels; choose a smaller one"


@dataclass(frozen=True, slots=True)
class Resized:
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _on_white(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparent parts (PNG, WebP, GIF) on white, not on black."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def resize(upload: bytes) -> Resized:
    """The upload checked and resized (see the module docstring); raises ImageRefused."""
    if len(upload) > MAX_UPLOAD_BYTES:
        raise ImageTooLarge(TOO_LARGE)
    try:
        with Image.open(io.BytesIO(upload), formats=FORMATS) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise ImageRefused(TOO_MANY_PIXELS)
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            image = _on_white(image)
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise ImageRefused(NOT_AN_IMAGE) from exc  # not an image, truncated, or a bomb
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return Resized(out.getvalue(), image.width, image.height)


async def prepare(upload: bytes) -> Resized:
    """`resize` in a worker thread, so the event loop keeps serving while Pillow works."""
    return await asyncio.to_thread(resize, upload)
