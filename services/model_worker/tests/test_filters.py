import numpy as np
import pytest
from skimage import data

from saekdam_contracts.jobs import FILTER_NAMES
from saekdam_worker.pipelines.filters import FILTERS, apply_filter


@pytest.fixture(scope="module")
def coffee_bgr() -> np.ndarray:
    # Non-square, so a swapped width/height would show.
    return np.ascontiguousarray(data.coffee()[:, :, ::-1])


def test_filter_names_match_the_contract():
    assert FILTERS == FILTER_NAMES


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_keeps_size_and_returns_uint8_bgr(name, coffee_bgr):
    out = apply_filter(name, coffee_bgr)
    assert out.shape == coffee_bgr.shape
    assert out.dtype == np.uint8


def test_original_returns_an_equal_copy(coffee_bgr):
    out = apply_filter("original", coffee_bgr)
    assert np.array_equal(out, coffee_bgr)
    assert out is not coffee_bgr


@pytest.mark.parametrize("name", [n for n in FILTERS if n != "original"])
def test_every_other_filter_changes_the_photo(name, coffee_bgr):
    out = apply_filter(name, coffee_bgr)
    mean_difference = np.abs(out.astype(np.int16) - coffee_bgr.astype(np.int16)).mean()
    assert mean_difference > 2


def test_emboss_of_a_flat_image_is_flat_mid_grey():
    flat = np.full((64, 48, 3), 77, dtype=np.uint8)
    assert np.all(apply_filter("emboss", flat) == 128)


def test_pencil_gray_has_three_equal_channels(coffee_bgr):
    out = apply_filter("pencil_gray", coffee_bgr)
    assert np.array_equal(out[:, :, 0], out[:, :, 1])
    assert np.array_equal(out[:, :, 1], out[:, :, 2])


def test_unknown_filter_names_the_valid_ones(coffee_bgr):
    with pytest.raises(ValueError, match="oil_painting"):
        apply_filter("sepia", coffee_bgr)


def test_grayscale_input_is_refused():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        apply_filter("cartoon", np.zeros((32, 32), dtype=np.uint8))
