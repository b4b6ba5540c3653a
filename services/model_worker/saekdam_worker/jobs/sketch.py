"""Turn a doodle into a picture: SDXL with the T2I-Adapter sketch, in a style preset."""

import cv2
import numpy as np

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, SketchParams, UploadRole

from ..context import JobContext
from ..errors import JobError
from ..registry import job
from .images import read_image, store_image
from .model_errors import model_run


def prepare(ctx: JobContext, params: SketchParams) -> tuple[SketchParams, np.ndarray]:
    """The doodle, decoded and checked, while another job may hold the pipeline."""
    from ..pipelines.sketch import sketch_condition

    ctx.plan(read=1, load=3, denoise=24, upload=1)
    (ref,) = ctx.inputs_for(UploadRole.SKETCH)
    doodle = read_image(ctx, ref, keep_alpha=True)  # RGBA: transparent canvases are common
    if not np.asarray(sketch_condition(doodle, size=256)).any():
        raise JobError("empty_sketch", "the drawing has no lines to follow")
    ctx.report("read", 1.0)
    return params, doodle


def finish(ctx: JobContext, result) -> list[ResultItem]:
    picture = cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR)
    item = store_image(ctx, "sketch", picture, lossless=False, seed=result.seed)
    ctx.report("upload", 1.0)
    return [item]


@job(JobKind.SKETCH.value, prepare=prepare, finish=finish)
def run(ctx: JobContext, prepared: tuple[SketchParams, np.ndarray]):
    from ..pipelines.sketch import SketchRequest

    params, doodle = prepared
    ctx.report("load")
    painter = ctx.models.sketch_painter  # loaded once per process; first job pays
    ctx.report("load", 1.0)

    def on_step(step: int, total: int) -> None:
        # Raises JobAbandoned once cancelled: the denoising loop stops within one step.
        ctx.report("denoise", step / total, step=step, total_steps=total)

    with model_run():
        request = SketchRequest.from_params(doodle, params)
        return painter.paint(request, on_step=on_step, preview=ctx.previews)
