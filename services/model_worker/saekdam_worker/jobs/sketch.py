"""Turn a doodle into a picture: SDXL with the T2I-Adapter sketch, in a style preset."""

import cv2

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, SketchParams, UploadRole

from ..context import JobContext
from ..registry import job
from .images import read_image, save_jpeg


@job(JobKind.SKETCH.value)
def run(ctx: JobContext, params: SketchParams) -> list[ResultItem]:
    from ..pipelines.sketch import SketchRequest

    ctx.plan(load=3, read=1, denoise=24, upload=1)
    ctx.report("load")
    painter = ctx.models.sketch_painter  # loaded once per process; first job pays
    ctx.report("load", 1.0)

    (ref,) = ctx.inputs_for(UploadRole.SKETCH)
    doodle = cv2.cvtColor(read_image(ctx, ref), cv2.COLOR_BGR2RGB)
    ctx.report("read", 1.0)

    def on_step(step: int, total: int) -> None:
        # Raises JobAbandoned once cancelled: the denoising loop stops within one step.
        ctx.report("denoise", step / total, step=step, total_steps=total)

    result = painter.paint(SketchRequest.from_params(doodle, params), on_step=on_step)
    item = save_jpeg(ctx, "sketch.jpg", cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR), result.seed)
    ctx.report("upload", 1.0)
    return [item]
