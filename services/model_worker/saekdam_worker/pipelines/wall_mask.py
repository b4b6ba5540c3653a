"""Wall masks for murals: which pixels of a photo a mural may paint.

Three ways to find the wall with Segment Anything (SAM), all sharing ONE image embedding per
photo (the expensive part, seconds per image for vit_b on a CPU):

- box: SAM's mask for a box prompt, kept inside that box;
- points: SAM's mask for wall (label 1) / not-wall (label 0) clicks;
- auto: SAM's automatic masks, each scored for "wall-ness" (`score_wall_candidate`), the best
  one merged with its adjacent look-alikes (`choose_wall`); no convincing candidate raises
  `NoWallFound` instead of painting the whole photo.

Then `clean_mask` (specks, small holes, ragged edges) and `feather` (a soft edge for blending
that is exactly 0 a few pixels outside the mask). Pure model and image code: numpy, OpenCV,
torch and segment_anything only. Loading SAM lives in `saekdam_worker.models.loading`.

Images are RGB uint8 (H, W, 3); masks are bool (H, W) at the photo's full size.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

# SAM encodes every image at 1024 px on the long side, so computing masks and scores on a
# larger copy adds memory and time but no detail; masks are scaled back to the photo's size.
WORK_SIDE = 1024


class NoWallFound(Exception):
    """Nothing in the photo convincingly looks like a wall (or the prompt selected nothing)."""

    code = "no_wall_found"

    def __init__(self, reason: str):
        super().__init__(f"no wall found: {reason}")
        self.reason = reason


# -- coordinates -------------------------------------------------------------------------


class NormalisedBox(Protocol):
    """Duck type of saekdam_contracts.jobs.Box: 0..1 from the photo's top left."""

    x: float
    y: float
    w: float
    h: float


class NormalisedPoint(Protocol):
    """Duck type of saekdam_contracts.jobs.Point; label 1 = wall, 0 = not wall."""

    x: float
    y: float
    label: int


def normalised_box_to_pixels(box: NormalisedBox, width: int, height: int) -> np.ndarray:
    """The box as float32 [x0, y0, x1, y1] in pixels (SAM's XYXY), clamped to the photo."""
    x0, x1 = np.clip([box.x * width, (box.x + box.w) * width], 0, width)
    y0, y1 = np.clip([box.y * height, (box.y + box.h) * height], 0, height)
    return np.array([x0, y0, x1, y1], dtype=np.float32)


