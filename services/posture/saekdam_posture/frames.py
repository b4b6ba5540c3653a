"""Webcam frames from the posture websocket: JPEG or WebP bytes in, RGB pixels out, safely.

A frame is untrusted input, so every check that can be made without decoding is made first:

1. size in bytes (`frame_too_large`);
2. magic bytes: only JPEG (``FF D8 FF``) and WebP (``RIFF....WEBP``) are accepted
   (`frame_type_unsupported`) - no PNG, GIF, HTML, TIFF or anything else Pillow could parse;
3. the image dimensions, read by this module's own small header parsers *before* Pillow sees
   the data (`frame_too_many_pixels`). This matters: Pillow's WebP plugin allocates the whole
   canvas (width x height x 4 bytes) as soon as the file is *opened*, so a 100-byte WebP whose
   header claims 10000x10000 would cost 400 MB before any Pillow-side size check could run.
   Pillow's own decompression-bomb guard (`Image.MAX_IMAGE_PIXELS`) stays on as a second line;
4. only then the decode, restricted to Pillow's JPEG and WebP plugins; anything it cannot
   decode (garbage after valid magic bytes, truncated data) is `frame_undecodable`.

Frames whose long side exceeds `process_side` (640 by default) are downscaled, keeping the
aspect ratio: pose estimation resizes to 256x256 internally anyway, so larger frames only cost
time. Large JPEGs use libjpeg's DCT scaling (`Image.draft`), which decodes at 1/2, 1/4 or 1/8
size directly and is much faster than a full decode followed by a resize.

EXIF orientation (phone cameras) is applied, so the person is upright. Animated WebP: the first
frame is used. Alpha is dropped. Nothing is ever written to disk.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

# Defaults, overridable per call (and by the service's settings).
DEFAULT_MAX_BYTES = 2 * 1024 * 1024  # 2 MiB: a 1080p webcam JPEG is ~100-400 kB
DEFAULT_MAX_SIDE = 4096  # px, either side
DEFAULT_MAX_PIXELS = 16_000_000  # 16 MP
DEFAULT_PROCESS_SIDE = 640  # px: frames are downscaled so that their long side is at most this

FrameFormat = Literal["jpeg", "webp"]
RejectCode = Literal[
    "frame_too_large", "frame_type_unsupported", "frame_too_many_pixels", "frame_undecodable"
]


class FrameRejected(ValueError):
    """A frame the service will not process. `code` is stable and goes into the error frame."""

    def __init__(self, code: RejectCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: RejectCode = code
        self.message = message


@dataclass(frozen=True, slots=True)
class FrameLimits:
    """Bounds for one frame; the defaults are the service's defaults."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE
    process_side: int = DEFAULT_PROCESS_SIDE


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What the header says, before any decoding."""

    format: FrameFormat
    width: int
    height: int


def sniff_format(data: bytes | bytearray | memoryview) -> FrameFormat | None:
    """The frame's type from its magic bytes, or None if it is neither JPEG nor WebP."""
    head = bytes(data[:16])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def probe_frame(
    data: bytes | bytearray | memoryview,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> FrameInfo:
    """Check size, type and dimensions without decoding any pixels (microseconds).

    Cheap enough to run on the event loop as a frame arrives, so a bad frame is answered at
    once and never queued. Raises `FrameRejected`.
    """
    n = len(data)
    if n > max_bytes:
        raise FrameRejected("frame_too_large", f"frame is {n} bytes; the limit is {max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise FrameRejected("frame_type_unsupported", "only JPEG and WebP frames are accepted")
    size = _jpeg_size(data) if fmt == "jpeg" else _webp_size(data)
    if size is None:
        raise FrameRejected("frame_undecodable", f"no valid {fmt.upper()} header found")
    width, height = size
    if width <= 0 or height <= 0:
        raise FrameRejected("frame_undecodable", f"invalid dimensions {width}x{height}")
    _check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side)
    return FrameInfo(fmt, width, height)


def decode_frame(
    data: bytes | bytearray | memoryview,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    process_side: int | None = DEFAULT_PROCESS_SIDE,
) -> np.ndarray:
    """Decode a JPEG/WebP frame to a C-contiguous RGB uint8 array of shape (h, w, 3).

    The long side is at most `process_side` (None keeps the full size). CPU-bound (a few ms
    for a webcam frame): call it off the event loop, e.g. via `EstimatorPool.estimate_frame`.
    Raises `FrameRejected`.
    """
    info = probe_frame(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side)
    pil_format = "JPEG" if info.format == "jpeg" else "WEBP"
    try:
        with Image.open(io.BytesIO(bytes(data)), formats=[pil_format]) as im:
            # Pillow's view of the header must agree with ours (a second parser, a second
            # check): never decode something bigger than what was checked.
            if im.size != (info.width, info.height):
                _check_dimensions(*im.size, max_pixels=max_pixels, max_side=max_side)
            if process_side and info.format == "jpeg":
                im.draft("RGB", _target_size(im.size, process_side))
            im.load()
            rgb = _to_rgb(ImageOps.exif_transpose(im))
    except FrameRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise FrameRejected("frame_too_many_pixels", str(exc)) from None
    except Exception as exc:  # untrusted input: any decoder failure is a bad frame
        raise FrameRejected(
            "frame_undecodable", f"{info.format.upper()} data could not be decoded: {exc}"
        ) from None
    if process_side:
        target = _target_size(rgb.size, process_side)
        if target != rgb.size:
            rgb = rgb.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.array(rgb, dtype=np.uint8)


# -- internals ---------------------------------------------------------------------------


def _check_dimensions(width: int, height: int, *, max_pixels: int, max_side: int) -> None:
    if width > max_side or height > max_side or width * height > max_pixels:
        raise FrameRejected(
            "frame_too_many_pixels",
            f"frame is {width}x{height}; the limits are {max_side} px a side and "
            f"{max_pixels} pixels",
        )


def _target_size(size: tuple[int, int], process_side: int) -> tuple[int, int]:
    width, height = size
    long_side = max(width, height)
    if long_side <= process_side:
        return width, height
    scale = process_side / long_side
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite on black rather than exposing whatever colour transparent pixels hold.
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (0, 0, 0))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB")  # L, CMYK, YCbCr, P, I;16 ...


