"""A whole session through PostureMonitor on scripted landmark sequences."""

import json

import numpy as np
import pytest

from saekdam_contracts.posture import LandmarksMessage
from saekdam_posture.calibration import Baseline, CalibrationFailed
from saekdam_posture.monitor import STAT_BUCKETS, Observation, PostureMonitor
from saekdam_posture.pose import Pose
from saekdam_posture.synthetic import (
    forward_head_pose,
    landmarks_payload,
    looking_down_pose,
    scripted_pose,
    upright_pose,
)


class Session:
    """Drives a monitor at `fps` and keeps every observation."""

    def __init__(self, monitor: PostureMonitor | None = None, fps: float = 2.0, seed: int = 42):
        self.monitor = monitor or PostureMonitor()
        self.dt = 1.0 / fps
        self.t = 0.0
        self.rng = np.random.default_rng(seed)  # 1 px of landmark jitter, reproducibly
        self.observations: list[Observation] = []

    def run(self, seconds: float, make=upright_pose, *args, **kwargs) -> Observation:
        for _ in range(round(seconds / self.dt)):
            pose = None if make is None else make(*args, noise_px=1.0, rng=self.rng, **kwargs)
            self.observations.append(self.monitor.observe(self.t, pose))
            self.t += self.dt
        return self.observations[-1]

    def calibrate(self, seconds: float = 15.0) -> Baseline:
        self.monitor.start_calibration(self.t)
        self.run(seconds)
        return self.monitor.finish_calibration(self.t)

    @property
    def alerts(self):
        return [o.alert for o in self.observations if o.alert is not None]


def calibrated_session(**kwargs) -> Session:
    session = Session(**kwargs)
    session.calibrate()
    return session


def test_uncalibrated_until_a_baseline_exists():
    session = Session()
    last = session.run(5)
    assert last.state == "uncalibrated"
    assert last.score is None and last.alert is None
    assert last.features is not None and "face_scale" in last.features
    assert last.calibration is None


def test_calibration_reports_progress_then_scores_upright_as_good():
    session = Session()
    session.monitor.start_calibration(0.0)
    halfway = session.run(7.5)
    assert halfway.state == "uncalibrated"
    assert halfway.calibration["fraction"] == pytest.approx(7.0 / 15.0, abs=0.01)
    assert halfway.calibration["ready"] is False
    done = session.run(8)
    assert done.calibration["ready"] is True
    baseline = session.monitor.finish_calibration(session.t)
    assert baseline.samples == 31

    upright = session.run(10)
    assert upright.state == "good"
    assert upright.score < 0.1
    assert upright.calibration is None


def test_forward_head_is_detected_and_alerted_after_persistence():
    session = calibrated_session()
    session.run(10)
    start = session.t
    session.run(30, forward_head_pose, 5.0)
    entered = next(o for o in session.observations[-60:] if o.state == "forward_head")
    assert entered.score >= 0.5
    alerts = session.alerts
    assert len(alerts) == 1
    assert alerts[0].level == 1 and alerts[0].state == "forward_head"
    # Enters within a couple of seconds (smoothing), alerts persistence_s later.
    assert start + 10.0 <= alerts[0].t <= start + 13.0
    assert session.observations[-1].state == "forward_head"

    session.run(15)  # sits back up
    assert session.observations[-1].state == "good"
    assert session.monitor.stats()["alerts"] == 1


def test_a_mild_lapse_and_leaning_in_do_not_alert():
    session = calibrated_session()
    session.run(30, forward_head_pose, 1.5)
    session.run(30, scripted_pose, lean_cm=10.0)
    assert {o.state for o in session.observations[-120:]} == {"good"}
    assert session.alerts == []


def test_looking_down_is_its_own_state_and_message():
    session = calibrated_session()
    session.run(20, looking_down_pose, 30.0, 4.0)
    assert session.observations[-1].state == "looking_down"
    assert len(session.alerts) == 1
    assert "looking down" in session.alerts[0].message