def normalised_points_to_pixels(
    points: Sequence[NormalisedPoint], width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """(coords float32 (N, 2) as x, y in pixels clamped onto the photo, labels int32 (N,))."""
    coords = np.array([[p.x * width, p.y * height] for p in points], dtype=np.float32)
    coords = coords.reshape(-1, 2)
    # A point at x = 1.0 would sit one pixel past the last column.
    coords[:, 0] = np.clip(coords[:, 0], 0, width - 1)
    coords[:, 1] = np.clip(coords[:, 1], 0, height - 1)
    labels = np.array([p.label for p in points], dtype=np.int32)
    return coords, labels


# -- scoring SAM's automatic segments ------------------------------------------------------


@dataclass(frozen=True)
class WallRules:
    """Tuning of `score_wall_candidate` and `choose_wall` (see there for the formula)."""

    min_score: float = 0.3
    # Segments smaller than this are specks; larger than max are "the whole photo".
    min_area_fraction: float = 0.02
    max_area_fraction: float = 0.95
    # A segment this large (fraction of the photo) gets the full size score.
    full_size_fraction: float = 0.25
    # Rows within this fraction of the top (bottom) are where sky (floor) lives.
    edge_band: float = 0.2
    # Std of the Laplacian (grey levels) and RMS colour spread (CIE76 ΔE) at which flatness and
    # uniformity fall to 1/e. Calibrated on skimage photos: a brick wall ~30 / ~10, grass ~76 /
    # ~16, uniform noise ~100 / ~66, a painted wall with sensor noise ~4 / ~3.
    texture_scale: float = 50.0
    colour_scale: float = 20.0
    # Merging: mean colours within this ΔE of the best segment, and touching it (a gap of at
    # most adjacency_px pixels at the working size).
    merge_colour_distance: float = 15.0
    adjacency_px: int = 3


@dataclass(frozen=True)
class PhotoFeatures:
    """Per-photo images the scoring reads, computed once for all candidates."""

    texture: np.ndarray  # float32 Laplacian of the lightly blurred grey image
    lab: np.ndarray  # float32 CIE Lab (L 0..100), so colour distances are ΔE

    @classmethod
    def of(cls, rgb: np.ndarray) -> "PhotoFeatures":
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        # The blur keeps sensor and JPEG noise from counting as texture.
        grey = cv2.GaussianBlur(grey, (3, 3), 0)
        texture = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
        lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        return cls(texture=texture, lab=lab)


@dataclass(frozen=True)
class WallScore:
    area_fraction: float
    size: float
    flatness: float
    uniformity: float
    position: float
    mean_lab: tuple[float, float, float]

    @property
    def appearance(self) -> float:
        return (self.flatness + self.uniformity) / 2

    @property
    def wall_likeness(self) -> float:
        """The score without the size term: how wall-like the segment is, however small."""
        return self.position * self.appearance

    @property
    def total(self) -> float:
        return self.size * self.wall_likeness


def score_wall_candidate(
    mask: np.ndarray, photo: PhotoFeatures, rules: WallRules = WallRules()
) -> WallScore:
    """How much a segment looks like a paintable wall, each component in [0, 1].

        total      = size · position · (flatness + uniformity) / 2
        size       = min(1, area_fraction / full_size_fraction) ** 0.5
        flatness   = exp(−std(Laplacian of grey inside the segment) / texture_scale)
        uniformity = exp(−RMS ΔE of the segment's pixels from its mean Lab colour / colour_scale)
        position   = (1 − sky) · (1 − floor) · centrality
        sky        = [touches the top edge] · clip((top_share − edge_band) / (1 − edge_band))
        floor      = [touches the bottom edge] · clip((bottom_share − edge_band) / (1 − edge_band))
        centrality = 1 − 0.5 · min(1, distance(centroid, photo centre) / 0.5)

    top_share (bottom_share) is the share of the segment's pixels in the top (bottom)
    edge_band of rows, in normalised coordinates. A segment spread evenly over the full
    height has share ≈ edge_band, so no penalty; a band hugging the top edge is sky (score 0)
    and one hugging the bottom is floor or ground. Sky is flat and uniform too: only position
    tells them apart, hence the product. Texture is read inside the segment shrunk by two
    pixels, so the contrast at its own border does not count as texture (unless shrinking
    leaves less than half of it: then the whole segment, ragged border included).
    """
    mask = mask.astype(bool)
    height, width = mask.shape
    area = int(mask.sum())
    if area == 0:
        return WallScore(0.0, 0.0, 0.0, 0.0, 0.0, (0.0, 0.0, 0.0))
    area_fraction = area / mask.size
    size = min(1.0, area_fraction / rules.full_size_fraction) ** 0.5

    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if inner.sum() < area / 2:
        # Thin or ragged: a few interior pixels would make any texture look flat.
        inner = mask
    flatness = math.exp(-float(photo.texture[inner].std()) / rules.texture_scale)

    colours = photo.lab[mask]
    mean_lab = colours.mean(axis=0)
    spread = float(np.sqrt(((colours - mean_lab) ** 2).sum(axis=1).mean()))
    uniformity = math.exp(-spread / rules.colour_scale)

    position = _position_score(mask, rules.edge_band)
    return WallScore(
        area_fraction=area_fraction,
        size=size,
        flatness=flatness,
        uniformity=uniformity,
        position=position,
        mean_lab=(float(mean_lab[0]), float(mean_lab[1]), float(mean_lab[2])),
    )


def _position_score(mask: np.ndarray, edge_band: float) -> float:
    height, width = mask.shape
    rows = mask.sum(axis=1)
    area = rows.sum()
    band_rows = max(1, round(edge_band * height))
    top_share = rows[:band_rows].sum() / area
    bottom_share = rows[-band_rows:].sum() / area

    def excess(share: float) -> float:
        return float(np.clip((share - edge_band) / (1 - edge_band), 0, 1))

    sky = excess(top_share) if mask[0].any() else 0.0
    floor = excess(bottom_share) if mask[-1].any() else 0.0

    ys, xs = np.nonzero(mask)
    centre_distance = math.hypot(xs.mean() / width - 0.5, ys.mean() / height - 0.5)
    centrality = 1 - 0.5 * min(1.0, centre_distance / 0.5)
    return (1 - sky) * (1 - floor) * centrality


def _colour_distance(a: WallScore, b: WallScore) -> float:
    return math.dist(a.mean_lab, b.mean_lab)


def _touches(region: np.ndarray, other: np.ndarray, gap_px: int) -> bool:
    """Adjacent: `other` overlaps `region` grown by gap_px pixels."""
    size = 2 * gap_px + 1
    grown = cv2.dilate(region.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    return bool((grown & other).any())


def choose_wall(
    candidates: Sequence[np.ndarray], rgb: np.ndarray, rules: WallRules = WallRules()
) -> np.ndarray:
    """The wall among candidate segments (bool masks the size of `rgb`), or NoWallFound.

    The best-scoring candidate that is neither a speck nor the whole photo and reaches
    `min_score` seeds the wall; then, until nothing changes, every other candidate that is
    wall-like (`wall_likeness` >= min_score, so a small piece of wall is not held back by its
    size), not a speck, within `merge_colour_distance` ΔE of the seed's mean colour and
    touching the wall grown so far is merged in: SAM often splits one wall at pipes, shadows
    or signs.
    """
    if not candidates:
        raise NoWallFound("the segmenter proposed no regions at all")
    photo = PhotoFeatures.of(rgb)
    scored = [(mask.astype(bool), score_wall_candidate(mask, photo, rules)) for mask in candidates]
    sized = [
        (mask, score)
        for mask, score in scored
        if rules.min_area_fraction <= score.area_fraction <= rules.max_area_fraction
    ]
    if not sized:
        raise NoWallFound(
            f"all {len(scored)} regions are specks (< {rules.min_area_fraction:.0%} of the "
            f"photo) or the whole photo (> {rules.max_area_fraction:.0%})"
        )
    seed_mask, seed = max(sized, key=lambda item: item[1].total)
    if seed.total < rules.min_score:
        raise NoWallFound(
            f"the most wall-like of {len(sized)} regions scores {seed.total:.2f}, "
            f"below the {rules.min_score:.2f} a wall needs (size {seed.size:.2f}, "
            f"flatness {seed.flatness:.2f}, uniformity {seed.uniformity:.2f}, "
            f"position {seed.position:.2f})"
        )
    mergeable = [
        mask
        for mask, score in sized
        if mask is not seed_mask
        and score.wall_likeness >= rules.min_score
        and _colour_distance(score, seed) <= rules.merge_colour_distance
    ]
    return _grow_by_adjacency(seed_mask.copy(), mergeable, rules.adjacency_px)


def _grow_by_adjacency(wall: np.ndarray, pieces: list[np.ndarray], gap_px: int) -> np.ndarray:
    remaining = list(pieces)
    grew = True
    while grew and remaining:
        grew = False
        for piece in list(remaining):
            if _touches(wall, piece, gap_px):
                wall |= piece
                remaining.remove(piece)
                grew = True
    return wall


# -- SAM ---------------------------------------------------------------------------------


class _SharedEmbedding:
    """Lends SamAutomaticMaskGenerator the segmenter's predictor, embedding included.

    The generator calls set_image itself (re-encoding: seconds for real weights) and
    reset_image afterwards (which would drop the embedding the box and points modes use).
    With a single crop layer its only crop is the whole working image, already encoded.
    """

    def __init__(self, predictor):
        self._predictor = predictor

    def __getattr__(self, name):
        return getattr(self._predictor, name)

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        if tuple(image.shape[:2]) != tuple(self._predictor.original_size):
            raise ValueError("the automatic generator asked to encode a crop; use crop_n_layers=0")

    def reset_image(self) -> None:
        pass


class WallSegmenter:
    """Wall masks from a loaded SAM for one photo at a time (not thread-safe).

    `set_image` encodes the photo once; `from_box`, `from_points` and `auto` all reuse that
    embedding. Prompts are in the photo's pixels; masks come back at the photo's size.
    """

    def __init__(self, sam, work_side: int = WORK_SIDE):
        from segment_anything import SamPredictor

        self._sam = sam
        self._predictor = SamPredictor(sam)
        self._work_side = work_side
        self._photo_shape: tuple[int, int] | None = None
        self._work_rgb: np.ndarray | None = None
        self._scale = 1.0

    def set_image(self, rgb: np.ndarray) -> None:
        """Encode the photo (RGB uint8, H×W×3). The one expensive call per photo."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image, got {rgb.dtype} {rgb.shape}")
        height, width = rgb.shape[:2]
        self._scale = min(1.0, self._work_side / max(height, width))
        work = rgb
        if self._scale < 1.0:
            size = (max(1, round(width * self._scale)), max(1, round(height * self._scale)))
            work = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        self._photo_shape = (height, width)
        self._work_rgb = np.ascontiguousarray(work)
        self._predictor.set_image(self._work_rgb)

    def from_box(self, box_px: np.ndarray) -> np.ndarray:
        """The wall inside an [x0, y0, x1, y1] pixel box: SAM's best mask, cut to the box."""
        self._require_image()
        box = np.asarray(box_px, dtype=np.float32) * self._scale
        masks, scores, _ = self._predictor.predict(box=box, multimask_output=True)
        work_mask = masks[int(np.argmax(scores))] & _box_region(box, masks.shape[1:])
        if not work_mask.any():
            raise NoWallFound("the segmenter found nothing inside the box")
        return self._to_photo(work_mask)

    def from_points(self, points_px: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """SAM's best mask for (x, y) pixel clicks labelled 1 (wall) or 0 (not wall)."""
        self._require_image()
        coords = np.asarray(points_px, dtype=np.float32).reshape(-1, 2) * self._scale
        masks, scores, _ = self._predictor.predict(
            point_coords=coords,
            point_labels=np.asarray(labels, dtype=np.int32),
            multimask_output=True,
        )
        work_mask = masks[int(np.argmax(scores))]
        if not work_mask.any():
            raise NoWallFound("the segmenter found nothing at the wall points")
        return self._to_photo(work_mask)

    def auto(
        self,
        *,
        points_per_side: int = 32,
        pred_iou_thresh: float = 0.86,
        stability_score_thresh: float = 0.92,
        rules: WallRules = WallRules(),
    ) -> np.ndarray:
        """The wall found without prompts: SAM's automatic masks scored by `choose_wall`.

        The generator defaults suit real weights; random-weight test models need both
        thresholds at 0 to produce any mask at all.
        """
        from segment_anything import SamAutomaticMaskGenerator

        self._require_image()
        generator = SamAutomaticMaskGenerator(
            self._sam,
            points_per_side=points_per_side,
            pred_iou_thresh=pred_iou_thresh,
            stability_score_thresh=stability_score_thresh,
            crop_n_layers=0,
        )
        generator.predictor = _SharedEmbedding(self._predictor)
        segments = [record["segmentation"] for record in generator.generate(self._work_rgb)]
        return self._to_photo(choose_wall(segments, self._work_rgb, rules))

    def _require_image(self) -> None:
        if self._photo_shape is None:
            raise RuntimeError("call set_image(photo) first")

    def _to_photo(self, work_mask: np.ndarray) -> np.ndarray:
        height, width = self._photo_shape
        if work_mask.shape == (height, width):
            return work_mask.astype(bool)
        # Linear interpolation then a 0.5 cut gives smoother edges than nearest neighbour.
        scaled = cv2.resize(
            work_mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
        )
        return scaled >= 0.5


def _box_region(box: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre (i + 0.5) lies inside the box."""
    x0, y0, x1, y1 = (max(0, math.ceil(edge - 0.5)) for edge in box)
    region = np.zeros(shape, dtype=bool)
    region[y0:y1, x0:x1] = True
    return region


# -- clean-up and feathering -------------------------------------------------------------


def clean_mask(
    mask: np.ndarray,
    min_fraction: float = 0.002,
    max_hole_fraction: float = 0.005,
    smooth_px: int | None = None,
) -> np.ndarray:
    """Tidy a wall mask: smooth ragged edges, drop specks, fill small holes.

    - close then open with a disc of `smooth_px` radius (default ~0.4% of the short side):
      bridges hairline gaps, then removes spurs and one-pixel islands;
    - connected pieces smaller than `min_fraction` of the photo are removed;
    - holes smaller than `max_hole_fraction` are filled. Larger holes stay: they are windows,
      doors or signs that a mural must not paint over.
    """
    height, width = mask.shape
    if smooth_px is None:
        smooth_px = max(1, round(0.004 * min(height, width)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * smooth_px + 1, 2 * smooth_px + 1))
    cleaned = np.zeros((height, width), dtype=bool)
    # Only the box around the mask, with room for the closing to grow into, can change:
    # the same result at a fraction of a 12 MP photo's cost (see _box_with_margin).
    box = _box_with_margin(mask, 2 * smooth_px + 2)
    if box is None:
        return cleaned
    out = mask[box].astype(np.uint8)
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, disc)
    out = cv2.morphologyEx(out, cv2.MORPH_OPEN, disc)
    out = _drop_small_components(out.astype(bool), min_fraction * mask.size)
    holes = _drop_small_components(~out, max_hole_fraction * mask.size, keep_touching_edge=True)
    cleaned[box] = out | ~holes
    return cleaned


def _box_with_margin(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The box around the mask's pixels grown by `margin` (clipped to the photo), or None.

    Outside it the mask is empty and stays so; background touching the box's edge is joined
    to the background around it, which reaches the photo's edge, so "touching the edge"
    means the same in the box as in the photo."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (
        slice(max(0, rows[0] - margin), min(height, rows[-1] + 1 + margin)),
        slice(max(0, columns[0] - margin), min(width, columns[-1] + 1 + margin)),
    )


def _drop_small_components(
    mask: np.ndarray, min_area: float, keep_touching_edge: bool = False
) -> np.ndarray:
    # 8-connected foreground; background pieces (holes) use 4-connectivity, its dual, so a
    # diagonal chain of wall pixels is enough to enclose a hole.
    connectivity = 4 if keep_touching_edge else 8
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=connectivity
    )
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    if keep_touching_edge:
        # Background reaching the photo's edge is outside the wall, never a hole.
        edge_labels = np.unique(
            np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        )
        keep[edge_labels[edge_labels > 0]] = True
    return keep[labels]


def feather(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """A soft alpha (float32, 0..1) for blending a mural in along the mask's edge.

    Alpha follows a smoothstep of the signed distance to the mask's boundary: 0 at radius_px
    outside it, 0.5 on it, 1 at radius_px inside. So it is EXACTLY 0 beyond radius_px outside
    the mask (pixels there are provably unchanged by compositing), exactly 1 deeper than
    radius_px inside, and monotone in between. radius_px <= 0 gives the hard mask.
    """
    mask = mask.astype(bool)
    if radius_px <= 0 or mask.all() or not mask.any():
        return mask.astype(np.float32)
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # Distances count to the nearest pixel of the other side; the boundary lies half a
    # pixel between, so shift both by 0.5 to measure from it.
    signed = np.where(mask, inside - 0.5, -(outside - 0.5))
    t = np.clip((signed + radius_px) / (2 * radius_px), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


# Relative to the photo's short side: wide enough to hide the seam, narrow enough to keep
# the mural on the wall.
FEATHER_FRACTION = 0.01


def wall_alpha(wall: np.ndarray) -> np.ndarray:
    """The blend alpha a mural is painted through: the wall cleaned up (`clean_mask`) and
    feathered by FEATHER_FRACTION of the short side. What the worker paints with and what
    theme training masks with (services/model_worker/training). NoWallFound when cleaning
    leaves nothing."""
    cleaned = clean_mask(wall)
    if not cleaned.any():
        raise NoWallFound("the wall vanished when its mask was cleaned up")
    return feather(cleaned, radius_px=max(2.0, FEATHER_FRACTION * min(wall.shape[:2])))


def mask_from_upload(mask_image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The client's uploaded mask (grey or RGB, white = wall) at the photo's size."""
    if mask_image.ndim == 3:
        mask_image = cv2.cvtColor(np.ascontiguousarray(mask_image[..., :3]), cv2.COLOR_RGB2GRAY)
    grey = mask_image
    if grey.shape != (height, width):
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = grey >= 128
    if not mask.any():
        raise NoWallFound("the uploaded mask marks no pixel as wall")
    return mask
