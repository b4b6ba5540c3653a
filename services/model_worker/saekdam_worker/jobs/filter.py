"""Apply one of the classic photo filters to a single image."""

import numpy as np

from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import FilterParams, JobKind, UploadRole

from ..context import InputRef, JobContext
from ..errors import JobError
from ..pipelines.codec import decode_image, encode_jpeg
from ..pipelines.filters import apply_filter
from ..registry import job


@job(JobKind.FILTER.value)
def run(ctx: JobContext, params: FilterParams) -> list[ResultItem]:
    ctx.plan(download=1, filter=6, upload=2)
    ctx.report("download")
    (ref,) = ctx.inputs_for(UploadRole.IMAGE)
    image = _read_image(ctx, ref)
    ctx.report("download", 1.0)

    filtered = apply_filter(params.filter, image)
    ctx.report("filter", 1.0)

    data = encode_jpeg(filtered, quality=92)
    height, width = filtered.shape[:2]
    item = ctx.save_result("filter.jpg", data, "image/jpeg", width, height)
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
