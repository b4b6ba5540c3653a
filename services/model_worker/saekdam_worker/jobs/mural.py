"""Paint a mural on the wall of a photo: find the wall, inpaint it in the theme's style,
and blend the result back so nothing outside the (feathered) wall changes.

In three parts (see registry): `prepare` decodes the photo and, for an uploaded mask, makes
the wall from it; `run` finds the wall with SAM when it has to (SAM needs the GPU) and
denoises; `finish` composites at full resolution and stores the result.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import JobKind, MuralParams, UploadRole

from ..context import JobContext
from ..errors import JobError
from ..registry import job
from .images import read_image, store_image
from .model_errors import model_run


@dataclass
class Photo:
    params: MuralParams
    # HxWx3 uint8 RGB at full resolution.
    photo: np.ndarray
    # The feathered wall, when it could be made without a model (an uploaded mask).
    alpha: np.ndarray | None


@dataclass
class Painted:
    prepared: object  # pipelines.mural.PreparedMural
    generated: np.ndarray


def prepare(ctx: JobContext, params: MuralParams) -> Photo:
    from ..pipelines.wall_mask import NoWallFound, mask_from_upload

    ctx.plan(load=3, segment=2, denoise=max(params.steps, 1), composite=1, upload=1)
    # 1. The photo, and the wall where no model is needed to find it.
    (photo_ref,) = ctx.inputs_for(UploadRole.IMAGE)
    photo = cv2.cvtColor(read_image(ctx, photo_ref), cv2.COLOR_BGR2RGB)
    if params.region.mode != "mask":
        return Photo(params, photo, None)
    height, width = photo.shape[:2]
    (mask_ref,) = ctx.inputs_for(UploadRole.MASK)
    mask_image = cv2.cvtColor(read_image(ctx, mask_ref), cv2.COLOR_BGR2GRAY)
    try:
        wall = mask_from_upload(mask_image, height, width)
    except NoWallFound as error:
        raise JobError("no_wall_found", str(error)) from error
    return Photo(params, photo, _feathered(wall))


def finish(ctx: JobContext, painted: Painted) -> list[ResultItem]:
    from ..pipelines.mural import MuralPainter

    # 4. Composite at full resolution, then store it.
    result = MuralPainter.composite(painted.prepared, painted.generated)
    ctx.report("composite", 1.0)
    mural = cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR)
    # A PNG original: a JPEG re-encode would change the pixels outside the wall after all
    # (the display and thumbnail copies beside it are lossy, for screens only).
    item = store_image(ctx, "mural", mural, lossless=True, seed=result.seed)
    ctx.report("upload", 1.0)
    return [item]


@job(JobKind.MURAL.value, prepare=prepare, finish=finish)
def run(ctx: JobContext, photo: Photo) -> Painted:
    from ..pipelines.mural import MuralRequest

    params = photo.params
    # 1. Models: loaded once per process, so only the first job pays for this stage.
    ctx.report("load")
    painter = ctx.models.theme_painter()  # with any theme trained since the last job
    if params.theme != "custom" and params.theme not in painter.themes:
        raise JobError(
            "theme_unavailable",
            f"this worker has no adapter for the {params.theme!r} theme; it has: "
            + ", ".join(painter.themes or ["none"]),
        )
    ctx.report("load", 1.0)

    # 2. The wall, if prepare could not make it.
    ctx.report("segment")
    alpha = photo.alpha
    if alpha is None:
        alpha = _feathered(_segment(ctx, photo))
    ctx.report("segment", 1.0)

    # 3. Inpaint in the theme's style; each step reports and may be cancelled.
    def on_step(step: int, total: int) -> None:
        ctx.report("denoise", step / total, step=step, total_steps=total)

    with model_run():
        prepared = painter.prepare(MuralRequest.from_params(photo.photo, alpha, params))
        generated = painter.denoise(prepared, on_step=on_step, preview=ctx.previews)
    return Painted(prepared, generated)


def _feathered(wall: np.ndarray) -> np.ndarray:
    from ..pipelines.wall_mask import NoWallFound, wall_alpha

    try:
        return wall_alpha(wall)
    except NoWallFound as error:
        raise JobError("no_wall_found", str(error)) from error


def _segment(ctx: JobContext, photo: Photo):
    from ..pipelines.wall_mask import (
        NoWallFound,
        normalised_box_to_pixels,
        normalised_points_to_pixels,
    )

    height, width = photo.photo.shape[:2]
    region = photo.params.region
    segmenter = ctx.models.wall_segmenter
    try:
        segmenter.set_image(photo.photo)  # the one image embedding of this task
        if region.mode == "box":
            return segmenter.from_box(normalised_box_to_pixels(region.box, width, height))
        if region.mode == "points":
            points, labels = normalised_points_to_pixels(region.points, width, height)
            return segmenter.from_points(points, labels)
        return segmenter.auto()
    except NoWallFound as error:
        raise JobError("no_wall_found", str(error)) from error
