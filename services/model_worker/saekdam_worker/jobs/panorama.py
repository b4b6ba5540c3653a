"""Stitch two to ten overlapping photos into one panorama."""

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, PanoramaParams, UploadRole

from ..context import JobContext
from ..errors import JobError
from ..pipelines.panorama import StitchError, fit_within, stitch
from ..registry import job
from .images import read_image, store_image

MAX_SIDE = 2000


@job(JobKind.PANORAMA.value)
def run(ctx: JobContext, params: PanoramaParams) -> list[ResultItem]:
    ctx.plan(download=2, stitch=8, upload=1)
    refs = ctx.inputs_for(UploadRole.IMAGE)
    ctx.report("download", 0.0, step=0, total_steps=len(refs))
    images = []
    for done, ref in enumerate(refs, start=1):
        # Shrink each photo as it arrives so ten full-size decodes never sit in memory at once.
        images.append(fit_within(read_image(ctx, ref), MAX_SIDE))
        ctx.report("download", done / len(refs), step=done, total_steps=len(refs))

    try:
        panorama = stitch(images, params.mode, max_side=MAX_SIDE)
    except StitchError as error:
        raise JobError("stitch_failed", error.message) from error
    ctx.report("stitch", 1.0)

    item = store_image(ctx, "panorama", panorama, lossless=False)
    ctx.report("upload", 1.0)
    return [item]
