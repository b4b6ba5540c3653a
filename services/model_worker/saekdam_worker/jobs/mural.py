"""Paint a mural on the wall of a photo: find the wall, inpaint it in the theme's style,
and blend the result back so nothing outside the (feathered) wall changes."""

import cv2

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, MuralParams, UploadRole

from ..context import JobContext
from ..errors import JobError
from ..registry import job
from .images import read_image, save_png
from .model_errors import model_run

# Relative to the photo's short side: wide enough to hide the seam, narrow enough to keep
# the mural on the wall.
FEATHER_FRACTION = 0.01


@job(JobKind.MURAL.value)
def run(ctx: JobContext, params: MuralParams) -> list[ResultItem]:
    from ..pipelines.mural import MuralRequest
    from ..pipelines.wall_mask import NoWallFound, clean_mask, feather

    ctx.plan(load=3, segment=2, denoise=max(params.steps, 1), composite=1, upload=1)
    # 1. Models: loaded once per process, so only the first job pays for this stage.
    ctx.report("load")
    painter = ctx.models.mural_painter
    if params.theme != "custom" and params.theme not in painter.themes:
        raise JobError(
            "theme_unavailable",
            f"this worker has no adapter for the {params.theme!r} theme; it has: "
            + ", ".join(painter.themes or ["none"]),
        )
    ctx.report("load", 1.0)

    # 2. The photo and its wall.
    (photo_ref,) = ctx.inputs_for(UploadRole.IMAGE)
    photo = cv2.cvtColor(read_image(ctx, photo_ref), cv2.COLOR_BGR2RGB)
    ctx.report("segment")
    try:
        wall = clean_mask(_wall_mask(ctx, params, photo))
    except NoWallFound as error:
        raise JobError("no_wall_found", str(error)) from error
    if not wall.any():
        raise JobError("no_wall_found", "the wall vanished when its mask was cleaned up")
    alpha = feather(wall, radius_px=max(2.0, FEATHER_FRACTION * min(photo.shape[:2])))
    ctx.report("segment", 1.0)

    # 3. Inpaint in the theme's style; each step reports and may be cancelled.
    def on_step(step: int, total: int) -> None:
        ctx.report("denoise", step / total, step=step, total_steps=total)

    request = MuralRequest.from_params(photo, alpha, params)
    with model_run():
        result = painter.paint(request, on_step=on_step, preview=ctx.previews)
    ctx.report("composite", 1.0)

    # 4. Store it.
    mural = cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR)
    # PNG: a JPEG re-encode would change the pixels outside the wall after all.
    item = save_png(ctx, "mural.png", mural, seed=result.seed)
    ctx.report("upload", 1.0)
    return [item]


def _wall_mask(ctx: JobContext, params: MuralParams, photo):
    from ..pipelines.wall_mask import (
        mask_from_upload,
        normalised_box_to_pixels,
        normalised_points_to_pixels,
    )

    height, width = photo.shape[:2]
    region = params.region
    if region.mode == "mask":
        (mask_ref,) = ctx.inputs_for(UploadRole.MASK)
        mask_image = cv2.cvtColor(read_image(ctx, mask_ref), cv2.COLOR_BGR2GRAY)
        return mask_from_upload(mask_image, height, width)

    segmenter = ctx.models.wall_segmenter
    segmenter.set_image(photo)  # the one image embedding of this task
    if region.mode == "box":
        return segmenter.from_box(normalised_box_to_pixels(region.box, width, height))
    if region.mode == "points":
        points, labels = normalised_points_to_pixels(region.points, width, height)
        return segmenter.from_points(points, labels)
    return segmenter.auto()
