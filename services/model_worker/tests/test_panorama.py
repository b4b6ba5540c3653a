import cv2
import numpy as np
import pytest
from skimage import data

from saekdam_worker.pipelines.codec import decode_image, encode_jpeg, encode_png
from saekdam_worker.pipelines.panorama import StitchError, crop_to_content, fit_within, stitch


@pytest.fixture(scope="module")
def astronaut_halves() -> list[np.ndarray]:
    astronaut = np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # 512x512, RGB -> BGR
    return [astronaut[:, :320].copy(), astronaut[:, 192:].copy()]


@pytest.mark.parametrize("mode", ["panorama", "scans"])
def test_overlapping_halves_stitch_into_one_wider_image(astronaut_halves, mode):
    panorama = stitch(astronaut_halves, mode)
    height, width = panorama.shape[:2]
    # The halves share 128 columns; the whole photo is 512 wide. Warping may shave or
    # stretch a little, but the result must be clearly wider than either half.
    assert 400 <= width <= 600
    assert 400 <= height <= 600
    assert panorama.dtype == np.uint8 and panorama.shape[2] == 3


def test_stitched_panorama_has_no_black_border_rows_or_columns(astronaut_halves):
    panorama = stitch(astronaut_halves, "panorama")
    content = cv2.cvtColor(panorama, cv2.COLOR_BGR2GRAY) > 0
    assert content[0].any() and content[-1].any()
    assert content[:, 0].any() and content[:, -1].any()


def test_unrelated_photos_raise_a_readable_stitch_error():
    astronaut = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    brick = cv2.cvtColor(data.brick(), cv2.COLOR_GRAY2BGR)
    with pytest.raises(StitchError) as raised:
        stitch([astronaut, brick], "panorama")
    assert raised.value.status_code == cv2.Stitcher_ERR_NEED_MORE_IMGS
    assert "overlap" in raised.value.message


def test_a_flat_image_and_noise_raise_a_stitch_error_in_scans_mode():
    flat = np.full((256, 256, 3), 90, dtype=np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    with pytest.raises(StitchError):
        stitch([flat, noise], "scans")


def test_fewer_than_two_images_is_a_value_error(astronaut_halves):
    with pytest.raises(ValueError, match="at least 2"):
        stitch(astronaut_halves[:1], "panorama")


def test_unknown_mode_is_a_value_error(astronaut_halves):
    with pytest.raises(ValueError, match="scans"):
        stitch(astronaut_halves, "spherical")


def test_fit_within_shrinks_only_images_over_the_limit():
    wide = np.zeros((300, 1200, 3), dtype=np.uint8)
    assert fit_within(wide, 600).shape == (150, 600, 3)
    assert fit_within(wide, 2000) is wide


def test_crop_to_content_removes_the_black_frame():
    framed = np.zeros((100, 120, 3), dtype=np.uint8)
    framed[10:60, 20:110] = 200
    assert crop_to_content(framed).shape == (50, 90, 3)


def test_png_round_trip_is_lossless_and_jpeg_keeps_the_size():
    image = np.random.default_rng(1).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    assert np.array_equal(decode_image(encode_png(image)), image)
    assert decode_image(encode_jpeg(image)).shape == image.shape


@pytest.mark.parametrize("garbage", [b"", b"not an image at all"])
def test_undecodable_bytes_are_a_value_error(garbage):
    with pytest.raises(ValueError):
        decode_image(garbage)
