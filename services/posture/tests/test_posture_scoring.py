"""Forward-head index and posture classes against a baseline calibrated on scripted poses."""

import numpy as np

from saekdam_posture.calibration import Baseline, Calibrator
from saekdam_posture.features import Features, extract_features
from saekdam_posture.scoring import classify, deviations, forward_head_index, full_scale_z
from saekdam_posture.synthetic import (
    forward_head_pose,
    looking_down_pose,
    scripted_pose,
    upright_pose,
)


def calibrated(seed: int = 0, **pose_kwargs) -> Baseline:
    rng = np.random.default_rng(seed)
    calibrator = Calibrator(started_at=0.0)
    for i in range(16):
        calibrator.add(
            float(i), extract_features(upright_pose(noise_px=1.0, rng=rng, **pose_kwargs))
        )
    return calibrator.finish(15.0)


BASELINE = calibrated()


def features(pose) -> Features:
    result = extract_features(pose)
    assert isinstance(result, Features), result
    return result


def index(pose, sensitivity: float = 0.5, baseline: Baseline = BASELINE) -> float:
    return forward_head_index(features(pose), baseline, sensitivity)


def test_upright_scores_zero():
    assert index(upright_pose()) == 0.0
    rng = np.random.default_rng(5)
    jittery = [index(upright_pose(noise_px=1.0, rng=rng)) for _ in range(200)]
    # Landmark jitter mostly stays in the dead zone, and never near the alert threshold (0.5)
    # even before smoothing.
    assert np.mean(jittery) < 0.03
    assert np.percentile(jittery, 90) == 0.0
    assert max(jittery) < 0.3


def test_index_grows_with_forward_head_and_saturates_at_one():
    values = [index(forward_head_pose(cm)) for cm in (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 8.0)]
    assert values == sorted(values)
    assert values[0] == 0.0
    assert 0.05 < values[2] < 0.5  # 2 cm: noticeable, not alarming
    assert values[4] > 0.5  # 4 cm: clearly forward
    assert values[-1] == 1.0


def test_both_components_count():
    drop_only = index(scripted_pose(drop_cm=3.0))
    protrusion_only = index(scripted_pose(forward_cm=5.0))
    both = index(scripted_pose(forward_cm=5.0, drop_cm=3.0))
    assert drop_only > 0 and protrusion_only > 0
    assert both > max(drop_only, protrusion_only)


def test_leaning_in_or_back_is_not_forward_head():
    assert index(scripted_pose(lean_cm=10.0)) < 0.05
    assert index(scripted_pose(lean_cm=-10.0)) == 0.0
    assert index(scripted_pose(drop_cm=-2.0)) == 0.0  # sitting taller


def test_sensitivity_scales_the_index():
    pose = forward_head_pose(3.0)
    relaxed, default, strict = (index(pose, s) for s in (0.0, 0.5, 1.0))
    assert relaxed < default < strict
    assert full_scale_z(0.0) > full_scale_z(1.0)
    assert full_scale_z(7.0) == full_scale_z(1.0)  # clamped


def test_same_reference_is_compared_when_ears_vanish():
    """A frame without ears is scored on the eye line against the eye-line baseline, so
    upright stays upright instead of jumping by the ear/eye height difference."""
    no_ears = upright_pose(ear_visibility=(0.1, 0.1))
    assert deviations(features(no_ears), BASELINE).reference == "eyes"
    assert index(no_ears) == 0.0
    assert index(forward_head_pose(5.0, ear_visibility=(0.1, 0.1))) > 0.8

    eyes_only_baseline = calibrated(ear_visibility=(0.1, 0.1))
    assert deviations(features(upright_pose()), eyes_only_baseline).reference == "eyes"
    assert index(upright_pose(), baseline=eyes_only_baseline) == 0.0


def test_index_is_relative_to_the_users_own_baseline():
    # Someone whose upright posture is a slightly forward head: that is their zero.
    habitual = calibrated(forward_cm=2.0, drop_cm=1.0)
    assert index(scripted_pose(forward_cm=2.0, drop_cm=1.0), baseline=habitual) == 0.0
    assert index(upright_pose(), baseline=habitual) == 0.0  # better than baseline is fine
    assert index(forward_head_pose(6.0), baseline=habitual) > 0.5


def test_classify_forward_head_and_good():
    fh = features(forward_head_pose(5.0))
    assert classify(fh, BASELINE, forward_head_index(fh, BASELINE)) == "forward_head"
    up = features(upright_pose())
    assert classify(up, BASELINE, forward_head_index(up, BASELINE)) == "good"


def test_classify_looking_down():
    nod = features(looking_down_pose(pitch_deg=30.0, neck_drop_cm=4.0))
    value = forward_head_index(nod, BASELINE)
    assert value > 0.5  # the head dropped...
    assert deviations(nod, BASELINE).pitch > 8  # ...with the nose swung down...
    assert classify(nod, BASELINE, value) == "looking_down"  # ...and the face not closer


def test_protruding_while_looking_down_counts_as_forward_head():
    both = features(scripted_pose(forward_cm=6.0, drop_cm=4.0, pitch_deg=25.0))
    assert classify(both, BASELINE, forward_head_index(both, BASELINE)) == "forward_head"


def test_a_nod_without_neck_flexion_is_not_a_posture_problem():
    glance = features(looking_down_pose(pitch_deg=25.0, neck_drop_cm=0.0))
    value = forward_head_index(glance, BASELINE)
    assert value == 0.0
    assert classify(glance, BASELINE, value) == "good"