def test_head_turned_frames_are_unscored_and_do_not_count_as_bad():
    session = calibrated_session()
    session.run(6, forward_head_pose, 5.0)
    assert session.observations[-1].state == "forward_head"
    turned = session.run(30, scripted_pose, yaw_deg=45.0, forward_cm=5.0, drop_cm=3.0)
    assert turned.reason == "head_turned"
    assert turned.state == "forward_head"  # held
    assert turned.score is None and turned.features is None
    assert session.alerts == []
    stats = session.monitor.stats()
    assert stats["time_s"]["unscored"] == pytest.approx(30.0, abs=0.6)
    assert stats["rejected"]["head_turned"] == 60


def test_no_person_is_away_and_a_long_absence_resets():
    session = calibrated_session()
    session.run(15, forward_head_pose, 5.0)
    assert len(session.alerts) == 1
    gone = session.run(40, None)
    assert gone.state == "away" and gone.reason == "no_person" and gone.score is None
    hidden = scripted_pose(visibility=0.1)
    assert session.monitor.observe(session.t, hidden).state == "away"
    session.t += 0.5
    back = session.run(2)
    assert back.state == "good"
    assert session.monitor.policy.level == 0


def test_pause_and_resume():
    session = calibrated_session()
    session.run(4, forward_head_pose, 5.0)
    session.monitor.pause(session.t)
    paused = session.run(60, forward_head_pose, 5.0)
    assert paused.state == "paused"
    assert paused.features is None and paused.score is None
    assert session.alerts == []
    session.t += 120  # the client stops sending while paused
    session.monitor.resume(session.t)
    session.run(5)
    assert session.observations[-1].state == "good"
    stats = session.monitor.stats()
    assert stats["time_s"]["paused"] == pytest.approx(180.0, abs=0.6)
    assert stats["time_s"]["away"] == 0.0  # a paused silence is not an absence


def test_stats_account_for_every_second():
    session = Session(fps=2.0)
    session.run(5)  # uncalibrated
    session.calibrate()  # uncalibrated
    session.run(30)  # good
    session.run(40, forward_head_pose, 5.0)  # bad, one alert
    session.run(10, scripted_pose, yaw_deg=45.0)  # unscored
    session.run(20, None)  # away
    session.monitor.pause(session.t)
    session.t += 30
    session.monitor.resume(session.t)
    session.run(25)  # good again
    end = session.t - session.dt + 20  # the stream stalls: 5 s still good, 15 s away
    stats = session.monitor.stats(end)

    assert stats["elapsed_s"] == pytest.approx(end)
    assert sum(stats["time_s"].values()) == pytest.approx(stats["elapsed_s"], abs=1e-6)
    assert set(stats["time_s"]) == set(STAT_BUCKETS)
    time_s = stats["time_s"]
    assert time_s["uncalibrated"] == pytest.approx(20.0)
    assert time_s["unscored"] == pytest.approx(10.0)
    assert time_s["paused"] == pytest.approx(30.0)
    assert time_s["away"] == pytest.approx(20.0 + 15.0)
    assert time_s["good"] + time_s["forward_head"] == pytest.approx(30 + 40 + 24.5 + 5)
    assert 35.0 <= time_s["forward_head"] <= 40.0  # entered after the smoothing delay
    assert stats["alerts"] == 1 and stats["alerts_by_level"] == {"1": 1}
    assert stats["longest_good_streak_s"] == pytest.approx(30.0, abs=3.0)
    assert stats["frames"] == round((5 + 15 + 30 + 40 + 10 + 20 + 25) * 2)
    assert stats["rejected"] == {"head_turned": 20, "no_person": 40}


