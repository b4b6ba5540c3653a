"""Preview pictures: fitted to a size, pasted onto the photo's wall, encoded small.

Pure image code. A painter asks its `PreviewSink` whether a preview is wanted now (and how
large), makes the picture only then, and hands it over; the sink (the worker) sends it.
"""

from typing import Protocol

import cv2
import numpy as np

# JPEG qualities tried in turn until the picture fits its byte budget; then it shrinks.
QUALITIES = (80, 70, 60, 50, 40, 30, 20)
SHRINK = 0.75
MIN_SIDE = 16
CONTENT_TYPE = "image/jpeg"


class PreviewSink(Protocol):
    def wanted(self) -> int | None:
        """The long side a preview should have if one is due now, else None."""

    def show(self, step: int, total: int, image: np.ndarray) -> None:
        """Take one preview: HxWx3 uint8 RGB."""


def fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) with the aspect kept and the long side at most `max_side` (never
    enlarged), each side at least 1."""
    if width < 1 or height < 1:
        raise ValueError(f"size has to be positive but is {width}x{height}")
    if max_side < 1:
        raise ValueError(f"`max_side` has to be positive but is {max_side}")
    scale = min(1.0, max_side / max(width, height))
    return max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """To (width, height): area averaging to shrink, bilinear to enlarge."""
    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    shrinking = size[0] * size[1] < width * height
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


class WallBackdrop:
    """The photo and its feathered wall mask at preview sizes, so a mural's preview appears
    on the photo's own wall. Each size is scaled once per job (photos can be 12 MP)."""

    def __init__(self, photo: np.ndarray, alpha: np.ndarray):
        if photo.shape[:2] != alpha.shape:
            raise ValueError(
                f"`alpha` has to match the photo's height and width {photo.shape[:2]} "
                f"but has shape {alpha.shape}"
            )
        self.photo = photo
        self.alpha = alpha.astype(np.float32)
        self._scaled: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def at(self, max_side: int) -> tuple[np.ndarray, np.ndarray]:
        """(photo uint8, alpha float32) with the long side at most `max_side`."""
        if max_side not in self._scaled:
            height, width = self.alpha.shape
            size = fit(width, height, max_side)
            self._scaled[max_side] = (resize(self.photo, size), resize(self.alpha, size))
        return self._scaled[max_side]

    def paste(self, picture: np.ndarray, max_side: int) -> np.ndarray:
        """photo + alpha * (picture - photo), the picture stretched over the whole photo
        first (the model's working size has the photo's aspect). Where alpha is 0 the result
        is the scaled photo exactly."""
        photo, alpha = self.at(max_side)
        height, width = alpha.shape
        stretched = resize(picture, (width, height)).astype(np.float32)
        base = photo.astype(np.float32)
        out = base + alpha[..., None] * (stretched - base)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def fitted(picture: np.ndarray, width: int, height: int, max_side: int) -> np.ndarray:
    """A whole-image preview (a sketch's) at the result's aspect, long side <= max_side."""
    return resize(picture, fit(width, height, max_side))


def encode_preview(image: np.ndarray, max_bytes: int) -> tuple[bytes, int, int]:
    """JPEG of an RGB picture in at most `max_bytes`: lower quality first, then smaller.
    Returns (data, width, height)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` has to be HxWx3 uint8 but is {image.shape} {image.dtype}")
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    while True:
        height, width = bgr.shape[:2]
        for quality in QUALITIES:
            ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and data.size <= max_bytes:
                return data.tobytes(), width, height
        if max(width, height) <= MIN_SIDE:
            raise ValueError(f"a {width}x{height} preview does not fit in {max_bytes} bytes")
        bgr = resize(bgr, fit(width, height, max(MIN_SIDE, int(max(width, height) * SHRINK))))
