"""Scripted poses: a seated person in front of a webcam, projected through a pinhole camera.

For tests and demos (no frames, no MediaPipe). The head is a rigid set of points around the
ear midpoint, which is roughly the axis of a nod, so looking down swings the nose and eyes
down while the ears stay; protrusion moves the whole head towards the camera and down, which
under perspective makes the face bigger relative to the shoulders, as in a real webcam.

World coordinates in centimetres: x to the camera's right (the person's left), y up, z towards
the camera. Shoulder midpoint at the origin, camera at ear height `distance_cm` in front.
"""

import math

import numpy as np

from saekdam_posture import pose as lm
from saekdam_posture.pose import LANDMARK_COUNT, Pose

SHOULDER_HALF_WIDTH_CM = 19.0
EAR_ABOVE_SHOULDERS_CM = 17.0

# Head points relative to the ear midpoint (x, y, z), cm, for an average adult.
_HEAD_POINTS = {
    lm.NOSE: (0.0, -2.5, 10.5),
    lm.LEFT_EYE_INNER: (1.8, 1.5, 8.3),
    lm.LEFT_EYE: (3.15, 1.5, 8.0),
    lm.LEFT_EYE_OUTER: (4.5, 1.5, 7.5),
    lm.RIGHT_EYE_INNER: (-1.8, 1.5, 8.3),
    lm.RIGHT_EYE: (-3.15, 1.5, 8.0),
    lm.RIGHT_EYE_OUTER: (-4.5, 1.5, 7.5),
    lm.LEFT_EAR: (7.5, 0.0, 0.0),
    lm.RIGHT_EAR: (-7.5, 0.0, 0.0),
    lm.MOUTH_LEFT: (2.5, -6.0, 9.0),
    lm.MOUTH_RIGHT: (-2.5, -6.0, 9.0),
}

# Body points relative to the shoulder midpoint; the lower ones usually fall out of frame.
_BODY_POINTS = {
    lm.LEFT_SHOULDER: (SHOULDER_HALF_WIDTH_CM, 0.0, 0.0),
    lm.RIGHT_SHOULDER: (-SHOULDER_HALF_WIDTH_CM, 0.0, 0.0),
    lm.LEFT_ELBOW: (23.0, -28.0, 2.0),
    lm.RIGHT_ELBOW: (-23.0, -28.0, 2.0),
    15: (18.0, -45.0, 20.0),  # wrists
    16: (-18.0, -45.0, 20.0),
    lm.LEFT_HIP: (15.0, -52.0, -2.0),
    lm.RIGHT_HIP: (-15.0, -52.0, -2.0),
}


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head rotation: roll (about z), then pitch (positive = nod down), then yaw (positive =
    towards the person's left)."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    roll = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    # A nod down moves points in front of the axis (z > 0) downwards.
    pitch = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    yaw = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    return yaw @ pitch @ roll


def scripted_pose(
    *,
    forward_cm: float = 0.0,
    drop_cm: float = 0.0,
    lateral_cm: float = 0.0,
    lean_cm: float = 0.0,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
    width: int = 640,
    height: int = 480,
    focal_px: float = 600.0,
    distance_cm: float = 60.0,
    mirror: bool = False,
    visibility: float = 0.98,
    ear_visibility: tuple[float, float] | None = None,
    noise_px: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Pose:
    """A frontal webcam pose.

    forward_cm / drop_cm move the head (relative to the shoulders) towards the camera and
    down: forward-head posture. lean_cm moves the whole upper body towards the camera.
    yaw/pitch/roll rotate the head about the ear midpoint. ear_visibility is (left, right).
    """
    rotation = _rotation(yaw_deg, pitch_deg, roll_deg)
    head_origin = np.array([lateral_cm, EAR_ABOVE_SHOULDERS_CM - drop_cm, forward_cm + lean_cm])
    body_origin = np.array([0.0, 0.0, lean_cm])

    world = np.zeros((LANDMARK_COUNT, 3))
    world[:] = body_origin + np.array([0.0, -40.0, 0.0])  # unlisted points: lower body
    for index, offset in _BODY_POINTS.items():
        world[index] = body_origin + np.array(offset)
    for index, offset in _HEAD_POINTS.items():
        world[index] = head_origin + rotation @ np.array(offset)

    depth = distance_cm - world[:, 2]
    points = np.empty((LANDMARK_COUNT, 2))
    points[:, 0] = width / 2 + focal_px * world[:, 0] / depth
    points[:, 1] = height / 2 - focal_px * (world[:, 1] - EAR_ABOVE_SHOULDERS_CM) / depth
    if mirror:
        points[:, 0] = width - points[:, 0]
    if noise_px:
        points = points + (rng or np.random.default_rng()).normal(0.0, noise_px, points.shape)
    # Like MediaPipe, report off-frame points (wrists, hips) only a little outside the frame.
    points = np.clip(points, [-0.5 * width, -0.5 * height], [1.5 * width, 1.5 * height])

    vis = np.full(LANDMARK_COUNT, visibility)
    vis[lm.LEFT_HIP :] = 0.2  # below the desk
    if ear_visibility is not None:
        vis[lm.LEFT_EAR], vis[lm.RIGHT_EAR] = ear_visibility
    return Pose(points=points, visibility=vis, width=width, height=height)


def upright_pose(**overrides: float) -> Pose:
    """The calibration posture: sitting upright, facing the screen."""
    return scripted_pose(**overrides)


def forward_head_pose(severity_cm: float = 5.0, **overrides) -> Pose:
    """Turtle neck: the head `severity_cm` forward and 0.6 of that down."""
    return scripted_pose(forward_cm=severity_cm, drop_cm=0.6 * severity_cm, **overrides)


def looking_down_pose(pitch_deg: float = 30.0, neck_drop_cm: float = 4.0, **overrides) -> Pose:
    """Looking at a phone or the keyboard: a nod plus some neck flexion, no protrusion."""
    return scripted_pose(pitch_deg=pitch_deg, drop_cm=neck_drop_cm, **overrides)


def landmarks_payload(pose: Pose, frame_id: int | None = None) -> dict:
    """The pose as a client's `landmarks` websocket message (contracts LandmarksMessage)."""
    return {
        "type": "landmarks",
        "frame_id": frame_id,
        "image": {"width": pose.width, "height": pose.height},
        "landmarks": [
            {"x": x, "y": y, "z": z, "visibility": v}
            for x, y, z, v in pose.to_normalised().tolist()
        ],
    }
