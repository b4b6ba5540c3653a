"""Validation during theme training: fixed wall photos painted by the worker's own painter,
once with the adapter at scale 0 (the base model) and once at 1, saved as one grid per step
(rows: photos; columns: the photo, the base model, with the adapter), same seed for both, so
the grid shows what the adapter adds and nothing else."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from saekdam_worker.pipelines.mural import MuralPainter, MuralRequest
from saekdam_worker.pipelines.wall_mask import mask_from_upload, wall_alpha

VALIDATION = "validation"


@dataclass
class ValidationCase:
    photo: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray  # HxW float, the feathered wall


def load_cases(photos: list[Path], masks: list[Path]) -> list[ValidationCase]:
    """Photos and their masks (white = wall), read once, masked as the worker masks."""
    cases = []
    for photo_path, mask_path in zip(photos, masks, strict=True):
        photo = np.asarray(Image.open(photo_path).convert("RGB"))
        mask = np.asarray(Image.open(mask_path).convert("L"))
        height, width = photo.shape[:2]
        if mask.shape != (height, width):
            raise ValueError(
                f"validation mask {mask_path} is {mask.shape[1]}x{mask.shape[0]}, "
                f"its photo {photo_path} {width}x{height}: they have to match"
            )
        cases.append(ValidationCase(photo, wall_alpha(mask_from_upload(mask, height, width))))
    return cases


def paint_grid(
    pipe,
    theme: str,
    cases: list[ValidationCase],
    *,
    prompt: str,
    steps: int,
    seed: int,
    max_side: int,
) -> Image.Image:
    """One row per case: photo | base model | with the adapter (the pipeline's unet carries
    the adapter under the theme's name)."""
    painter = MuralPainter(pipe, [theme], max_side=max_side)
    rows = []
    for case in cases:
        cells = [case.photo]
        for scale in (0.0, 1.0):
            request = MuralRequest(
                case.photo, case.alpha, theme, prompt, seed=seed, steps=steps, lora_scale=scale
            )
            cells.append(painter.paint(request).image)
        rows.append(np.concatenate(cells, axis=1))
    width = max(row.shape[1] for row in rows)
    padded = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
    return Image.fromarray(np.concatenate(padded, axis=0))


def grid_path(output_dir: Path, step: int) -> Path:
    return output_dir / VALIDATION / f"step-{step:06d}.png"
