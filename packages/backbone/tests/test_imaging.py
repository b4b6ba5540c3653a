import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from saekdam_backbone import imaging
from saekdam_backbone.imaging import DISPLAY, THUMBNAIL, RenditionSpec


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Gradients, a checkerboard of edges and sensor-like noise: nothing a codec finds easy.
    (The noise is a 512 px tile repeated, which no codec can exploit and keeps 12 MP cheap.)"""
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    base = np.empty((height, width, 3), np.float32)
    base[..., 0] = 255 * x / width
    base[..., 1] = 255 * y / height
    base[..., 2] = 127 + 100 * np.sin(x / 37.0) * np.cos(y / 53.0)
    base[(x // 160 + y // 160) % 2 == 0] *= 0.7
    tile = np.random.default_rng(seed).normal(0, 12, (512, 512, 3)).astype(np.float32)
    reps = (-(-height // 512), -(-width // 512), 1)
    base += np.tile(tile, reps)[:height, :width]
    return np.clip(base, 0, 255).astype(np.uint8)


def encoded(image: Image.Image, format: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=format, **options)
    return out.getvalue()


def decode(rendition: imaging.Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    assert image.format == "WEBP" and rendition.content_type == "image/webp"
    assert image.size == (rendition.width, rendition.height)
    return image


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((4032, 3024), 2048, (2048, 1536)),
        ((3024, 4032), 512, (384, 512)),
        ((1000, 333), 512, (512, 170)),
        ((300, 200), 2048, (300, 200)),  # never enlarged
        ((2048, 10), 2048, (2048, 10)),
        ((20000, 3), 512, (512, 1)),  # never below one pixel
    ],
)
def test_fitted_size_keeps_the_aspect_ratio_and_never_enlarges(size, max_side, expected):
    assert imaging.fitted_size(*size, max_side) == expected


def test_fitted_size_names_the_bad_value():
    with pytest.raises(ValueError, match="at least 1 but are 0, 10, 512"):
        imaging.fitted_size(0, 10, 512)


def test_a_12_megapixel_photo_gets_a_display_copy_within_its_budget_and_a_thumbnail():
    photo = Image.fromarray(photo_like(4032, 3024))

    display, thumbnail = imaging.renditions(photo, [DISPLAY, THUMBNAIL])

    assert (display.width, display.height) == (2048, 1536)
    assert (thumbnail.width, thumbnail.height) == (512, 384)
    assert len(display.data) <= 1_500_000
    assert decode(display).mode == decode(thumbnail).mode == "RGB"
    # Downscaled, not cropped or shifted: the copy looks like the photo shrunk.
    shrunk = np.asarray(photo.resize((512, 384), Image.Resampling.BOX), np.float32)
    difference = np.abs(np.asarray(decode(thumbnail).convert("RGB"), np.float32) - shrunk)
    assert difference.mean() < 6


def test_a_small_image_is_never_enlarged():
    small = Image.fromarray(photo_like(300, 200))

    display, thumbnail = imaging.renditions(small, [DISPLAY, THUMBNAIL])

    assert (display.width, display.height) == (thumbnail.width, thumbnail.height) == (300, 200)
    decode(display), decode(thumbnail)


def test_renditions_come_back_in_the_order_asked_whatever_their_sizes():
    image = Image.fromarray(photo_like(1200, 900))

    small, large = imaging.renditions(image, [RenditionSpec(100), RenditionSpec(800)])

    assert (small.width, large.width) == (100, 800)


def test_the_same_image_gives_the_same_bytes():
    image = Image.fromarray(photo_like(1600, 1200, seed=3))

    first = imaging.renditions(image, [DISPLAY, THUMBNAIL])
    second = imaging.renditions(image.copy(), [DISPLAY, THUMBNAIL])

    assert [r.data for r in first] == [r.data for r in second]


def test_an_image_over_its_byte_budget_steps_its_quality_down_until_it_fits():
    image = Image.fromarray(photo_like(800, 600))
    unbounded = imaging.encode(image, RenditionSpec(800, quality=90))
    budget = len(unbounded.data) // 2

    bounded = imaging.encode(image, RenditionSpec(800, quality=90, max_bytes=budget))

    assert len(bounded.data) <= budget
    decode(bounded)


def test_an_impossible_budget_stops_at_the_lowest_quality_instead_of_looping():
    image = Image.fromarray(photo_like(400, 300))
    lowest = imaging.encode(image, RenditionSpec(400, quality=imaging.MIN_QUALITY))

    bounded = imaging.encode(image, RenditionSpec(400, quality=90, max_bytes=10))

    assert bounded.data == lowest.data


def test_a_sideways_camera_photo_is_turned_upright():
    landscape_pixels = Image.fromarray(photo_like(640, 480))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    data = encoded(landscape_pixels, "JPEG", exif=exif.tobytes())

    thumb = imaging.thumbnail(data, 512)

    assert (thumb.width, thumb.height) == (384, 512)
    assert not decode(thumb).getexif()


def test_transparency_is_kept_and_hidden_colour_does_not_bleed_into_edges():
    pixels = np.zeros((400, 800, 4), np.uint8)
    pixels[:, :400] = (255, 0, 0, 255)  # opaque red
    pixels[:, 400:] = (0, 255, 0, 0)  # transparent, with green hidden under it
    data = encoded(Image.fromarray(pixels, "RGBA"))

    thumb = decode(imaging.thumbnail(data, 200)).convert("RGBA")

    assert thumb.size == (200, 100)
    edge = np.asarray(thumb)[:, 95:100]  # the last opaque columns
    assert edge[..., 3].min() > 128
    assert edge[..., 1].max() < 40, "green from under the transparent half leaked in"


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped():
    grey = np.full((64, 64), 32768, np.uint16)  # half of full scale
    data = encoded(Image.fromarray(grey))

    thumb = decode(imaging.thumbnail(data, 32)).convert("L")

    assert abs(int(np.asarray(thumb).mean()) - 128) <= 3


def test_a_palette_image_becomes_rgb():
    data = encoded(Image.fromarray(photo_like(100, 80)).convert("P"))

    assert decode(imaging.thumbnail(data, 50)).mode == "RGB"


def test_an_embedded_profile_is_converted_to_untagged_srgb():
    lab = Image.new("LAB", (64, 64), (255, 128, 128))  # L = 100, a = b = 0: white
    lab.info["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()

    shown = imaging.for_screens(lab)

    assert shown.mode == "RGB" and "icc_profile" not in shown.info
    assert np.asarray(shown).min() > 240


def test_an_srgb_or_unreadable_profile_leaves_the_pixels_as_they_are():
    pixels = photo_like(64, 48)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not a profile"):
        image = Image.fromarray(pixels)
        image.info["icc_profile"] = profile

        assert np.array_equal(np.asarray(imaging.for_screens(image)), pixels)


def test_renditions_refuse_an_image_that_was_not_prepared():
    with pytest.raises(ValueError, match="RGB or RGBA .* but is L"):
        imaging.renditions(Image.new("L", (10, 10)), [THUMBNAIL])
