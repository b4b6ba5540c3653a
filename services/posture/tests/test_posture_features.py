"""Features and rejections on scripted frontal poses (pinhole projection of a seated person)."""

import dataclasses
import math

import numpy as np
import pytest

from saekdam_contracts.posture import LandmarksMessage
from saekdam_posture import pose as lm
from saekdam_posture.features import (
    FeatureRules,
    Features,
    Rejected,
    angle_from_horizontal,
    angle_from_vertical,
    extract_features,
)
from saekdam_posture.pose import Pose
from saekdam_posture.synthetic import (
    forward_head_pose,
    landmarks_payload,
    looking_down_pose,
    scripted_pose,
    upright_pose,
)


def features(pose: Pose, rules: FeatureRules = FeatureRules()) -> Features:
    result = extract_features(pose, rules)
    assert isinstance(result, Features), result
    return result


def rejection(pose: Pose, rules: FeatureRules = FeatureRules()) -> Rejected:
    result = extract_features(pose, rules)
    assert isinstance(result, Rejected), result
    return result


def with_visibility(pose: Pose, indices: list[int], visibility: float) -> Pose:
    vis = pose.visibility.copy()
    vis[indices] = visibility
    return Pose(pose.points, vis, pose.width, pose.height)


def moved(pose: Pose, index: int, dx: float = 0.0, dy: float = 0.0) -> Pose:
    points = pose.points.copy()
    points[index] += (dx, dy)
    return Pose(points, pose.visibility, pose.width, pose.height)


# -- pose conversion ------------------------------------------------------------------------


def test_normalised_landmarks_round_trip_through_pixels():
    pose = upright_pose(width=1280, height=720)
    again = Pose.from_normalised(pose.to_normalised(), 1280, 720)
    np.testing.assert_allclose(again.points, pose.points)
    np.testing.assert_allclose(again.visibility, pose.visibility)


def test_pose_from_a_contracts_message_and_from_landmark_mappings():
    pose = upright_pose(width=800, height=600)
    payload = landmarks_payload(pose, frame_id=7)
    message = LandmarksMessage.model_validate(payload)
    landmarks = payload["landmarks"]
    from_message = Pose.from_message(message)
    from_dicts = Pose.from_normalised(landmarks, 800, 600)
    np.testing.assert_allclose(from_message.points, pose.points)
    np.testing.assert_allclose(from_dicts.points, pose.points)
    assert features(from_message) == features(pose)


def test_pose_rejects_a_wrong_landmark_count():
    with pytest.raises(ValueError):
        Pose.from_normalised(np.zeros((17, 4)), 640, 480)
    with pytest.raises(ValueError):
        Pose.from_normalised([{"x": 0.5, "y": 0.5}] * 32, 640, 480)


def test_features_do_not_depend_on_the_frame_aspect_ratio():
    """The same scene in a 16:9 and a square frame gives the same features, because they are
    computed in pixels; on normalised coordinates the 16:9 ratios would be distorted."""
    wide = upright_pose(width=1280, height=720)
    square = upright_pose(width=720, height=720)
    a, b = features(wide), features(square)
    for name in ("head_drop_ears", "face_scale", "head_tilt", "nose_below_ears"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-9)

    # What the original's normalised arithmetic would have measured for the 16:9 frame.
    rows = wide.to_normalised()
    eye_spacing = np.linalg.norm(rows[lm.LEFT_EYE, :2] - rows[lm.RIGHT_EYE, :2])
    shoulder_width = np.linalg.norm(rows[lm.LEFT_SHOULDER, :2] - rows[lm.RIGHT_SHOULDER, :2])
    drop = rows[lm.LEFT_SHOULDER, 1] - rows[lm.LEFT_EAR, 1]
    assert drop / shoulder_width != pytest.approx(a.head_drop_ears, rel=0.1)
    assert eye_spacing / shoulder_width == pytest.approx(a.face_scale)  # horizontal only


def test_features_are_named_and_serialise_by_name():
    f = features(upright_pose())
    data = f.as_dict()
    assert set(data) == {field.name for field in dataclasses.fields(Features)}
    assert data["face_scale"] == f.face_scale
    assert Features(**data) == f


# -- the geometry of the features ------------------------------------------------------------


