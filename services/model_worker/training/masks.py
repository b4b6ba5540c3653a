"""Masks for inpainting training: wall-shaped, rectangles and free strokes, in chosen ratios.

The worker paints murals through a wall mask, so training mostly should too: SAM's wall on
the training image, cleaned up and feathered by the worker's own `wall_alpha`. Rectangles
and strokes keep the LoRA from learning that only wall shapes get painted (and stand in when
SAM finds no wall). Each sample's mask comes from a generator seeded by (seed, index, epoch):
the same run repeats exactly, and each epoch masks differently.

Masks are bool (H, W); alphas float32 (H, W) in 0..1, exactly what the worker blends with.
"""

import hashlib
import logging
import math
import numbers
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from saekdam_worker.pipelines.wall_mask import NoWallFound, wall_alpha

log = logging.getLogger(__name__)

KINDS = ("wall", "rect", "stroke")

# Shares of the image a rectangle covers, and the least a set of strokes covers.
RECT_AREA = (0.15, 0.70)
RECT_ASPECT = (1 / 3, 3.0)  # width / height
MIN_STROKE_COVERAGE = 0.05
STROKE_WIDTH = (0.04, 0.15)  # of the short side
STROKE_STEP = (0.15, 0.35)  # of the short side


@dataclass(frozen=True)
class MaskMix:
    """How often each kind of mask is drawn; given as any non-negative weights, kept
    normalised to sum to 1."""

    wall: float
    rect: float
    stroke: float

    def __post_init__(self) -> None:
        weights = (self.wall, self.rect, self.stroke)
        if not all(isinstance(w, numbers.Real) and math.isfinite(w) for w in weights):
            raise ValueError(f"mask mix weights must be finite numbers, got {weights}")
        if any(w < 0 for w in weights):
            raise ValueError(f"mask mix weights must be >= 0, got wall,rect,stroke = {weights}")
        total = float(sum(weights))
        if total == 0:
            raise ValueError("mask mix weights are all 0: at least one kind must be drawn")
        for name, weight in zip(KINDS, weights, strict=True):
            object.__setattr__(self, name, float(weight) / total)

    @classmethod
    def parse(cls, text: str) -> "MaskMix":
        """The CLI form "wall,rect,stroke", e.g. "0.5,0.3,0.2" (or "5,3,2")."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 3:
            raise ValueError(
                f"mask mix {text!r}: expected three weights wall,rect,stroke like 0.5,0.3,0.2"
            )
        try:
            weights = [float(part) for part in parts]
        except ValueError:
            raise ValueError(
                f"mask mix {text!r}: weights must be numbers, like 0.5,0.3,0.2"
            ) from None
        return cls(*weights)

    @property
    def probabilities(self) -> tuple[float, float, float]:
        """In the order of KINDS."""
        return (self.wall, self.rect, self.stroke)


def rect_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """One axis-aligned rectangle covering RECT_AREA of the image (up to rounding), of a
    random aspect ratio, placed anywhere fully inside the image; at least 1×1 pixel."""
    area = rng.uniform(*RECT_AREA) * height * width
    aspect = math.exp(rng.uniform(math.log(RECT_ASPECT[0]), math.log(RECT_ASPECT[1])))
    rect_w = math.sqrt(area * aspect)
    rect_h = area / rect_w
    # Too wide (tall) for the image: span it and keep the area with the other side.
    if rect_w > width:
        rect_w, rect_h = width, area / width
    if rect_h > height:
        rect_w, rect_h = area / height, height
    rect_w = min(width, max(1, round(rect_w)))
    rect_h = min(height, max(1, round(rect_h)))
    top = int(rng.integers(0, height - rect_h + 1))
    left = int(rng.integers(0, width - rect_w + 1))
    mask = np.zeros((height, width), dtype=bool)
    mask[top : top + rect_h, left : left + rect_w] = True
    return mask


def stroke_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """1-4 thick strokes, each a random walk of 1-5 segments that turns up to ~70° a step
    and bounces off the image's edges, like a brush dragged over the wall. A walk is extended
    until the strokes cover MIN_STROKE_COVERAGE, so the mask is never a mere scribble."""
    short = min(height, width)
    canvas = np.zeros((height, width), dtype=np.uint8)
    walks = []
    for _ in range(int(rng.integers(1, 5))):
        point = np.array([rng.uniform(0, width - 1), rng.uniform(0, height - 1)])
        walk = {
            "points": [point],
            "angle": rng.uniform(0, 2 * math.pi),
            "thickness": max(1, round(rng.uniform(*STROKE_WIDTH) * short)),
        }
        for _ in range(int(rng.integers(1, 6))):
            _step(rng, walk, height, width)
        walks.append(walk)
        _draw(canvas, walk)
    # Each extra segment adds ink unless it retraces itself; the bound only guards a 1 px image.
    for _ in range(200):
        if canvas.mean() >= MIN_STROKE_COVERAGE:
            break
        walk = walks[int(rng.integers(0, len(walks)))]
        _step(rng, walk, height, width)
        _draw(canvas, walk)
    return canvas.astype(bool)


def _step(rng: np.random.Generator, walk: dict, height: int, width: int) -> None:
    walk["angle"] += rng.uniform(-1.2, 1.2)
    length = rng.uniform(*STROKE_STEP) * min(height, width)
    x, y = walk["points"][-1]
    dx, dy = math.cos(walk["angle"]) * length, math.sin(walk["angle"]) * length
    if not 0 <= x + dx <= width - 1:
        dx, walk["angle"] = -dx, math.pi - walk["angle"]
    if not 0 <= y + dy <= height - 1:
        dy, walk["angle"] = -dy, -walk["angle"]
    walk["points"].append(np.clip([x + dx, y + dy], 0, [width - 1, height - 1]))


def _draw(canvas: np.ndarray, walk: dict) -> None:
    points = np.round(np.array(walk["points"])).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [points], isClosed=False, color=1, thickness=walk["thickness"])


class Segmenter(Protocol):
    """What `wall_mask` needs of saekdam_worker.pipelines.wall_mask.WallSegmenter."""

    def set_image(self, rgb: np.ndarray) -> None: ...

    def auto(self, **options: Any) -> np.ndarray: ...


def wall_mask(
    segmenter: Segmenter | None, image: np.ndarray, **auto_options: Any
) -> np.ndarray | None:
    """The wall SAM finds in the image without prompts (`WallSegmenter.auto`, given
    `auto_options`), or None when there is no SAM or it finds no wall: the caller then
    draws another kind of mask instead of failing the run."""
    if segmenter is None:
        return None
    segmenter.set_image(image)
    try:
        wall = np.asarray(segmenter.auto(**auto_options), dtype=bool)
    except NoWallFound:
        return None
    return wall if wall.any() else None


class TrainingMasks:
    """The mask for each training sample, drawn by the mix's ratios.

    `for_sample(index, image, epoch)` is deterministic in (seed, index, epoch). A "wall" draw
    without SAM, or on an image where SAM finds no wall, becomes a rectangle (kind "rect").
    SAM's walls are cached by a hash of the image's bytes (at most `wall_cache_size` images),
    so a crop seen again costs no second SAM run.

    `fixed=True` gives each index one mask for the whole run, whatever the epoch: the first
    one drawn for it is kept. The trainer uses this to cache latents of masked images.
    """

    def __init__(
        self,
        mix: MaskMix,
        segmenter: Segmenter | None = None,
        seed: int = 0,
        *,
        fixed: bool = False,
        sam_options: Mapping[str, Any] | None = None,
        wall_cache_size: int = 1024,
    ):
        self.mix = mix
        self.segmenter = segmenter
        self.seed = seed
        self.fixed = fixed
        self.sam_options = dict(sam_options or {})
        self.wall_cache_size = wall_cache_size
        self._walls: OrderedDict[str, np.ndarray | None] = OrderedDict()
        self._fixed: dict[int, tuple[np.ndarray, str]] = {}
        if mix.wall > 0 and segmenter is None:
            log.warning(
                "%.0f%% of the masks should be walls but no SAM was given: "
                "those are drawn as rectangles",
                100 * mix.wall,
            )

    def for_sample(self, index: int, image: np.ndarray, epoch: int = 0) -> tuple[np.ndarray, str]:
        """(alpha float32 (H, W), kind): the chosen mask through the worker's `wall_alpha`."""
        mask, kind = self.mask_for(index, image, epoch)
        return wall_alpha(mask), kind

    def mask_for(self, index: int, image: np.ndarray, epoch: int = 0) -> tuple[np.ndarray, str]:
        """(bool mask (H, W), kind) before clean-up and feathering."""
        if self.fixed and index in self._fixed:
            return self._fixed[index]
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        rng = np.random.default_rng([self.seed, index, 0 if self.fixed else epoch])
        kind = KINDS[int(rng.choice(len(KINDS), p=self.mix.probabilities))]
        mask = None
        if kind == "wall":
            mask = self._wall(image)
            if mask is None:
                kind = "rect"
        if kind == "rect":
            mask = rect_mask(rng, height, width)
        elif kind == "stroke":
            mask = stroke_mask(rng, height, width)
        if self.fixed:
            self._fixed[index] = (mask, kind)
        return mask, kind

    def _wall(self, image: np.ndarray) -> np.ndarray | None:
        if self.segmenter is None:
            return None
        key = hashlib.blake2b(
            repr(image.shape).encode() + np.ascontiguousarray(image).tobytes(), digest_size=16
        ).hexdigest()
        if key in self._walls:
            self._walls.move_to_end(key)
            return self._walls[key]
        wall = wall_mask(self.segmenter, image, **self.sam_options)
        if wall is not None and wall.shape != image.shape[:2]:
            raise ValueError(f"the segmenter gave a {wall.shape} wall for a {image.shape} image")
        if wall is not None and not _survives_clean_up(wall):
            wall = None
        self._walls[key] = wall
        while len(self._walls) > self.wall_cache_size:
            self._walls.popitem(last=False)
        return wall


def _survives_clean_up(wall: np.ndarray) -> bool:
    """A wall made only of specks is cleaned away by `wall_alpha`: better a rectangle."""
    try:
        wall_alpha(wall)
    except NoWallFound:
        return False
    return True
