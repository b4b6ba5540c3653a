"""Smaller copies of images for screens: the one resize and encode behind the workers' result
renditions (display, thumbnail) and the board's thumbnails. Pure Pillow, no I/O.

Every copy is upright (EXIF orientation applied), sRGB (an embedded ICC profile is converted,
and the copy carries none: untagged means sRGB on the web), 8-bit RGB or RGBA, never larger
than its source, with the source's aspect ratio. Other metadata (camera, GPS) is dropped.
The same pixels and settings give the same bytes.
"""

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

WEBP = "image/webp"


@dataclass(frozen=True)
class RenditionSpec:
    """A long side not to exceed, a WebP quality, and optionally a byte budget: over it, the
    quality steps down by `QUALITY_STEP` (not below `MIN_QUALITY`) until the copy fits."""

    max_side: int
    quality: int = 80
    max_bytes: int | None = None


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    width: int
    height: int


# What a phone shows by default, and what a list or grid shows.
DISPLAY = RenditionSpec(max_side=2048, quality=82, max_bytes=1_500_000)
THUMBNAIL = RenditionSpec(max_side=512, quality=80)

QUALITY_STEP = 8
MIN_QUALITY = 40
# resize() first shrinks by a whole factor with reduce() (a box filter, fast) while the
# image stays at least this many times the target, then finishes with Lanczos: as sharp as
# Lanczos all the way, at a fraction of the time for 12 MP photos.
REDUCING_GAP = 3.0
_WEBP_METHOD = 4  # libwebp's speed/size trade-off, 0 (fast) .. 6 (small)


def fitted_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size of a `width`x`height` image scaled to fit `max_side`: aspect ratio kept
    (rounded), never enlarged, never below one pixel a side."""
    if width < 1 or height < 1 or max_side < 1:
        raise ValueError(
            f"width, height and max_side have to be at least 1 but are {width}, {height}, "
            f"{max_side}"
        )
    scale = max_side / max(width, height)
    if scale >= 1:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def open_image(data: bytes) -> Image.Image:
    """Decode encoded bytes (PNG, JPEG, WebP, ...) into an image ready for `renditions`."""
    with Image.open(io.BytesIO(data)) as image:
        return for_screens(image)


def for_screens(image: Image.Image) -> Image.Image:
    """The image upright, in sRGB, as 8-bit RGB or RGBA."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I"):  # 16-bit greyscale PNG: scale, do not clip, to 8 bits
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.mode not in ("RGB", "RGBA", "CMYK", "LAB"):  # these need their profile first
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    image = _to_srgb(image)
    return image if image.mode in ("RGB", "RGBA") else image.convert("RGB")


def downscale(image: Image.Image, max_side: int) -> Image.Image:
    """`image` fitted to `max_side` (the same image when it already fits)."""
    size = fitted_size(image.width, image.height, max_side)
    if size == image.size:
        return image
    if image.mode == "RGBA":
        # Premultiplied, so the colour of fully transparent pixels cannot bleed into edges.
        premultiplied = image.convert("RGBa")
        resized = premultiplied.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        return resized.convert("RGBA")
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def encode(image: Image.Image, spec: RenditionSpec) -> Rendition:
    """`image` (already fitted) as a WebP within the spec's byte budget."""
    quality = spec.quality
    while True:
        data = _webp(image, quality)
        over_budget = spec.max_bytes is not None and len(data) > spec.max_bytes
        if not over_budget or quality <= MIN_QUALITY:
            return Rendition(data, WEBP, image.width, image.height)
        quality = max(MIN_QUALITY, quality - QUALITY_STEP)


def renditions(image: Image.Image, specs: list[RenditionSpec]) -> list[Rendition]:
    """One copy per spec, in the order given. Each copy is scaled from the largest copy made
    so far that is at least as big (so a thumbnail comes from the display copy, not again
    from 12 MP), which keeps the cost of more sizes small. `image` should come from
    `for_screens` or `open_image`."""
    if image.mode not in ("RGB", "RGBA"):
        raise ValueError(f"image has to be RGB or RGBA (see for_screens) but is {image.mode}")
    made: dict[int, Rendition] = {}
    source = image
    for index in sorted(range(len(specs)), key=lambda i: -specs[i].max_side):
        source = downscale(source, specs[index].max_side)
        made[index] = encode(source, specs[index])
    return [made[index] for index in range(len(specs))]


def thumbnail(data: bytes, max_side: int = THUMBNAIL.max_side) -> Rendition:
    """A thumbnail of encoded image bytes (the board's post images)."""
    spec = RenditionSpec(max_side=max_side, quality=THUMBNAIL.quality)
    (made,) = renditions(open_image(data), [spec])
    return made


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=quality, method=_WEBP_METHOD)
    return out.getvalue()


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, profile, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A profile littlecms cannot use: show the pixels as they are rather than fail.
        return image
    converted.info.pop("icc_profile", None)
    return converted