def test_upright_pose_features():
    f = features(upright_pose())
    assert f.head_reference == "ears"
    assert f.head_drop == f.head_drop_ears == pytest.approx(0.447, abs=0.005)
    assert f.head_drop_eyes > f.head_drop_ears  # eyes sit above the ears
    assert f.face_scale == pytest.approx(0.19, abs=0.01)
    assert f.ear_shoulder_angle == pytest.approx(0.0, abs=1e-9)
    assert f.head_tilt == pytest.approx(0.0, abs=1e-9)
    assert f.head_turn == pytest.approx(0.0, abs=1e-9)
    assert f.nose_below_ears > 0 and f.nose_below_eyes > f.nose_below_ears


def test_forward_head_lowers_head_drop_and_enlarges_the_face():
    upright = features(upright_pose())
    previous = upright
    for severity in (2.0, 4.0, 6.0):
        f = features(forward_head_pose(severity))
        assert f.head_drop < previous.head_drop
        assert f.face_scale > previous.face_scale
        previous = f
    assert previous.head_drop < 0.85 * upright.head_drop
    assert previous.face_scale > 1.1 * upright.face_scale


def test_leaning_the_whole_body_in_keeps_head_drop_and_barely_changes_face_scale():
    upright = features(upright_pose())
    leaning = features(scripted_pose(lean_cm=10.0))
    protruding = features(forward_head_pose(5.0))
    assert leaning.shoulder_width > 1.15 * upright.shoulder_width  # really came closer
    assert leaning.head_drop == pytest.approx(upright.head_drop, rel=0.01)
    lean_change = leaning.face_scale / upright.face_scale - 1
    protrusion_change = protruding.face_scale / upright.face_scale - 1
    assert lean_change < protrusion_change / 2


def test_looking_down_swings_the_nose_below_the_ear_line():
    upright = features(upright_pose())
    nod = features(looking_down_pose(pitch_deg=25.0, neck_drop_cm=0.0))
    assert nod.nose_below_ears > upright.nose_below_ears + 0.5
    assert nod.head_drop_ears == pytest.approx(upright.head_drop_ears, abs=1e-6)  # ears stay
    assert nod.head_drop_eyes < upright.head_drop_eyes  # eyes swing down
    assert nod.face_scale == pytest.approx(upright.face_scale, rel=0.02)


def test_eye_line_is_the_head_reference_when_ears_are_not_visible():
    pose = upright_pose(ear_visibility=(0.2, 0.3))
    f = features(pose)
    assert f.head_reference == "eyes"
    assert f.head_drop_ears is None and f.nose_below_ears is None
    assert f.head_drop == f.head_drop_eyes
    assert f.pitch == f.nose_below_eyes
    assert "head_drop_ears" not in f.as_dict()


def test_mirrored_stream_gives_the_same_features():
    for kwargs in ({}, {"roll_deg": 12.0}, {"yaw_deg": 15.0}, {"lateral_cm": 4.0}):
        plain, mirrored = (
            features(scripted_pose(**kwargs)),
            features(scripted_pose(mirror=True, **kwargs)),
        )
        for name, value in plain.as_dict().items():
            assert getattr(mirrored, name) == pytest.approx(value, abs=1e-9), (kwargs, name)


def test_roll_does_not_leak_into_turn_or_pitch():
    upright = features(upright_pose())
    rolled = features(scripted_pose(roll_deg=20.0))
    assert abs(rolled.head_tilt) == pytest.approx(20.0, abs=0.5)
    assert rolled.head_turn == pytest.approx(0.0, abs=0.01)
    assert rolled.nose_below_eyes == pytest.approx(upright.nose_below_eyes, abs=0.01)


def test_ear_shoulder_angle_follows_a_sideways_head():
    right = features(scripted_pose(lateral_cm=5.0))
    left = features(scripted_pose(lateral_cm=-5.0))
    expected = math.degrees(math.atan2(5.0, 17.0))  # 5 cm aside, 17 cm above the shoulders
    assert right.ear_shoulder_angle == pytest.approx(expected, abs=1.0)
    assert left.ear_shoulder_angle == pytest.approx(-expected, abs=1.0)


# -- atan2, not atan ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dx", "dy", "expected"),
    [
        (0.0, -1.0, 0.0),  # straight up
        (1.0, -1.0, 45.0),
        (1.0, 0.0, 90.0),
        (1.0, 1.0, 135.0),  # past 90°: atan(dx / -dy) would say -45°
        (-1.0, 1.0, -135.0),
        (0.0, 1.0, 180.0),
    ],
)
def test_angle_from_vertical_keeps_the_quadrant(dx, dy, expected):
    assert angle_from_vertical(dx, dy) == pytest.approx(expected)