# JPEG start-of-frame markers (C0-CF carry the dimensions, except DHT, JPG and DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn, TEM: no length field


# The header walk runs on the event loop: it gives up on a frame whose dimensions are not
# within this many bytes and segments (camera JPEGs carry them in the first few KiB, after at
# most an EXIF thumbnail) rather than let a crafted frame hold the loop.
_JPEG_HEADER_SCAN_BYTES = 256 * 1024
_JPEG_HEADER_SCAN_SEGMENTS = 256


def _jpeg_size(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """(width, height) from the first SOFn segment, walking the segments after SOI."""
    buf = memoryview(data)[:_JPEG_HEADER_SCAN_BYTES]
    n = len(buf)
    i = 2  # after SOI (FF D8)
    for _segment in range(_JPEG_HEADER_SCAN_SEGMENTS):
        if i >= n:
            return None
        if buf[i] != 0xFF:
            return None
        # Fill bytes: a real encoder writes a handful, so a long run is not an image.
        fill_end = min(n, i + 64)
        while i < fill_end and buf[i] == 0xFF:
            i += 1
        if i < n and buf[i] == 0xFF:
            return None
        if i >= n:
            return None
        marker = buf[i]
        i += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD9, 0xDA):  # EOI or start of scan before any SOF: not an image
            return None
        if i + 2 > n:
            return None
        (length,) = struct.unpack_from(">H", buf, i)
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            if i + 7 > n or length < 7:
                return None
            height, width = struct.unpack_from(">HH", buf, i + 3)
            return width, height
        i += length
    return None


def _webp_size(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """(width, height) from the first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended)."""
    head = bytes(data[:30])
    chunk = head[12:16]
    if chunk == b"VP8 ":
        # frame tag (3 bytes) then the start code 9D 01 2A, then 14-bit width and height.
        if len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
            width, height = struct.unpack_from("<HH", head, 26)
            return width & 0x3FFF, height & 0x3FFF
    elif chunk == b"VP8L":
        if len(head) >= 25 and head[20] == 0x2F:
            (bits,) = struct.unpack_from("<I", head, 21)
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        # canvas width - 1 and height - 1, 24 bits each
        if len(head) >= 30:
            width = int.from_bytes(head[24:27], "little") + 1
            height = int.from_bytes(head[27:30], "little") + 1
            return width, height
    return None
