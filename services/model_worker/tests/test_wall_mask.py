"""Wall masks: SAM prompts and automatic masks on a tiny random SAM loaded the production way,
the wall scoring on hand-made segments, and mask clean-up and feathering."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from saekdam_contracts.jobs import Box, Point
from saekdam_worker.models.loading import ModelUnavailable, load_sam
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.wall_mask import (
    NoWallFound,
    PhotoFeatures,
    WallRules,
    WallSegmenter,
    choose_wall,
    clean_mask,
    feather,
    mask_from_upload,
    normalised_box_to_pixels,
    normalised_points_to_pixels,
    score_wall_candidate,
)
from tests.fixtures.tiny_models.sam import save_tiny_sam

# The tiny model's weights are random: its masks are blobs, so the automatic path is run with
# SAM's quality thresholds off and asserted on shape and on the refusal to guess.
NO_QUALITY_FILTER = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


@pytest.fixture(scope="module")
def sam(tmp_path_factory):
    checkpoint = save_tiny_sam(tmp_path_factory.mktemp("sam"))
    return load_sam(ModelSettings(sam_checkpoint=str(checkpoint)), torch.device("cpu"))


@pytest.fixture(scope="module")
def brick_rgb() -> np.ndarray:
    return np.ascontiguousarray(np.stack([data.brick()] * 3, axis=-1))


@pytest.fixture(scope="module")
def wide_brick_rgb(brick_rgb) -> np.ndarray:
    # Non-square and larger than SAM's 1024 input, so masks are scaled back up: a swapped
    # width and height or a lost scale factor would show.
    return np.ascontiguousarray(np.tile(brick_rgb, (2, 3, 1))[:900, :1300])


def wall_photo(height: int = 240, width: int = 360, seed: int = 0) -> np.ndarray:
    """Sky band on top, a beige painted wall, a dark floor band, a brown door in the wall."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.float32)
    image[:] = (205, 185, 160)
    image[: height // 5] = (120, 170, 230)
    image[height - height // 6 :] = (90, 80, 70)
    image[height // 2 : height - height // 6, width // 8 : width // 4] = (110, 60, 30)
    image += rng.normal(0, 2, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def regions(height: int = 240, width: int = 360) -> dict[str, np.ndarray]:
    """Hand-made segments of `wall_photo`, as SAM might propose them."""

    def region(rows: slice, cols: slice) -> np.ndarray:
        mask = np.zeros((height, width), bool)
        mask[rows, cols] = True
        return mask

    wall_rows = slice(height // 5, height - height // 6)
    wall_left = region(wall_rows, slice(0, width // 2))
    door = region(slice(height // 2, height - height // 6), slice(width // 8, width // 4))
    return {
        "sky": region(slice(0, height // 5), slice(None)),
        "floor": region(slice(height - height // 6, None), slice(None)),
        "wall_left": wall_left & ~door,
        "wall_right": region(wall_rows, slice(width // 2, None)),
        "door": door,
        "speck": region(slice(100, 104), slice(300, 304)),
        "everything": region(slice(None), slice(None)),
    }


# -- coordinates -------------------------------------------------------------------------


def test_normalised_box_becomes_a_clamped_pixel_box():
    box = normalised_box_to_pixels(Box(x=0.5, y=0.25, w=0.5, h=0.5), width=400, height=200)
    assert box.tolist() == [200, 50, 400, 150]


def test_normalised_points_become_pixels_on_the_photo_with_their_labels():
    points = [Point(x=0.25, y=0.5, label=1), Point(x=1.0, y=1.0, label=0)]
    coords, labels = normalised_points_to_pixels(points, width=400, height=200)
    assert coords.tolist() == [[100, 100], [399, 199]]
    assert labels.tolist() == [1, 0]


# -- SAM through the production loader -----------------------------------------------------


def test_missing_checkpoint_is_model_unavailable(tmp_path):
    settings = ModelSettings(sam_checkpoint=str(tmp_path / "absent.pth"))
    with pytest.raises(ModelUnavailable) as caught:
        load_sam(settings, torch.device("cpu"))
    assert caught.value.code == "model_unavailable"
    assert "download" in caught.value.message


def test_prompts_need_an_image_first(sam):
    with pytest.raises(RuntimeError, match="set_image"):
        WallSegmenter(sam).from_box(np.array([0, 0, 10, 10]))


def test_box_gives_a_photo_sized_mask_inside_the_box(sam, brick_rgb):
    segmenter = WallSegmenter(sam)
    segmenter.set_image(brick_rgb)
    height, width = brick_rgb.shape[:2]
    box = normalised_box_to_pixels(Box(x=0.125, y=0.25, w=0.5, h=0.5), width, height)
    mask = segmenter.from_box(box)
    assert mask.dtype == bool and mask.shape == (height, width)
    assert mask.any()
    x0, y0, x1, y1 = box.astype(int)  # whole pixels here: 64, 128, 320, 384
    outside = np.ones_like(mask)
    outside[y0:y1, x0:x1] = False
    assert not mask[outside].any()


def test_masks_of_a_large_non_square_photo_come_back_at_its_size(sam, wide_brick_rgb):
    segmenter = WallSegmenter(sam)
    segmenter.set_image(wide_brick_rgb)
    height, width = wide_brick_rgb.shape[:2]
    box = normalised_box_to_pixels(Box(x=0.5, y=0.0, w=0.5, h=0.5), width, height)
    mask = segmenter.from_box(box)
    assert mask.shape == (900, 1300)
    assert mask.any()
    assert not mask[:, :649].any() and not mask[451:].any()
    points = normalised_points_to_pixels([Point(x=0.8, y=0.7, label=1)], width, height)
    assert segmenter.from_points(*points).shape == (900, 1300)


def test_points_give_a_photo_sized_mask(sam, brick_rgb):
    segmenter = WallSegmenter(sam)
    segmenter.set_image(brick_rgb)
    points = [Point(x=0.3, y=0.3, label=1), Point(x=0.8, y=0.8, label=0)]
    mask = segmenter.from_points(*normalised_points_to_pixels(points, 512, 512))
    assert mask.dtype == bool and mask.shape == brick_rgb.shape[:2]
    assert mask.any()


def test_the_image_is_encoded_once_for_all_modes(sam):
    photo = wall_photo()
    calls = []
    hook = sam.image_encoder.register_forward_hook(lambda *_: calls.append(1))
    try:
        segmenter = WallSegmenter(sam)
        segmenter.set_image(photo)
        segmenter.from_box(np.array([10, 10, 200, 200]))
        segmenter.from_points(np.array([[100, 100]]), np.array([1]))
        segmenter.auto(points_per_side=1, **NO_QUALITY_FILTER, rules=WallRules(min_score=0))
        # The box and points modes still work after auto: it did not drop the embedding.
        segmenter.from_box(np.array([10, 10, 200, 200]))
    finally:
        hook.remove()
    assert len(calls) == 1


def test_auto_returns_a_photo_sized_wall_mask(sam):
    photo = wall_photo()
    segmenter = WallSegmenter(sam)
    segmenter.set_image(photo)
    mask = segmenter.auto(points_per_side=2, **NO_QUALITY_FILTER)
    assert mask.dtype == bool and mask.shape == photo.shape[:2]
    assert 0 < mask.mean() < 1


def test_auto_refuses_when_nothing_scores_as_a_wall(sam):
    segmenter = WallSegmenter(sam)
    segmenter.set_image(wall_photo())
    with pytest.raises(NoWallFound, match="no wall found: .*below") as caught:
        segmenter.auto(points_per_side=2, **NO_QUALITY_FILTER, rules=WallRules(min_score=1.01))
    assert caught.value.code == "no_wall_found"


def test_auto_refuses_pure_noise(sam):
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    segmenter = WallSegmenter(sam)
    segmenter.set_image(noise)
    with pytest.raises(NoWallFound):
        segmenter.auto(points_per_side=2, **NO_QUALITY_FILTER)


# -- scoring and merging, without SAM -----------------------------------------------------


def test_sky_and_floor_score_low_position_and_the_wall_high():
    photo = PhotoFeatures.of(wall_photo())
    parts = regions()
    sky, floor, wall = (
        score_wall_candidate(parts[name], photo) for name in ("sky", "floor", "wall_right")
    )
    assert sky.position == 0 and floor.position == 0
    assert wall.position > 0.7
    # Sky is as flat as the wall: only its position gives it away.
    assert sky.flatness > 0.8 and wall.flatness > 0.8
    assert wall.total > max(sky.total, floor.total) + 0.3


def test_texture_and_colour_noise_lower_flatness_and_uniformity():
    flat = wall_photo()
    noisy = np.random.default_rng(2).integers(0, 256, flat.shape, dtype=np.uint8)
    middle = regions()["wall_right"]
    smooth = score_wall_candidate(middle, PhotoFeatures.of(flat))
    rough = score_wall_candidate(middle, PhotoFeatures.of(noisy))
    assert rough.flatness < smooth.flatness / 4
    assert rough.uniformity < smooth.uniformity / 4
    assert rough.total < WallRules().min_score < smooth.total


def test_size_grows_with_area_up_to_the_full_size_fraction():
    photo = PhotoFeatures.of(wall_photo())
    small, large = np.zeros((2, 240, 360), bool)
    small[100:124, 150:186] = True  # 1% of the photo
    large[60:180, 60:300] = True  # 33%
    assert score_wall_candidate(small, photo).size == pytest.approx(0.2, abs=0.01)
    assert score_wall_candidate(large, photo).size == 1.0


def test_choose_wall_merges_adjacent_look_alikes_and_leaves_the_rest():
    parts = regions()
    wall = choose_wall(list(parts.values()), wall_photo())
    assert np.array_equal(wall, parts["wall_left"] | parts["wall_right"])


def test_choose_wall_does_not_merge_a_distant_look_alike():
    parts = regions()
    far_piece = np.zeros_like(parts["sky"])
    far_piece[120:150, 0:20] = True  # wall-coloured, but separated from the wall_right piece
    wall = choose_wall([parts["wall_right"], far_piece, parts["sky"]], wall_photo())
    assert np.array_equal(wall, parts["wall_right"])


def test_choose_wall_never_returns_the_whole_photo_or_a_speck():
    parts = regions()
    with pytest.raises(NoWallFound, match="specks .* or the whole photo"):
        choose_wall([parts["everything"], parts["speck"]], wall_photo())


def test_choose_wall_refuses_sky_and_floor_alone():
    parts = regions()
    with pytest.raises(NoWallFound, match="below"):
        choose_wall([parts["sky"], parts["floor"]], wall_photo())


def test_choose_wall_with_no_candidates():
    with pytest.raises(NoWallFound, match="no regions"):
        choose_wall([], wall_photo())


# -- clean-up, feathering, uploaded masks --------------------------------------------------


def test_clean_mask_removes_specks_fills_small_holes_and_keeps_windows():
    mask = np.zeros((200, 200), bool)
    mask[20:180, 20:180] = True
    mask[50:56, 50:56] = False  # a small hole: 36 px, under 0.5% of the photo
    mask[100:120, 100:120] = False  # a window: 400 px, 1% of the photo
    mask[2:10, 188:196] = True  # a speck: 64 px, under 0.2% of the photo
    cleaned = clean_mask(mask)
    assert cleaned.dtype == bool
    assert cleaned[50:56, 50:56].all()
    assert not cleaned[102:118, 102:118].any()
    assert not cleaned[2:10, 188:196].any()
    assert cleaned[30:45, 30:170].all()


def test_feather_is_zero_far_outside_one_deep_inside_and_monotone():
    mask = np.zeros((120, 160), bool)
    mask[30:90, 40:120] = True
    radius = 6
    alpha = feather(mask, radius)
    assert alpha.dtype == np.float32 and alpha.shape == mask.shape
    assert alpha.min() == 0.0 and alpha.max() == 1.0

    def disc(r):
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    reach = cv2.dilate(mask.astype(np.uint8), disc(radius + 1)).astype(bool)
    assert (alpha[~reach] == 0).all()
    core = cv2.erode(mask.astype(np.uint8), disc(radius + 1)).astype(bool)
    assert (alpha[core] == 1).all()
    # Along a row crossing the left edge into the mask, alpha never decreases.
    row = alpha[60, :80]
    assert (np.diff(row) >= 0).all()
    assert 0 < row[39] < 1 and 0 < row[40] < 1


def test_feather_radius_zero_is_the_hard_mask():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    assert np.array_equal(feather(mask, 0), mask.astype(np.float32))


def test_uploaded_mask_is_resized_to_the_photo_and_thresholded():
    upload = np.zeros((50, 100, 3), np.uint8)
    upload[:, 50:] = 255
    mask = mask_from_upload(upload, height=100, width=200)
    assert mask.shape == (100, 200) and mask.dtype == bool
    assert mask[:, 110:].all() and not mask[:, :90].any()
    with pytest.raises(NoWallFound):
        mask_from_upload(np.zeros((50, 100), np.uint8), height=100, width=200)


def _clean_mask_on_the_whole_photo(mask, min_fraction=0.002, max_hole_fraction=0.005):
    """clean_mask as first written: every operation on the whole photo."""
    from saekdam_worker.pipelines.wall_mask import _drop_small_components

    smooth_px = max(1, round(0.004 * min(mask.shape)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * smooth_px + 1, 2 * smooth_px + 1))
    out = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, disc)
    out = cv2.morphologyEx(out, cv2.MORPH_OPEN, disc)
    out = _drop_small_components(out.astype(bool), min_fraction * mask.size)
    holes = _drop_small_components(~out, max_hole_fraction * mask.size, keep_touching_edge=True)
    return out | ~holes


def test_clean_mask_in_the_box_around_the_wall_equals_cleaning_the_whole_photo():
    rng = np.random.default_rng(0)
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(40, 300, 2))
        mask = np.zeros((height, width), bool)
        for _ in range(rng.integers(0, 6)):
            y0, x0 = rng.integers(0, height), rng.integers(0, width)
            mask[y0 : y0 + rng.integers(1, height), x0 : x0 + rng.integers(1, width)] = True
        mask ^= rng.random((height, width)) < rng.random() * 0.1  # specks and holes
        np.testing.assert_array_equal(clean_mask(mask), _clean_mask_on_the_whole_photo(mask))
