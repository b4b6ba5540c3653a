"""Frame decoding: only JPEG/WebP, bounded in bytes and pixels, checked before decoding."""

import io
import random
import struct

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from saekdam_posture import frames
from saekdam_posture.frames import (
    DEFAULT_MAX_BYTES,
    FrameRejected,
    decode_frame,
    probe_frame,
    sniff_format,
)


def encode(rgb: np.ndarray | Image.Image, fmt: str, **options) -> bytes:
    im = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buf = io.BytesIO()
    im.save(buf, fmt, **({"quality": 90} | options))
    return buf.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def grace_hopper() -> np.ndarray:
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def rejected(code: str, data, **limits) -> FrameRejected:
    with pytest.raises(FrameRejected) as info:
        decode_frame(data, **limits)
    assert info.value.code == code, info.value
    return info.value


# -- good frames ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_decodes_real_photos(fmt, photo, request):
    rgb = request.getfixturevalue(photo)
    data = encode(rgb, fmt)
    assert sniff_format(data) == fmt.lower()
    info = probe_frame(data)
    assert (info.width, info.height) == (rgb.shape[1], rgb.shape[0])

    out = decode_frame(data)
    assert out.dtype == np.uint8 and out.shape == rgb.shape  # <= 640: not resized
    assert out.flags.c_contiguous and out.flags.writeable
    assert np.abs(out.astype(int) - rgb.astype(int)).mean() < 6  # lossy, but the same picture


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_downscales_long_side_to_processing_size(fmt, astronaut):
    big = Image.fromarray(astronaut).resize((2000, 1500))  # 4:3, both formats
    data = encode(big, fmt)
    out = decode_frame(data)
    assert out.shape == (480, 640, 3)
    small = decode_frame(data, process_side=320)
    assert small.shape == (240, 320, 3)
    full = decode_frame(data, process_side=None)
    assert full.shape == (1500, 2000, 3)
    # The downscaled frame is the same picture (JPEG's DCT-domain scaling included).
    reference = np.asarray(big.resize((640, 480), Image.Resampling.BOX))
    assert np.abs(out.astype(int) - reference.astype(int)).mean() < 8

    tall = encode(Image.fromarray(astronaut).resize((600, 1200)), fmt)
    assert decode_frame(tall).shape == (640, 320, 3)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("JPEG", {"progressive": True}), ("JPEG", {"subsampling": 0}), ("WEBP", {"lossless": True})],
    ids=["jpeg-progressive", "jpeg-444", "webp-lossless"],
)
def test_encoder_variants(fmt, options, astronaut):
    out = decode_frame(encode(Image.fromarray(astronaut).resize((1280, 720)), fmt, **options))
    assert out.shape == (360, 640, 3)


def test_accepts_bytearray_and_memoryview(astronaut):
    data = encode(astronaut, "JPEG")
    a = decode_frame(data)
    assert np.array_equal(decode_frame(bytearray(data)), a)
    assert np.array_equal(decode_frame(memoryview(data)), a)


@pytest.mark.parametrize(
    ("mode", "fmt"), [("L", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "WEBP"), ("L", "WEBP")]
)
def test_other_colour_modes_become_rgb(mode, fmt, astronaut):
    data = encode(Image.fromarray(astronaut).convert(mode), fmt)
    out = decode_frame(data)
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8


def test_exif_orientation_is_applied(astronaut):
    im = Image.fromarray(astronaut).resize((400, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    out = decode_frame(encode(im, "JPEG", exif=exif.tobytes()))
    assert out.shape == (400, 200, 3)


# -- rejected frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>hello</body></html>",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"",
        b"\xff\xd8",
        b"%PDF-1.7\n",
    ],
    ids=["html", "gif", "wav", "empty", "short", "pdf"],
)
def test_rejects_unsupported_types(data):
    err = rejected("frame_type_unsupported", data)
    assert "JPEG and WebP" in err.message


