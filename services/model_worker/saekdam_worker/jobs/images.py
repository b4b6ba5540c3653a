"""Reading inputs and storing results as images: what every image job does at its edges."""

import numpy as np

from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_contracts.events import ResultItem

from ..context import InputRef, JobContext
from ..errors import JobError
from ..pipelines.codec import decode_image, decode_rgba, encode_jpeg, encode_png


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


def save_png(ctx: JobContext, name: str, image: np.ndarray, seed: int | None = None) -> ResultItem:
    """Store a BGR image losslessly: what the job left untouched stays bit-identical."""
    height, width = image.shape[:2]
    return ctx.save_result(name, encode_png(image), "image/png", width, height, seed=seed)


def save_jpeg(ctx: JobContext, name: str, image: np.ndarray, seed: int | None = None) -> ResultItem:
    """Store a BGR image as a JPEG result."""
    height, width = image.shape[:2]
    data = encode_jpeg(image, quality=92)
    return ctx.save_result(name, data, "image/jpeg", width, height, seed=seed)
