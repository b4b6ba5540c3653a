"""The six photo filters of the original app."""

from collections.abc import Callable

import cv2
import numpy as np

# Sums to zero, so flat areas land on the +128 offset: mid-grey relief.
_EMBOSS_KERNEL = np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], dtype=np.float32)


def _original(bgr: np.ndarray) -> np.ndarray:
    return bgr.copy()


def _emboss(bgr: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    relief = cv2.filter2D(gray, -1, _EMBOSS_KERNEL, delta=128)
    return cv2.cvtColor(relief, cv2.COLOR_GRAY2BGR)


def _cartoon(bgr: np.ndarray) -> np.ndarray:
    return cv2.stylization(bgr, sigma_s=60, sigma_r=0.45)


def _pencil(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return cv2.pencilSketch(bgr, sigma_s=60, sigma_r=0.07, shade_factor=0.05)


def _pencil_gray(bgr: np.ndarray) -> np.ndarray:
    gray, _ = _pencil(bgr)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def _pencil_color(bgr: np.ndarray) -> np.ndarray:
    _, color = _pencil(bgr)
    return color


def _oil_painting(bgr: np.ndarray) -> np.ndarray:
    return cv2.xphoto.oilPainting(bgr, 7, 1)


_FILTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": _original,
    "emboss": _emboss,
    "cartoon": _cartoon,
    "pencil_gray": _pencil_gray,
    "pencil_color": _pencil_color,
    "oil_painting": _oil_painting,
}

FILTERS: tuple[str, ...] = tuple(_FILTERS)


def apply_filter(name: str, bgr: np.ndarray) -> np.ndarray:
    """Apply filter `name` to an HxWx3 uint8 BGR image; the result has the same shape."""
    try:
        apply = _FILTERS[name]
    except KeyError:
        raise ValueError(f"unknown filter {name!r}; valid filters: {', '.join(FILTERS)}") from None
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 image, got {bgr.shape} {bgr.dtype}")
    return apply(bgr)