def test_rejects_png_and_tiff(astronaut):
    rejected("frame_type_unsupported", encode(astronaut, "PNG"))
    rejected("frame_type_unsupported", encode(astronaut, "TIFF"))


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_truncated_and_garbage_are_undecodable(fmt, astronaut):
    data = encode(astronaut, fmt)
    rejected("frame_undecodable", data[: len(data) // 2])  # header fine, pixels missing
    rejected("frame_undecodable", data[:40])  # header cut short
    magic = data[:16] if fmt == "WEBP" else data[:3]
    rejected("frame_undecodable", magic + random.Random(1).randbytes(5000))


def test_oversize_bytes_rejected_before_anything_else(astronaut):
    data = encode(astronaut, "JPEG")
    err = rejected("frame_too_large", data, max_bytes=len(data) - 1)
    assert str(len(data)) in err.message
    assert decode_frame(data, max_bytes=len(data)).shape == (512, 512, 3)
    # The default bound, even for bytes that are not an image at all.
    rejected("frame_too_large", b"<html>" + b"x" * DEFAULT_MAX_BYTES)


def test_real_huge_single_colour_jpeg_is_small_but_rejected(monkeypatch):
    buf = io.BytesIO()
    Image.new("L", (10000, 10000), 128).save(buf, "JPEG", quality=50)
    data = buf.getvalue()
    assert len(data) < DEFAULT_MAX_BYTES  # ~1.2 MB for 100 MP: size alone would let it in
    _forbid_pillow(monkeypatch)
    err = rejected("frame_too_many_pixels", data)
    assert "10000x10000" in err.message


def test_pixel_count_and_side_limits(astronaut, monkeypatch):
    data = encode(astronaut, "JPEG")  # 512x512 = 262144 px
    _forbid_pillow(monkeypatch)
    rejected("frame_too_many_pixels", data, max_pixels=512 * 512 - 1)
    rejected("frame_too_many_pixels", data, max_side=511)


def _forbid_pillow(monkeypatch):
    """Fail if Pillow is asked to open the frame: the check must come from the header first."""

    def no_open(*args, **kwargs):
        raise AssertionError("Image.open called for a frame that should fail the header check")

    monkeypatch.setattr(frames.Image, "open", no_open)


def _patch_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def _patch_webp_size(data: bytes, width: int, height: int) -> bytes:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        return data[:26] + struct.pack("<HH", width, height) + data[30:]
    if chunk == b"VP8L":
        (bits,) = struct.unpack_from("<I", data, 21)
        bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
        return data[:21] + struct.pack("<I", bits) + data[25:]
    assert chunk == b"VP8X"
    dims = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return data[:24] + dims + data[30:]


@pytest.mark.parametrize(
    ("fmt", "options", "chunk"),
    [
        ("JPEG", {}, None),
        ("WEBP", {}, b"VP8 "),
        ("WEBP", {"lossless": True}, b"VP8L"),
        ("WEBP", {"exif": b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00"}, b"VP8X"),
    ],
    ids=["jpeg", "webp-lossy", "webp-lossless", "webp-extended"],
)
def test_huge_dimensions_in_a_tiny_file_rejected_from_the_header(fmt, options, chunk, monkeypatch):
    """A decompression bomb: 16x16 pixels of data, a header claiming 10000x10000. Pillow's WebP
    plugin would allocate the 400 MB canvas on open, so the check must happen before."""
    data = encode(Image.new("RGB", (16, 16), (200, 30, 30)), fmt, **options)
    if chunk is not None:
        assert data[12:16] == chunk
    patch = _patch_jpeg_size if fmt == "JPEG" else _patch_webp_size
    bomb = patch(data, 10000, 10000)
    assert len(bomb) < 1000
    assert (probe_frame(data).width, probe_frame(data).height) == (16, 16)
    _forbid_pillow(monkeypatch)
    err = rejected("frame_too_many_pixels", bomb)
    assert "10000x10000" in err.message
    with pytest.raises(FrameRejected, match="frame_too_many_pixels"):
        probe_frame(bomb)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_random_corruption_only_ever_raises_frame_rejected(fmt):
    """Flipped bytes anywhere: either a picture or FrameRejected, never another exception."""
    rng = random.Random(7)
    base = encode(skimage.data.astronaut()[::8, ::8].copy(), fmt)
    outcomes = {"ok": 0}
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data))]
        try:
            out = decode_frame(bytes(data))
        except FrameRejected as exc:
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
        else:
            assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8
            outcomes["ok"] += 1
    assert sum(outcomes.values()) == 300
    assert outcomes.get("frame_undecodable", 0) > 0
