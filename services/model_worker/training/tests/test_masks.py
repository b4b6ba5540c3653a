"""Training masks: the mix and its parsing, rectangle and stroke shapes, SAM walls (a real tiny
SAM once; a stand-in segmenter where hundreds of draws are needed), the kinds drawn in the
ratios asked for, the worker's own clean-up and feather, determinism and fixed masks."""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from saekdam_training.masks import (
    KINDS,
    MaskMix,
    TrainingMasks,
    rect_mask,
    stroke_mask,
    wall_mask,
)
from saekdam_worker.models.loading import load_sam
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.wall_mask import NoWallFound, WallRules, WallSegmenter, wall_alpha
from tests.fixtures.tiny_models.sam import save_tiny_sam

SIZE = 64


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return cv2.resize(data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def painted_wall(height: int = SIZE, width: int = SIZE) -> np.ndarray:
    """A wall between a sky and a floor band, with a window in it."""
    wall = np.zeros((height, width), dtype=bool)
    wall[height // 5 : height - height // 6] = True
    wall[height // 3 : height // 2, width // 4 : width // 2] = False
    return wall


class FixedWall:
    """Stands in for WallSegmenter where a real SAM is too slow: always "finds" one wall."""

    def __init__(self, wall: np.ndarray | None):
        self.wall = wall
        self.images: list[np.ndarray] = []
        self.options: list[dict] = []

    def set_image(self, rgb: np.ndarray) -> None:
        self.images.append(rgb.copy())

    def auto(self, **options) -> np.ndarray:
        self.options.append(options)
        if self.wall is None:
            raise NoWallFound("the stand-in finds no wall")
        return self.wall.copy()


# -- the mix -------------------------------------------------------------------------------------


def test_the_mix_is_normalised_and_parsed_from_the_cli_form():
    mix = MaskMix.parse("0.5,0.3,0.2")
    assert mix.probabilities == pytest.approx((0.5, 0.3, 0.2))
    assert MaskMix.parse(" 5, 3 ,2 ") == mix
    assert MaskMix(1, 1, 0).probabilities == (0.5, 0.5, 0.0)
    assert sum(MaskMix(0.7, 0.7, 0.7).probabilities) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.5,0.5", "three weights"),
        ("0.5,0.3,0.2,0.1", "three weights"),
        ("wall,0.3,0.2", "must be numbers"),
        ("-0.5,1,1", ">= 0"),
        ("0,0,0", "all 0"),
        ("nan,1,1", "finite"),
        ("inf,1,1", "finite"),
    ],
)
def test_a_bad_mix_is_a_value_error_saying_why(text, message):
    with pytest.raises(ValueError, match=message):
        MaskMix.parse(text)


# -- shapes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("height", "width"), [(64, 64), (512, 512), (48, 160), (200, 40)])
def test_a_rectangle_mask_is_one_filled_rectangle_covering_15_to_70_percent(height, width):
    rng = np.random.default_rng(0)
    for _ in range(100):
        mask = rect_mask(rng, height, width)
        assert mask.shape == (height, width) and mask.dtype == bool
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        assert box.all() and box.sum() == mask.sum()
        assert 0.14 <= mask.mean() <= 0.71


@pytest.mark.parametrize(("height", "width"), [(64, 64), (512, 512), (96, 128)])
def test_stroke_masks_are_one_to_four_thick_strokes_covering_at_least_5_percent(height, width):
    rng = np.random.default_rng(0)
    short = min(height, width)
    for _ in range(100):
        mask = stroke_mask(rng, height, width)
        assert mask.shape == (height, width) and mask.dtype == bool
        assert 0.05 <= mask.mean() < 0.9
        pieces, _ = cv2.connectedComponents(mask.astype(np.uint8))
        assert 1 <= pieces - 1 <= 4  # strokes may cross, so fewer pieces than strokes
        # Thick: the widest point of the ink is at least ~4% of the short side across.
        inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
        assert 2 * inside.max() >= 0.04 * short - 1


# -- SAM walls -----------------------------------------------------------------------------------


def test_wall_mask_without_sam_or_without_a_wall_is_none(photo):
    assert wall_mask(None, photo) is None
    assert wall_mask(FixedWall(None), photo) is None
    assert wall_mask(FixedWall(np.zeros((SIZE, SIZE), bool)), photo) is None


def test_wall_mask_runs_sam_on_the_image_with_the_options_given(photo):
    segmenter = FixedWall(painted_wall())
    wall = wall_mask(segmenter, photo, points_per_side=4)
    assert np.array_equal(wall, painted_wall())
    assert np.array_equal(segmenter.images[0], photo)
    assert segmenter.options == [{"points_per_side": 4}]


def test_wall_mask_works_with_a_real_sam_loaded_the_production_way(tmp_path):
    checkpoint = save_tiny_sam(tmp_path / "sam")
    sam = load_sam(ModelSettings(sam_checkpoint=str(checkpoint)), torch.device("cpu"))
    segmenter = WallSegmenter(sam)
    brick = cv2.resize(np.stack([data.brick()] * 3, axis=-1), (96, 96))
    # Random weights: SAM's quality filters off. Any candidate may win, or none may qualify.
    options = {"points_per_side": 2, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
    wall = wall_mask(segmenter, brick, **options, rules=WallRules(min_score=0.0))
    assert wall.dtype == bool and wall.shape == (96, 96) and 0 < wall.mean() < 1
    assert wall_mask(segmenter, brick, **options, rules=WallRules(min_score=1.01)) is None

    masks = TrainingMasks(
        MaskMix(1, 0, 0), segmenter, sam_options={**options, "rules": WallRules(min_score=0.0)}
    )
    alpha, kind = masks.for_sample(0, brick)
    assert kind == "wall"
    assert np.array_equal(alpha, wall_alpha(wall))


# -- the mix of kinds ----------------------------------------------------------------------------


def test_wall_rectangle_and_stroke_masks_each_appear_in_the_ratios_asked_for(photo):
    masks = TrainingMasks(MaskMix.parse("0.5,0.3,0.2"), FixedWall(painted_wall()), seed=3)
    counts = dict.fromkeys(KINDS, 0)
    for epoch in range(3):
        for index in range(100):
            alpha, kind = masks.for_sample(index, photo, epoch)
            assert alpha.shape == (SIZE, SIZE) and alpha.dtype == np.float32
            assert 0 < alpha.mean() < 1
            counts[kind] += 1
    shares = {kind: count / 300 for kind, count in counts.items()}
    assert shares == pytest.approx({"wall": 0.5, "rect": 0.3, "stroke": 0.2}, abs=0.06)


def test_the_alpha_is_the_workers_clean_up_and_feather_of_the_chosen_mask(photo):
    wall = painted_wall()
    masks = TrainingMasks(MaskMix(1, 1, 1), FixedWall(wall), seed=0)
    seen = set()
    for index in range(30):
        mask, kind = masks.mask_for(index, photo)
        alpha, same_kind = masks.for_sample(index, photo)
        assert same_kind == kind
        assert np.array_equal(alpha, wall_alpha(mask))
        if kind == "wall":
            assert np.array_equal(mask, wall)
        seen.add(kind)
    assert seen == set(KINDS)


def test_a_wall_sam_cannot_find_falls_back_to_a_rectangle(photo):
    specks = np.zeros((SIZE, SIZE), bool)
    specks[::16, ::16] = True  # cleaned away entirely by wall_alpha
    for segmenter in [None, FixedWall(None), FixedWall(specks)]:
        masks = TrainingMasks(MaskMix(1, 0, 0), segmenter)
        for index in range(5):
            mask, kind = masks.mask_for(index, photo)
            assert kind == "rect"
            assert np.array_equal(mask, rect_mask_like(mask))


def rect_mask_like(mask: np.ndarray) -> np.ndarray:
    """The filled bounding box of the mask: equal to it exactly when it is one rectangle."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = np.zeros_like(mask)
    box[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1] = True
    return box


def test_sam_runs_once_per_distinct_image(photo):
    segmenter = FixedWall(painted_wall())
    masks = TrainingMasks(MaskMix(1, 0, 0), segmenter)
    for epoch in range(4):
        masks.for_sample(0, photo, epoch)
        masks.for_sample(1, photo, epoch)
    assert len(segmenter.images) == 1
    masks.for_sample(0, np.ascontiguousarray(photo[:, ::-1]), epoch=4)  # a flipped crop
    assert len(segmenter.images) == 2


# -- determinism and fixed masks -----------------------------------------------------------------


def draws(masks: TrainingMasks, photo: np.ndarray, epoch: int) -> list[tuple[np.ndarray, str]]:
    return [masks.mask_for(index, photo, epoch) for index in range(20)]


def same(a: list[tuple[np.ndarray, str]], b: list[tuple[np.ndarray, str]]) -> bool:
    return all(ka == kb and np.array_equal(ma, mb) for (ma, ka), (mb, kb) in zip(a, b, strict=True))


def test_masks_repeat_for_the_same_seed_index_and_epoch_and_change_between_epochs(photo):
    def fresh(seed: int) -> TrainingMasks:
        return TrainingMasks(MaskMix(1, 1, 1), FixedWall(painted_wall()), seed=seed)

    assert same(draws(fresh(0), photo, 0), draws(fresh(0), photo, 0))
    assert not same(draws(fresh(0), photo, 0), draws(fresh(0), photo, 1))
    assert not same(draws(fresh(0), photo, 0), draws(fresh(1), photo, 0))


def test_fixed_masks_give_each_image_one_mask_for_the_whole_run(photo):
    masks = TrainingMasks(MaskMix(1, 1, 1), FixedWall(painted_wall()), seed=0, fixed=True)
    first = draws(masks, photo, 0)
    for epoch in range(1, 5):
        assert same(draws(masks, photo, epoch), first)
    # And the same in a new run with the same seed.
    again = TrainingMasks(MaskMix(1, 1, 1), FixedWall(painted_wall()), seed=0, fixed=True)
    assert same(draws(again, photo, 3), first)
    assert len({kind for _, kind in first}) > 1


def test_the_image_must_be_rgb_uint8(photo):
    masks = TrainingMasks(MaskMix(0, 1, 0))
    with pytest.raises(ValueError, match="RGB uint8"):
        masks.for_sample(0, photo.astype(np.float32))
    with pytest.raises(ValueError, match="RGB uint8"):
        masks.for_sample(0, photo[..., 0])
