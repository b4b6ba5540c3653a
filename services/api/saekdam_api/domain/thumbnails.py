"""Small previews of images (long side at most `max_side`), made off the event loop."""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

THUMBNAIL_CONTENT_TYPE = "image/webp"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def make_thumbnail(data: bytes, max_side: int) -> Thumbnail:
    """A WebP no larger than `max_side` on its long side, turned upright (EXIF), never
    enlarged. `data` must already be a verified image (uploads/verify.py)."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=80, method=4)
        return Thumbnail(out.getvalue(), THUMBNAIL_CONTENT_TYPE, image.width, image.height)
