"""Apply one of the classic photo filters to a single image."""

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import FilterParams, JobKind, UploadRole

from ..context import JobContext
from ..pipelines.filters import apply_filter
from ..registry import job
from .images import read_image, store_image


@job(JobKind.FILTER.value)
def run(ctx: JobContext, params: FilterParams) -> list[ResultItem]:
    ctx.plan(download=1, filter=6, upload=2)
    ctx.report("download")
    (ref,) = ctx.inputs_for(UploadRole.IMAGE)
    image = read_image(ctx, ref)
    ctx.report("download", 1.0)

    filtered = apply_filter(params.filter, image)
    ctx.report("filter", 1.0)

    item = store_image(ctx, "filter", filtered, lossless=False)
    ctx.report("upload", 1.0)
    return [item]
