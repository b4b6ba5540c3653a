"""Verify an uploaded image at submit time, before any job is enqueued.

Object stores check neither the bytes nor (moto, some S3-compatible servers) the POST
policy, so the label a client declared proves nothing. The type is sniffed from magic bytes,
the header is read to refuse oversized images before any pixel is allocated, and only then
is the image decoded in full to catch truncated or corrupt files (a JPEG at an eighth of its
size: every scan is still decoded, into 1/64 of the memory).

A decode holds up to 4 bytes a pixel, 256 MB at the 64 Mpx limit, from an upload of a few
hundred kB: callers run it through `DecodeSlots`, which bounds how many run at once.
"""

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, UnidentifiedImageError

from saekdam_web.errors import Unprocessable, UnsupportedMedia


@dataclass(frozen=True)
class _Format:
    name: str  # Pillow's format name
    content_type: str


PNG = _Format("PNG", "image/png")
JPEG = _Format("JPEG", "image/jpeg")
WEBP = _Format("WEBP", "image/webp")

# Labels some clients send for JPEG; they name the same type.
_CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}


class UploadRejected(Unprocessable):
    """An upload that is a real image but not an acceptable one (422)."""


class UploadUnsupported(UploadRejected, UnsupportedMedia):
    """An upload whose bytes are not one of the accepted image types (415).

    Also an UploadRejected, so one `except UploadRejected` catches every verdict.
    """

    status_code = 415


@dataclass(frozen=True)
class VerifiedImage:
    format: str
    content_type: str
    width: int
    height: int


EXIF_ORIENTATION = 0x0112
# EXIF orientations 5-8 rotate by 90 degrees: width and height swap when displayed.
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}


def sniff_format(data: bytes) -> _Format | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def _normalise_content_type(content_type: str) -> str:
    bare = content_type.split(";", 1)[0].strip().lower()
    return _CONTENT_TYPE_ALIASES.get(bare, bare)


def verify_image(
    data: bytes,
    *,
    declared_content_type: str,
    max_pixels: int,
    min_side: int,
    max_side: int,
) -> VerifiedImage:
    sniffed = sniff_format(data)
    if sniffed is None:
        raise UploadUnsupported(
            "upload_type_unsupported",
            f"The uploaded file is not a PNG, JPEG or WebP image "
            f"(it starts with {data[:8].hex(' ') or 'nothing'}).",
        )
    declared = _normalise_content_type(declared_content_type)
    if declared != sniffed.content_type:
        raise UploadRejected(
            "upload_type_mismatch",
            f"The upload was declared as {declared_content_type!r} "
            f"but its content is {sniffed.content_type}.",
        )

    try:
        # Only the sniffed format's decoder may look at the bytes: no other Pillow plugin
        # (and its parser's bugs) is reachable from an upload. Opening reads the header only.
        image = Image.open(io.BytesIO(data), formats=[sniffed.name])
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice Image.MAX_IMAGE_PIXELS) fired before ours could; it
        # discards the header, so only its threshold is known here.
        pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise UploadRejected(
            "upload_too_many_pixels",
            f"The image has more than {pillow_limit:,} pixels; at most {max_pixels:,} are allowed.",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected(
            "upload_undecodable",
            f"The {sniffed.name} image could not be read; it is truncated or corrupt.",
        ) from exc

    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise UploadRejected(
                "upload_too_many_pixels",
                f"The image is {width}x{height} = {width * height:,} pixels; "
                f"at most {max_pixels:,} are allowed.",
            )
        if min(width, height) < min_side:
            raise UploadRejected(
                "upload_too_small",
                f"The image is {width}x{height}; each side must be at least {min_side} pixels.",
            )
        if max(width, height) > max_side:
            raise UploadRejected(
                "upload_too_large_dimensions",
                f"The image is {width}x{height}; no side may exceed {max_side} pixels.",
            )
        if sniffed is JPEG:
            # libjpeg scales while it decodes (DCT scaling): it still reads and entropy-decodes
            # every scan, so truncated and corrupt files fail as they do at full size.
            image.draft(None, (max(1, width // 8), max(1, height // 8)))
        try:
            # Decode every pixel: a file cut short only fails here. (This relies on
            # ImageFile.LOAD_TRUNCATED_IMAGES keeping its default, False.)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UploadRejected(
                "upload_undecodable",
                f"The {sniffed.name} image could not be decoded; it is truncated or corrupt "
                f"({exc}).",
            ) from exc
        # Report the size as the image is shown: cameras store portraits sideways with an
        # EXIF orientation, and the worker's decoder applies it.
        if image.getexif().get(EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
            width, height = height, width

    return VerifiedImage(sniffed.name, sniffed.content_type, width, height)


T = TypeVar("T")


class DecodeSlots:
    """At most `limit` image decodes at once in this process (VERIFY_CONCURRENCY): the others
    wait their turn on the event loop, holding no thread, and the memory decodes take stays
    within `limit` of the largest one however many verifications arrive together."""

    def __init__(self, limit: int):
        self._slots = asyncio.Semaphore(limit)

    async def run(self, decode: Callable[..., T], /, *args, **kwargs) -> T:
        """`decode(*args, **kwargs)` in a worker thread once a slot is free."""
        async with self._slots:
            return await asyncio.to_thread(decode, *args, **kwargs)
