"""Posture features from a frontal webcam pose, and the reasons a frame cannot be scored.

Every feature is a ratio of pixel distances, so it does not depend on the frame size or on how
far the user sits from the camera. Features are a dataclass with named fields, never a
positional vector: the original fed its classifier features in a different order at serving
time than in training.

Geometry (image y grows downwards; "unmirrored" x grows towards the person's left, so a
selfie-mirrored stream gives the same numbers):

- head_drop = (shoulder midline y − head midline y) / shoulder width. The head midline is the
  ear midpoint (`head_drop_ears`) or the eye midpoint (`head_drop_eyes`). Positive = head above
  the shoulders; it falls when the head drops or protrudes forward and down.
- face_scale = eye spacing / shoulder width. It grows when the head comes towards the camera
  relative to the shoulders (protrusion); leaning the whole body in scales both and keeps it.
- ear_shoulder_angle = angle of the shoulder-midline→head-midline vector from straight up,
  degrees, atan2 over the full circle (0 = head over the shoulders, ±180 = below them).
- head_tilt (roll) = angle of the right-eye→left-eye line from horizontal, atan2, degrees.
- head_turn (yaw proxy) = offset of the nose from the eye midpoint along the eye line / eye
  spacing. The nose tip sits ~2.5 cm in front of the eyes, so it is ≈ 0.4·tan(yaw).
- nose_below_eyes / nose_below_ears (pitch proxy) = distance of the nose below the eye line /
  the ear midpoint, measured perpendicular to the eye line (so head roll does not leak in),
  in eye spacings. It grows when the user looks down: the nose swings down and the ears, near
  the axis of the nod, barely move.
"""

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from saekdam_posture import pose as lm
from saekdam_posture.pose import Pose

RejectionReason = Literal["no_person", "implausible_shoulders", "head_turned", "too_tilted"]


@dataclass(frozen=True)
class FeatureRules:
    """When a frame is usable. Defaults are for a laptop or desk webcam facing the user."""

    # MediaPipe visibility below which a landmark is treated as absent (nose, eyes, shoulders).
    min_visibility: float = 0.5
    # Ears are optional (hair, headphones); below this the eye line is the head reference.
    min_ear_visibility: float = 0.5
    # Shoulder width as a fraction of the frame width: narrower is someone far behind the desk
    # or a misdetection, wider is past what a webcam at arm's length can see.
    min_shoulder_fraction: float = 0.10
    max_shoulder_fraction: float = 1.20
    # Eye spacing / shoulder width: ~0.17 for an adult at a desk; outside this the shoulders
    # (or the eyes) were misplaced.
    min_face_scale: float = 0.07
    max_face_scale: float = 0.50
    # |nose offset| / eye spacing ≈ 0.4·tan(yaw) (more up close): 0.25 is a head turned ~25°.
    max_head_turn: float = 0.25
    # One ear far less visible than the other corroborates a turn; alone it is often hair.
    max_ear_visibility_asymmetry: float = 0.6
    # Roll of the eye line, degrees.
    max_head_tilt_deg: float = 30.0


@dataclass(frozen=True)
class Features:
    """Named posture features of one frame (see the module docstring for the formulas)."""

    head_drop_eyes: float
    head_drop_ears: float | None
    face_scale: float
    ear_shoulder_angle: float
    head_tilt: float
    head_turn: float
    nose_below_eyes: float
    nose_below_ears: float | None
    shoulder_width: float  # fraction of the frame width: how close the user sits

    @property
    def head_reference(self) -> Literal["ears", "eyes"]:
        return "eyes" if self.head_drop_ears is None else "ears"

    @property
    def head_drop(self) -> float:
        """Head drop from the ear midline, or the eye midline when the ears are not visible."""
        return self.head_drop_eyes if self.head_drop_ears is None else self.head_drop_ears

    @property
    def pitch(self) -> float:
        """Looking-down proxy: nose below the ear midpoint, else below the eye line."""
        return self.nose_below_eyes if self.nose_below_ears is None else self.nose_below_ears

    def as_dict(self) -> dict[str, float]:
        """The numeric features by name, leaving out the ones this frame could not measure."""
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Rejected:
    """A frame that cannot be scored: a stable snake_case `reason` and a human `detail`."""

    reason: RejectionReason
    detail: str


def angle_from_vertical(dx: float, dy: float) -> float:
    """Degrees of the vector (dx, dy) from straight up in image coordinates (y grows down).

    atan2 keeps the quadrant: a vector pointing down-right is +135°, where atan(dx/−dy) would
    wrap it to −45° and call a head below the shoulders nearly upright.
    """
    return math.degrees(math.atan2(dx, -dy))


def angle_from_horizontal(dx: float, dy: float) -> float:
    """Degrees of the vector (dx, dy) from the +x axis, positive towards +y, over ±180°."""
    return math.degrees(math.atan2(dy, dx))


