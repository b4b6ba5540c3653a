"""Stitch two to ten overlapping photos into one panorama."""

import numpy as np

from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, PanoramaParams, UploadRole

from ..context import InputRef, JobContext
from ..errors import JobError
from ..pipelines.codec import decode_image, encode_jpeg
from ..pipelines.panorama import StitchError, fit_within, stitch
from ..registry import job

MAX_SIDE = 2000


@job(JobKind.PANORAMA.value)
def run(ctx: JobContext, params: PanoramaParams) -> list[ResultItem]:
    ctx.plan(download=2, stitch=8, upload=1)
    refs = ctx.inputs_for(UploadRole.IMAGE)
    ctx.report("download", 0.0, step=0, total_steps=len(refs))
    images = []
    for done, ref in enumerate(refs, start=1):
        # Shrink each photo as it arrives so ten full-size decodes never sit in memory at once.
        images.append(fit_within(_read_image(ctx, ref), MAX_SIDE))
        ctx.report("download", done / len(refs), step=done, total_steps=len(refs))

    try:
        panorama = stitch(images, params.mode, max_side=MAX_SIDE)
    except StitchError as error:
        raise JobError("stitch_failed", error.message) from error
    ctx.report("stitch", 1.0)

    data = encode_jpeg(panorama, quality=92)
    height, width = panorama.shape[:2]
    item = ctx.save_result("panorama.jpg", data, "image/jpeg", width, height)
    ctx.report("upload", 1.0)
    return [item]


def _read_image(ctx: JobContext, ref: InputRef) -> np.ndarray:
    try:
        data = ctx.read_input(ref)
    except ObjectNotFound:
        raise JobError("input_missing", f"upload {ref.upload_id} is no longer stored") from None
    try:
        return decode_image(data)
    except ValueError:
        message = f"upload {ref.upload_id} is not a readable image"
        raise JobError("input_undecodable", message) from None