def test_angle_from_horizontal_past_90_degrees():
    assert angle_from_horizontal(-1.0, 0.2) == pytest.approx(180 - math.degrees(math.atan(0.2)))
    assert angle_from_horizontal(-1.0, -0.2) == pytest.approx(-180 + math.degrees(math.atan(0.2)))


def test_an_upside_down_face_is_rejected_not_read_as_level():
    """Rolled by 170°, the eye line is nearly horizontal again; atan would call it a -10° tilt
    and accept the frame, atan2 sees 170°."""
    rejected = rejection(scripted_pose(roll_deg=170.0))
    assert rejected.reason == "too_tilted"
    assert "170" in rejected.detail
    assert rejection(scripted_pose(roll_deg=40.0)).reason == "too_tilted"
    assert isinstance(extract_features(scripted_pose(roll_deg=25.0)), Features)


# -- rejections -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index", [lm.NOSE, lm.LEFT_EYE, lm.RIGHT_EYE, lm.LEFT_SHOULDER, lm.RIGHT_SHOULDER]
)
def test_no_person_when_a_key_landmark_is_not_visible(index):
    rejected = rejection(with_visibility(upright_pose(), [index], 0.2))
    assert rejected.reason == "no_person"


def test_no_person_when_nothing_is_visible():
    assert rejection(with_visibility(upright_pose(), list(range(33)), 0.0)).reason == "no_person"


@pytest.mark.parametrize("yaw", [30.0, -30.0, 45.0, -60.0])
def test_head_turn_is_rejected(yaw):
    assert rejection(scripted_pose(yaw_deg=yaw)).reason == "head_turned"
    assert rejection(scripted_pose(yaw_deg=yaw, mirror=True)).reason == "head_turned"


def test_a_slight_turn_is_accepted_and_signed():
    left, right = features(scripted_pose(yaw_deg=12.0)), features(scripted_pose(yaw_deg=-12.0))
    assert 0.05 < left.head_turn < 0.25
    assert right.head_turn == pytest.approx(-left.head_turn, abs=1e-6)


def test_ear_visibility_asymmetry_corroborates_a_moderate_turn_only():
    turned = scripted_pose(yaw_deg=18.0)  # nose offset ~0.17: accepted on its own
    assert isinstance(extract_features(turned), Features)
    far_ear_hidden = with_visibility(turned, [lm.RIGHT_EAR], 0.1)
    assert rejection(far_ear_hidden).reason == "head_turned"
    # Hair over one ear of a frontal face is not a turn.
    frontal_one_ear = with_visibility(upright_pose(), [lm.RIGHT_EAR], 0.1)
    assert features(frontal_one_ear).head_reference == "eyes"


def test_implausible_shoulder_width_is_rejected():
    far_away = upright_pose(focal_px=80.0)  # shoulders 8 % of the frame: not a desk user
    assert rejection(far_away).reason == "implausible_shoulders"
    rules = FeatureRules(max_shoulder_fraction=0.5)
    assert rejection(upright_pose(), rules).reason == "implausible_shoulders"


def test_shoulders_above_the_eyes_are_rejected():
    pose = upright_pose()
    eye_y = pose.points[lm.LEFT_EYE, 1]
    points = pose.points.copy()
    points[[lm.LEFT_SHOULDER, lm.RIGHT_SHOULDER], 1] = eye_y - 30
    rejected = rejection(Pose(points, pose.visibility, pose.width, pose.height))
    assert rejected.reason == "implausible_shoulders"
    assert "above the eyes" in rejected.detail


def test_misplaced_shoulders_are_rejected_by_face_scale():
    pose = upright_pose()
    # A misdetected "shoulder" at the face: eye spacing becomes most of the shoulder width.
    squeezed = moved(pose, lm.LEFT_SHOULDER, dx=-(pose.points[lm.LEFT_SHOULDER, 0] - 370))
    squeezed = moved(squeezed, lm.RIGHT_SHOULDER, dx=270 - pose.points[lm.RIGHT_SHOULDER, 0])
    assert rejection(squeezed).reason == "implausible_shoulders"


def test_non_finite_coordinates_are_no_person():
    pose = moved(upright_pose(), lm.NOSE, dx=float("nan"))
    assert rejection(pose).reason == "no_person"