def extract_features(pose: Pose, rules: FeatureRules = FeatureRules()) -> Features | Rejected:
    """Posture features of a frontal pose, or why the frame cannot be scored."""
    missing = [
        name
        for name, index in (
            ("nose", lm.NOSE),
            ("left eye", lm.LEFT_EYE),
            ("right eye", lm.RIGHT_EYE),
            ("left shoulder", lm.LEFT_SHOULDER),
            ("right shoulder", lm.RIGHT_SHOULDER),
        )
        if pose.visibility[index] < rules.min_visibility
    ]
    if missing or not np.all(np.isfinite(pose.points[: lm.RIGHT_SHOULDER + 1])):
        return Rejected("no_person", "not visible: " + (", ".join(missing) or "bad coordinates"))

    # Work in unmirrored pixels: flip x if the person's left shoulder is on the image's left
    # (a selfie-mirrored stream), so signs of tilt and turn mean the same either way.
    points = pose.points.copy()
    if points[lm.LEFT_SHOULDER, 0] < points[lm.RIGHT_SHOULDER, 0]:
        points[:, 0] = -points[:, 0]

    left_shoulder, right_shoulder = points[lm.LEFT_SHOULDER], points[lm.RIGHT_SHOULDER]
    shoulder_mid = (left_shoulder + right_shoulder) / 2
    shoulder_width = float(np.linalg.norm(left_shoulder - right_shoulder))
    shoulder_fraction = shoulder_width / pose.width
    if not rules.min_shoulder_fraction <= shoulder_fraction <= rules.max_shoulder_fraction:
        return Rejected(
            "implausible_shoulders",
            f"shoulder width is {shoulder_fraction:.2f} of the frame width "
            f"(expected {rules.min_shoulder_fraction}–{rules.max_shoulder_fraction})",
        )

    left_eye, right_eye = points[lm.LEFT_EYE], points[lm.RIGHT_EYE]
    eye_mid = (left_eye + right_eye) / 2
    eye_spacing = float(np.linalg.norm(left_eye - right_eye))
    face_scale = eye_spacing / shoulder_width
    if shoulder_mid[1] <= eye_mid[1]:
        return Rejected("implausible_shoulders", "shoulders are level with or above the eyes")
    if not rules.min_face_scale <= face_scale <= rules.max_face_scale:
        return Rejected(
            "implausible_shoulders",
            f"eye spacing is {face_scale:.2f} of the shoulder width "
            f"(expected {rules.min_face_scale}–{rules.max_face_scale})",
        )

    nose = points[lm.NOSE]
    ears_visible = pose.visible(rules.min_ear_visibility, lm.LEFT_EAR, lm.RIGHT_EAR)
    ear_mid = (points[lm.LEFT_EAR] + points[lm.RIGHT_EAR]) / 2 if ears_visible else None

    # Along the eye line rather than along image x, so a rolled head does not read as turned.
    eye_line = left_eye - right_eye
    along = eye_line / eye_spacing
    head_turn = float(np.dot(nose - eye_mid, along)) / eye_spacing
    ear_asymmetry = abs(float(pose.visibility[lm.LEFT_EAR] - pose.visibility[lm.RIGHT_EAR]))
    if abs(head_turn) > rules.max_head_turn or (
        ear_asymmetry > rules.max_ear_visibility_asymmetry
        and abs(head_turn) > rules.max_head_turn / 2
    ):
        return Rejected(
            "head_turned",
            f"nose is {head_turn:+.2f} eye spacings off the eye midpoint "
            f"(limit {rules.max_head_turn}), ear visibility differs by {ear_asymmetry:.2f}",
        )

    head_tilt = angle_from_horizontal(float(eye_line[0]), float(eye_line[1]))
    if abs(head_tilt) > rules.max_head_tilt_deg:
        return Rejected(
            "too_tilted",
            f"eye line is {head_tilt:+.0f}° from level (limit ±{rules.max_head_tilt_deg:.0f}°)",
        )

    # Unit normal of the eye line pointing down the face (the eye direction turned by +90°).
    down = np.array([-along[1], along[0]])

    head_mid = ear_mid if ear_mid is not None else eye_mid
    to_head = head_mid - shoulder_mid
    return Features(
        head_drop_eyes=float(shoulder_mid[1] - eye_mid[1]) / shoulder_width,
        head_drop_ears=None
        if ear_mid is None
        else float(shoulder_mid[1] - ear_mid[1]) / shoulder_width,
        face_scale=face_scale,
        ear_shoulder_angle=angle_from_vertical(float(to_head[0]), float(to_head[1])),
        head_tilt=head_tilt,
        head_turn=head_turn,
        nose_below_eyes=float(np.dot(nose - eye_mid, down)) / eye_spacing,
        nose_below_ears=None
        if ear_mid is None
        else float(np.dot(nose - ear_mid, down)) / eye_spacing,
        shoulder_width=shoulder_fraction,
    )
