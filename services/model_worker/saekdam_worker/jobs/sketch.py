"""Turn a doodle into a picture: SDXL with the T2I-Adapter sketch, in a style preset."""

import cv2
import numpy as np

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, SketchParams, UploadRole

from ..context import JobContext
from ..errors import JobError
from ..registry import job
from .images import read_image, save_jpeg
from .model_errors import model_run


@job(JobKind.SKETCH.value)
def run(ctx: JobContext, params: SketchParams) -> list[ResultItem]:
    from ..pipelines.sketch import SketchRequest, sketch_condition

    ctx.plan(load=3, read=1, denoise=24, upload=1)
    ctx.report("load")
    painter = ctx.models.sketch_painter  # loaded once per process; first job pays
    ctx.report("load", 1.0)

    (ref,) = ctx.inputs_for(UploadRole.SKETCH)
    doodle = read_image(ctx, ref, keep_alpha=True)  # RGBA: transparent canvases are common
    if not np.asarray(sketch_condition(doodle, size=256)).any():
        raise JobError("empty_sketch", "the drawing has no lines to follow")
    ctx.report("read", 1.0)

    def on_step(step: int, total: int) -> None:
        # Raises JobAbandoned once cancelled: the denoising loop stops within one step.
        ctx.report("denoise", step / total, step=step, total_steps=total)

    with model_run():
        request = SketchRequest.from_params(doodle, params)
        result = painter.paint(request, on_step=on_step, preview=ctx.previews)
    item = save_jpeg(ctx, "sketch.jpg", cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR), result.seed)
    ctx.report("upload", 1.0)
    return [item]