def test_longest_good_streak_survives_a_glance_away():
    session = calibrated_session()
    session.run(20)
    session.run(3, scripted_pose, yaw_deg=45.0)
    session.run(20)
    session.run(10, forward_head_pose, 6.0)
    session.run(12)
    assert session.monitor.stats()["longest_good_streak_s"] == pytest.approx(40.5, abs=1.5)


def test_score_timeline_is_low_resolution_means():
    session = calibrated_session()  # t = 0..15, no scores
    session.run(25)
    session.run(20, forward_head_pose, 6.0)
    stats = session.monitor.stats()
    timeline = stats["timeline"]
    assert [point["t"] for point in timeline] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert timeline[1]["score"] < 0.1  # upright
    assert timeline[-1]["score"] > 0.8  # forward head
    assert all(0.0 <= point["score"] <= 1.0 for point in timeline)
    assert 0 < stats["mean_score"] < 1


def test_failed_calibration_keeps_the_previous_baseline():
    session = calibrated_session()
    old = session.monitor.baseline
    session.monitor.start_calibration(session.t)
    last = session.run(15, scripted_pose, yaw_deg=45.0)
    assert last.state == "uncalibrated" and last.calibration["rejected"] == {"head_turned": 30}
    with pytest.raises(CalibrationFailed) as failure:
        session.monitor.finish_calibration(session.t)
    assert failure.value.reason == "too_few_frames"
    assert session.monitor.baseline is old
    assert not session.monitor.calibrating
    assert session.run(2).state == "good"

    session.monitor.start_calibration(session.t)
    session.run(3)
    session.monitor.cancel_calibration()
    assert session.monitor.baseline is old
    with pytest.raises(RuntimeError):
        session.monitor.finish_calibration(session.t)


def test_no_baseline_after_a_failed_first_calibration():
    session = Session()
    session.monitor.start_calibration(0.0)
    session.run(4)
    with pytest.raises(CalibrationFailed) as failure:
        session.monitor.finish_calibration(session.t)
    assert failure.value.reason == "too_short"
    assert session.run(1).state == "uncalibrated"


def test_a_stored_baseline_scores_like_the_fresh_one():
    first = calibrated_session()
    stored = json.loads(json.dumps(first.monitor.baseline.to_dict()))
    second = Session(PostureMonitor(Baseline.from_dict(stored)))
    pose = forward_head_pose(3.0)
    a = first.monitor.observe(100.0, pose)
    b = second.monitor.observe(100.0, pose)
    assert a.raw_score == pytest.approx(b.raw_score)


def test_sensitivity_changes_the_score():
    session = calibrated_session()
    pose = forward_head_pose(3.0)
    default = session.monitor.observe(session.t, pose).raw_score
    session.monitor.set_sensitivity(1.0)
    strict = session.monitor.observe(session.t + 1, pose).raw_score
    session.monitor.set_sensitivity(0.0)
    relaxed = session.monitor.observe(session.t + 2, pose).raw_score
    assert relaxed < default < strict
    with pytest.raises(ValueError):
        session.monitor.set_sensitivity(1.5)


def test_landmark_messages_from_a_16_9_client():
    session = calibrated_session()
    for i in range(30):
        pose = forward_head_pose(5.0, width=1280, height=720, focal_px=900.0)
        message = LandmarksMessage.model_validate(landmarks_payload(pose, frame_id=i))
        observation = session.monitor.observe(session.t, Pose.from_message(message))
        session.t += 0.5
    assert observation.state == "forward_head"


def test_observations_serialise_to_json():
    session = calibrated_session()
    session.run(25, forward_head_pose, 5.0)
    with_alert = next(o for o in session.observations if o.alert is not None)
    data = json.loads(json.dumps(with_alert.as_dict()))
    assert data["state"] == "forward_head"
    assert data["alert"]["level"] == 1 and data["alert"]["message"]
    assert set(data) == {
        "state",
        "score",
        "raw_score",
        "features",
        "reason",
        "alert",
        "calibration",
    }
    json.dumps(session.monitor.stats())
