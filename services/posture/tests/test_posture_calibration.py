"""Calibration (robust baseline) and One-Euro smoothing on scripted sequences."""

import json
import math

import numpy as np
import pytest

from saekdam_posture.calibration import (
    Baseline,
    CalibrationConfig,
    CalibrationFailed,
    Calibrator,
    FeatureStats,
    robust_stats,
)
from saekdam_posture.features import Features, Rejected, extract_features
from saekdam_posture.smoothing import OneEuroFilter
from saekdam_posture.synthetic import forward_head_pose, scripted_pose, upright_pose

UPRIGHT = extract_features(upright_pose())


def frame(pose) -> Features | Rejected:
    return extract_features(pose)


def calibrate(frames, fps: float = 1.0, **kwargs) -> Baseline:
    calibrator = Calibrator(started_at=0.0, **kwargs)
    t = 0.0
    for t, f in ((i / fps, f) for i, f in enumerate(frames)):
        calibrator.add(t, f)
    return calibrator.finish(t)


def noisy_upright(n: int, seed: int = 0, noise_px: float = 1.0) -> list[Features | Rejected]:
    rng = np.random.default_rng(seed)
    return [frame(upright_pose(noise_px=noise_px, rng=rng)) for _ in range(n)]


# -- calibration ----------------------------------------------------------------------------


def test_baseline_is_the_median_of_the_upright_frames():
    baseline = calibrate(noisy_upright(16))
    assert baseline.samples == 16
    assert baseline.duration_s == 15.0
    for name in ("head_drop_ears", "head_drop_eyes", "face_scale", "nose_below_ears"):
        stats = baseline[name]
        assert stats.median == pytest.approx(getattr(UPRIGHT, name), rel=0.02)
        assert stats.spread > 0
        assert stats.n == 16


def test_calibration_is_robust_to_a_few_outliers():
    frames = noisy_upright(16)
    clean = calibrate(frames)
    # A sneeze, a glance down and a lean in: a fifth of the frames far off.
    outliers = [
        frame(forward_head_pose(8.0)),
        frame(scripted_pose(pitch_deg=35.0, drop_cm=5.0)),
        frame(scripted_pose(lean_cm=15.0, forward_cm=6.0)),
        frame(forward_head_pose(10.0)),
    ]
    dirty = calibrate(frames + outliers)
    for name in ("head_drop_ears", "face_scale", "nose_below_ears"):
        assert dirty[name].median == pytest.approx(clean[name].median, rel=0.01)
        assert dirty[name].spread < 1.5 * clean[name].spread

    mean_based = np.mean([f.head_drop_ears for f in frames + outliers])
    assert abs(mean_based - clean["head_drop_ears"].median) > 3 * abs(
        dirty["head_drop_ears"].median - clean["head_drop_ears"].median
    )


def test_spread_has_a_floor_for_a_perfectly_still_user():
    baseline = calibrate([UPRIGHT] * 12)  # no jitter at all: MAD is 0
    assert baseline["head_drop_ears"].spread == pytest.approx(0.03 * UPRIGHT.head_drop_ears)
    assert baseline["face_scale"].spread == pytest.approx(0.02 * UPRIGHT.face_scale)
    assert baseline["head_tilt"].spread == 1.0


def test_robust_stats_estimates_sigma_of_normal_data():
    rng = np.random.default_rng(3)
    stats, raw = robust_stats("head_drop_ears", rng.normal(0.45, 0.02, 4000))
    assert stats.median == pytest.approx(0.45, abs=0.002)
    assert raw == pytest.approx(0.02, rel=0.08)
    assert stats.spread == raw  # above the floor


def test_calibration_fails_with_too_few_usable_frames():
    frames = noisy_upright(6) + [frame(scripted_pose(yaw_deg=45.0))] * 10
    with pytest.raises(CalibrationFailed) as failure:
        calibrate(frames)
    assert failure.value.reason == "too_few_frames"
    assert "head_turned" in failure.value.detail


def test_calibration_fails_when_the_user_keeps_moving():
    rng = np.random.default_rng(1)
    frames = [frame(forward_head_pose(float(rng.uniform(-3, 7)))) for _ in range(20)]
    with pytest.raises(CalibrationFailed) as failure:
        calibrate(frames)
    assert failure.value.reason == "too_much_movement"


def test_calibration_fails_when_finished_too_early():
    calibrator = Calibrator(started_at=0.0)
    for i in range(30):
        calibrator.add(i / 10, UPRIGHT)  # 10 fps for 3 s: enough frames, too short
    with pytest.raises(CalibrationFailed) as failure:
        calibrator.finish(3.0)
    assert failure.value.reason == "too_short"


def test_ears_seen_too_rarely_are_left_out_of_the_baseline():
    without_ears = frame(upright_pose(ear_visibility=(0.1, 0.1)))
    baseline = calibrate([UPRIGHT] * 4 + [without_ears] * 12)
    assert baseline.get("head_drop_ears") is None
    assert baseline["head_drop_eyes"].n == 16


def test_progress_reports_time_frames_and_readiness():
    calibrator = Calibrator(duration_s=15.0, min_samples=10, started_at=100.0)
    calibrator.add(100.0, UPRIGHT)
    calibrator.add(101.0, Rejected("no_person", "not visible: nose"))
    progress = calibrator.progress(107.5)
    assert progress["fraction"] == 0.5
    assert progress["samples"] == 1
    assert progress["rejected"] == {"no_person": 1}
    assert progress["ready"] is False
    for i in range(2, 16):
        calibrator.add(100.0 + i, UPRIGHT)
    assert calibrator.progress(115.0)["ready"] is True
    assert calibrator.progress(130.0)["fraction"] == 1.0


