"""A body pose in pixel coordinates, built from MediaPipe Pose landmarks.

MediaPipe reports x and y normalised to the frame width and height separately, so one unit of
x is not one unit of y unless the frame is square. Every angle and distance ratio the posture
features use is computed after converting to pixels; on a 16:9 frame the normalised numbers
would distort angles and the eye-spacing/shoulder-width ratio.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

LANDMARK_COUNT = 33

# MediaPipe Pose indices. "Left" is the person's left: on an unmirrored webcam image it appears
# on the image's right (larger x).
NOSE = 0
LEFT_EYE_INNER = 1
LEFT_EYE = 2
LEFT_EYE_OUTER = 3
RIGHT_EYE_INNER = 4
RIGHT_EYE = 5
RIGHT_EYE_OUTER = 6
LEFT_EAR = 7
RIGHT_EAR = 8
MOUTH_LEFT = 9
MOUTH_RIGHT = 10
LEFT_SHOULDER = 11
RIGHT_SHOULDER = 12
LEFT_ELBOW = 13
RIGHT_ELBOW = 14
LEFT_HIP = 23
RIGHT_HIP = 24


@dataclass(frozen=True, eq=False)
class Pose:
    """33 landmarks: `points` (33, 2) in pixels, `visibility` (33,) in [0, 1], frame size."""

    points: np.ndarray
    visibility: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        points = np.array(self.points, dtype=np.float64)
        visibility = np.array(self.visibility, dtype=np.float64)
        if points.shape != (LANDMARK_COUNT, 2):
            raise ValueError(f"points must have shape ({LANDMARK_COUNT}, 2), not {points.shape}")
        if visibility.shape != (LANDMARK_COUNT,):
            raise ValueError(f"visibility must have shape ({LANDMARK_COUNT},)")
        if self.width <= 0 or self.height <= 0:
            raise ValueError("width and height must be positive")
        # Read-only copies: a Pose is a value, shared between features, tests and logs.
        points.setflags(write=False)
        visibility.setflags(write=False)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "visibility", np.clip(visibility, 0.0, 1.0))

    @classmethod
    def from_normalised(cls, landmarks: Any, width: int, height: int) -> "Pose":
        """Landmarks with x, y in frame units (MediaPipe's convention) to a pixel pose.

        `landmarks` is an array (33, 4) of x, y, z, visibility (or (33, 2)/(33, 3) without
        visibility, taken as 1), or 33 objects or mappings with x, y and optionally visibility
        (MediaPipe's NormalizedLandmark, the contracts' Landmark, parsed JSON).
        """
        rows = _as_rows(landmarks)
        points = rows[:, :2] * np.array([width, height], dtype=np.float64)
        return cls(points=points, visibility=rows[:, 3], width=width, height=height)

    @classmethod
    def from_message(cls, message: Any) -> "Pose":
        """From a `saekdam_contracts.posture.LandmarksMessage` (anything with the same shape)."""
        return cls.from_normalised(message.landmarks, message.image.width, message.image.height)

    def to_normalised(self) -> np.ndarray:
        """(33, 4) rows of x, y, z (always 0), visibility in frame units: the wire format."""
        rows = np.zeros((LANDMARK_COUNT, 4))
        rows[:, :2] = self.points / np.array([self.width, self.height], dtype=np.float64)
        rows[:, 3] = self.visibility
        return rows

    def point(self, index: int) -> np.ndarray:
        return self.points[index]

    def midpoint(self, a: int, b: int) -> np.ndarray:
        return (self.points[a] + self.points[b]) / 2.0

    def visible(self, threshold: float, *indices: int) -> bool:
        return bool(np.all(self.visibility[list(indices)] >= threshold))


def _as_rows(landmarks: Any) -> np.ndarray:
    if isinstance(landmarks, np.ndarray):
        array = np.asarray(landmarks, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] != LANDMARK_COUNT or array.shape[1] not in (2, 3, 4):
            raise ValueError(f"expected ({LANDMARK_COUNT}, 2..4) landmarks, got {array.shape}")
        rows = np.ones((LANDMARK_COUNT, 4))
        rows[:, 2] = 0.0
        rows[:, : array.shape[1]] = array
        return rows
    items = list(landmarks) if isinstance(landmarks, Iterable) else []
    if len(items) != LANDMARK_COUNT:
        raise ValueError(f"expected {LANDMARK_COUNT} landmarks, got {len(items)}")
    return np.array([_landmark_row(item) for item in items], dtype=np.float64)


def _landmark_row(item: Any) -> tuple[float, float, float, float]:
    if isinstance(item, Mapping):
        get = item.get
    else:

        def get(name: str, default: Any = None) -> Any:
            return getattr(item, name, default)

    x, y = get("x"), get("y")
    if x is None or y is None:
        raise ValueError("a landmark needs x and y")
    z = get("z", 0.0)
    visibility = get("visibility", 1.0)
    return (
        float(x),
        float(y),
        float(0.0 if z is None else z),
        float(1.0 if visibility is None else visibility),
    )
