"""Reading inputs and storing results as images: what every image job does at its edges."""

import cv2
import numpy as np
from PIL import Image

from saekdam_backbone import imaging
from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_contracts.events import ResultItem, StoredRendition

from ..context import InputRef, JobContext
from ..errors import JobError
from ..pipelines.codec import decode_image, decode_rgba, encode_jpeg, encode_png

JPEG_QUALITY = 92
_EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg"}


def read_image(ctx: JobContext, ref: InputRef, keep_alpha: bool = False) -> np.ndarray:
    """The upload as a BGR array (RGBA with `keep_alpha`); a missing or unreadable upload
    fails the job for good."""
    try:
        data = ctx.read_input(ref)
    except ObjectNotFound:
        raise JobError("input_missing", f"upload {ref.upload_id} is no longer stored") from None
    try:
        return decode_rgba(data) if keep_alpha else decode_image(data)
    except ValueError:
        message = f"upload {ref.upload_id} is not a readable image"
        raise JobError("input_undecodable", message) from None


def store_image(
    ctx: JobContext, name: str, image: np.ndarray, lossless: bool, seed: int | None = None
) -> ResultItem:
    """Encode a BGR image and store it with its renditions, all under the attempt's prefix:
    the original as `{name}.png` (`lossless`: what the job left untouched stays
    bit-identical) or `{name}.jpg`, then `{name}.display.webp` and `{name}.thumbnail.webp`
    (saekdam_backbone.imaging, the code the board's thumbnails use).

    Everything a result costs after the job's own work happens here, so this one call can
    move off the job's critical path as it is."""
    height, width = image.shape[:2]
    if lossless:
        data, content_type, extension = encode_png(image), "image/png", "png"
    else:
        data, content_type, extension = encode_jpeg(image, JPEG_QUALITY), "image/jpeg", "jpg"
    original = ctx.save_result(f"{name}.{extension}", data, content_type, width, height, seed=seed)

    rgb = Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    display, thumbnail = imaging.renditions(rgb, [imaging.DISPLAY, imaging.THUMBNAIL])
    return original.model_copy(
        update={
            "display": _save_rendition(ctx, f"{name}.display", display),
            "thumbnail": _save_rendition(ctx, f"{name}.thumbnail", thumbnail),
        }
    )


def _save_rendition(ctx: JobContext, stem: str, rendition: imaging.Rendition) -> StoredRendition:
    name = f"{stem}.{_EXTENSIONS[rendition.content_type]}"
    stored = ctx.save_result(
        name, rendition.data, rendition.content_type, rendition.width, rendition.height
    )
    return StoredRendition(
        key=stored.key, content_type=stored.content_type, width=stored.width, height=stored.height
    )