def test_baseline_round_trips_through_a_plain_dict():
    baseline = calibrate(noisy_upright(15))
    data = json.loads(json.dumps(baseline.to_dict()))
    assert Baseline.from_dict(data) == baseline


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d.update(version=99),
        lambda d: d["features"].pop("face_scale"),
        lambda d: d["features"].update(bogus={"median": 1, "spread": 1, "n": 1}),
        lambda d: d["features"]["face_scale"].update(spread=0),
        lambda d: d["features"]["face_scale"].update(median=math.nan),
        lambda d: d.pop("features"),
    ],
)
def test_baseline_from_dict_rejects_what_it_did_not_write(corrupt):
    data = calibrate(noisy_upright(15)).to_dict()
    corrupt(data)
    with pytest.raises(ValueError):
        Baseline.from_dict(data)


def test_feature_stats_z_score():
    assert FeatureStats(median=0.4, spread=0.02, n=10).z(0.36) == pytest.approx(-2.0)


# -- One-Euro smoothing ---------------------------------------------------------------------


def settle_time(fps: float, step: float = 0.8, level: float = 0.9, **params) -> float:
    """Seconds after a step from 0 to `step` until the filter passes `level` of it."""
    smoother = OneEuroFilter(**params)
    for i in range(int(5 * fps)):
        smoother(i / fps, 0.0)
    start = int(5 * fps) / fps
    for i in range(int(60 * fps)):
        t = start + i / fps
        if smoother(t, step) >= level * step:
            return t - start
    raise AssertionError("never settled")


def test_a_real_change_passes_within_a_few_seconds():
    # Far inside the 10 s persistence time, at the slowest and the fastest frame rate.
    assert 1.0 <= settle_time(1.0) <= 3.0  # not in one frame: single frames are damped
    assert 0.2 <= settle_time(10.0) <= 3.0


def test_the_time_constant_is_in_seconds_not_frames():
    # Without the speed term the filter is a low-pass at min_cutoff: the same lag in seconds
    # (up to the 1 s granularity) at 1 and 10 fps, where a per-frame EMA would differ 10×.
    at_1 = settle_time(1.0, beta=0.0)
    at_10 = settle_time(10.0, beta=0.0)
    assert 2.0 <= at_10 <= at_1 <= 4.5
    assert at_1 - at_10 <= 1.5


def test_jitter_is_damped():
    rng = np.random.default_rng(7)
    smoother = OneEuroFilter()
    noisy = 0.2 + rng.normal(0, 0.05, 600)
    smoothed = np.array([smoother(i / 10, x) for i, x in enumerate(noisy)])
    assert np.std(smoothed[50:]) < np.std(noisy[50:]) / 3
    assert np.mean(smoothed[50:]) == pytest.approx(0.2, abs=0.01)


def test_irregular_frame_rate_follows_the_signal_without_overshoot():
    rng = np.random.default_rng(11)
    smoother = OneEuroFilter()
    t, out = 0.0, []
    for _ in range(200):
        t += float(rng.uniform(0.1, 1.0))  # 1–10 fps, jittery
        target = 0.0 if t < 40 else 0.7
        out.append((t, smoother(t, target)))
    values = np.array([v for _, v in out])
    assert values.max() <= 0.7 + 1e-9 and values.min() >= 0.0
    assert out[-1][1] == pytest.approx(0.7, abs=0.01)


def test_repeated_or_old_timestamps_change_nothing():
    smoother = OneEuroFilter()
    smoother(0.0, 0.0)
    value = smoother(1.0, 1.0)
    assert smoother(1.0, 5.0) == value
    assert smoother(0.5, -5.0) == value
    smoother.reset()
    assert smoother.value is None
    assert smoother(2.0, 0.3) == 0.3


def test_progress_expires_after_twice_the_duration_without_enough_frames():
    calibrator = Calibrator(duration_s=15.0, min_samples=10, started_at=0.0)
    for i in range(40):  # 1 fps: 5 usable frames, the rest with the head turned
        calibrator.add(float(i), UPRIGHT if i < 5 else Rejected("head_turned", "turned"))
        progress = calibrator.progress(float(i))
        assert progress["ready"] is False
        assert progress["expired"] is (i >= 30)
    fresh = Calibrator(duration_s=15.0, started_at=0.0)
    assert fresh.expired(29.9) is False and fresh.expired(30.0) is True
    with pytest.raises(CalibrationFailed) as failure:
        calibrator.finish(39.0)
    assert failure.value.reason == "too_few_frames"
    assert "5 usable frames" in failure.value.detail


def test_a_ready_calibration_never_expires_and_the_limit_is_configurable():
    calibrator = Calibrator(duration_s=15.0, min_samples=10, started_at=0.0)
    for i in range(12):
        calibrator.add(float(i), UPRIGHT)
    assert calibrator.progress(100.0) | {"rejected": {}} == calibrator.progress(100.0)
    assert calibrator.progress(100.0)["ready"] is True
    assert calibrator.progress(100.0)["expired"] is False

    config = CalibrationConfig(duration_s=10.0, expires_after_s=12.0)
    quick = Calibrator.from_config(config, started_at=0.0)
    assert quick.progress(11.9)["expired"] is False
    assert quick.progress(12.0)["expired"] is True
    with pytest.raises(ValueError):
        Calibrator(duration_s=15.0, expires_after_s=10.0)  # would expire before it could end


def test_progress_does_not_run_backwards_on_an_older_timestamp():
    calibrator = Calibrator(started_at=0.0)
    calibrator.add(5.0, UPRIGHT)
    assert calibrator.progress(4.98)["elapsed_s"] == 5.0
    assert calibrator.elapsed(4.98) == 5.0
