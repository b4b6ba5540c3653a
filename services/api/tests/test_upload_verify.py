import io
import time

import pytest
from PIL import Image
from skimage import data as sample_images

from saekdam_api.uploads.verify import UploadRejected, VerifiedImage, verify_image
from saekdam_web.errors import Unprocessable, UnsupportedMedia

LIMITS = {"max_pixels": 64_000_000, "min_side": 16, "max_side": 8192}


def _encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    # A real photo (512x512 RGB) shipped with scikit-image.
    return Image.fromarray(sample_images.astronaut())


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    # 20000x20000 = 400 million pixels; as a 1-bit blank PNG it is ~50 KB.
    return _encode(Image.new("1", (20_000, 20_000)), "PNG")


def _rejected(data: bytes, declared: str, **limits) -> UploadRejected:
    with pytest.raises(UploadRejected) as refused:
        verify_image(data, declared_content_type=declared, **(LIMITS | limits))
    return refused.value


@pytest.mark.parametrize(
    ("format", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
def test_valid_images_pass_with_their_size(astronaut, format: str, content_type: str):
    photo = astronaut.resize((320, 200))
    verified = verify_image(_encode(photo, format), declared_content_type=content_type, **LIMITS)
    assert verified == VerifiedImage(format, content_type, 320, 200)


def test_declared_type_parameters_and_jpg_alias_are_accepted(astronaut):
    jpeg = _encode(astronaut, "JPEG")
    assert verify_image(jpeg, declared_content_type="image/jpg", **LIMITS).width == 512
    png = _encode(astronaut, "PNG")
    assert verify_image(png, declared_content_type="Image/PNG; x=1", **LIMITS).format == "PNG"


def test_html_labelled_png_is_unsupported():
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    refused = _rejected(html, "image/png")
    assert refused.code == "upload_type_unsupported"
    assert refused.status_code == 415
    assert isinstance(refused, UnsupportedMedia)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\x00" * 64, b"BM" + b"\x00" * 64])
def test_other_formats_and_empty_files_are_unsupported(data: bytes):
    refused = _rejected(data, "image/png")
    assert (refused.code, refused.status_code) == ("upload_type_unsupported", 415)


def test_png_labelled_jpeg_is_a_mismatch(astronaut):
    refused = _rejected(_encode(astronaut, "PNG"), "image/jpeg")
    assert (refused.code, refused.status_code) == ("upload_type_mismatch", 422)
    assert isinstance(refused, Unprocessable)
    assert "image/jpeg" in refused.message and "image/png" in refused.message


def test_truncated_png_is_undecodable(astronaut):
    whole = _encode(astronaut, "PNG")
    refused = _rejected(whole[: len(whole) // 2], "image/png")
    assert (refused.code, refused.status_code) == ("upload_undecodable", 422)


def test_truncated_jpeg_is_undecodable(astronaut):
    whole = _encode(astronaut, "JPEG")
    refused = _rejected(whole[: len(whole) // 2], "image/jpeg")
    assert refused.code == "upload_undecodable"


def test_png_with_a_cut_header_is_undecodable():
    refused = _rejected(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")
    assert refused.code == "upload_undecodable"


def test_huge_png_is_refused_before_decoding(huge_png: bytes):
    assert len(huge_png) < 200_000
    started = time.perf_counter()
    refused = _rejected(huge_png, "image/png")
    assert time.perf_counter() - started < 0.5  # decoding 400 Mpx would take seconds and GBs
    assert (refused.code, refused.status_code) == ("upload_too_many_pixels", 422)


def test_pixel_limit_is_checked_from_the_header(astronaut):
    # Under Pillow's own bomb guard, so this exercises our check and its message.
    refused = _rejected(_encode(astronaut, "PNG"), "image/png", max_pixels=100_000)
    assert refused.code == "upload_too_many_pixels"
    assert "512x512" in refused.message and "100,000" in refused.message


def test_too_small_image(astronaut):
    refused = _rejected(_encode(astronaut.resize((40, 8)), "PNG"), "image/png")
    assert refused.code == "upload_too_small"
    assert "40x8" in refused.message and "16" in refused.message


def test_too_large_dimensions(astronaut):
    refused = _rejected(_encode(astronaut, "WEBP"), "image/webp", max_side=500)
    assert refused.code == "upload_too_large_dimensions"
    assert "512x512" in refused.message and "500" in refused.message
