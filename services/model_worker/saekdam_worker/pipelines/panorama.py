"""Stitch overlapping photos into one panorama with OpenCV's high-level Stitcher."""

import cv2
import numpy as np

_STITCH_MODES = {"panorama": cv2.Stitcher_PANORAMA, "scans": cv2.Stitcher_SCANS}

_FAILURE_MESSAGES = {
    cv2.Stitcher_ERR_NEED_MORE_IMGS: (
        "the photos do not overlap enough to stitch (need more matching features)"
    ),
    cv2.Stitcher_ERR_HOMOGRAPHY_EST_FAIL: (
        "could not work out how the photos line up (homography estimation failed); "
        "try photos with more overlap and more detail in the shared area"
    ),
    cv2.Stitcher_ERR_CAMERA_PARAMS_ADJUST_FAIL: (
        "could not work out where the camera was for each photo (camera parameter "
        "adjustment failed); try turning the camera in place rather than moving it"
    ),
}


class StitchError(Exception):
    """OpenCV could not stitch the photos; `status_code` is the cv2.Stitcher status."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink `image` so its long side is at most `max_side`; smaller images pass unchanged."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def stitch(images: list[np.ndarray], mode: str = "panorama", max_side: int = 2000) -> np.ndarray:
    """Stitch BGR uint8 photos into one image, cropped to the stitched content.

    "panorama" (camera turned in place) falls back to "scans" (flat subject, camera moved);
    "scans" tries only that. Raises StitchError when neither works.
    """
    if mode not in _STITCH_MODES:
        raise ValueError(f"unknown stitch mode {mode!r}; valid modes: {', '.join(_STITCH_MODES)}")
    if len(images) < 2:
        raise ValueError(f"need at least 2 images to stitch, got {len(images)}")
    # Stitching cost grows with pixels; 2000 px a side keeps a 10-photo job to seconds.
    scaled = [fit_within(image, max_side) for image in images]
    attempts = ["panorama", "scans"] if mode == "panorama" else ["scans"]
    first_failure: int | None = None
    for attempt in attempts:
        status, result = cv2.Stitcher_create(_STITCH_MODES[attempt]).stitch(scaled)
        if status == cv2.Stitcher_OK:
            return crop_to_content(result)
        first_failure = status if first_failure is None else first_failure
    # The first failure is the one in the user's chosen mode, so it explains the most.
    raise StitchError(first_failure, _failure_message(first_failure))


def crop_to_content(image: np.ndarray) -> np.ndarray:
    """Cut away the black border warping leaves around a stitched image."""
    mask = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) > 0
    points = cv2.findNonZero(mask.astype(np.uint8))
    if points is None:
        return image
    x, y, width, height = cv2.boundingRect(points)
    return image[y : y + height, x : x + width].copy()


def _failure_message(status: int) -> str:
    return _FAILURE_MESSAGES.get(status, f"the photos could not be stitched (status {status})")
