"""A whole session through PostureMonitor on scripted landmark sequences."""

import json

import numpy as np
import pytest

from saekdam_contracts.posture import LandmarksMessage
from saekdam_posture.calibration import Baseline, CalibrationFailed
from saekdam_posture.monitor import (
    STAT_BUCKETS,
    MonitorConfig,
    Observation,
    PostureMonitor,
    _SessionStats,
)
from saekdam_posture.policy import Alert
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


# -- statistics are read without side effects (C3) ---------------------------------------------


def stalled_session(interrupt=None) -> tuple[Session, float]:
    """10 s of good posture, then the stream goes silent; `interrupt(monitor, last)` runs
    during the silence. Returns the session and the time of its last frame."""
    session = calibrated_session()
    session.run(10)
    last = session.t - session.dt
    if interrupt is not None:
        interrupt(session.monitor, last)
    return session, last


def test_periodic_stats_during_a_silence_do_not_change_the_totals():
    def save_every_minute(monitor, last):
        for minute in range(1, 11):
            monitor.stats(last + 60.0 * minute)

    once, last = stalled_session()
    saved, _ = stalled_session(save_every_minute)
    end = last + 600.0
    reference, stats = once.monitor.stats(end), saved.monitor.stats(end)
    assert stats == reference
    # 5 s of the silence are still good posture; the rest of the 10 minutes is away.
    assert stats["time_s"]["away"] == pytest.approx(595.0)
    assert stats["time_s"]["good"] == pytest.approx(10.0 - 0.5 + 5.0)
    assert sum(stats["time_s"].values()) == pytest.approx(stats["elapsed_s"], abs=1e-6)
    assert stats["elapsed_s"] == pytest.approx(end)
    # Reading is idempotent and leaves the session where the last event left it.
    assert saved.monitor.stats(end) == stats
    assert saved.monitor.stats()["ended_at"] == pytest.approx(last)
    assert saved.monitor.stats()["elapsed_s"] == pytest.approx(last)


@pytest.mark.parametrize(
    "interrupt",
    [
        lambda monitor, last: monitor.stats(last + 3.0),  # a periodic save
        lambda monitor, last: monitor.start_calibration(last + 3.0),  # a control message
    ],
    ids=["save", "calibration_start"],
)
def test_a_gap_is_booked_the_same_whatever_happens_inside_it(interrupt):
    once, last = stalled_session()
    interrupted, _ = stalled_session(interrupt)
    for session in (once, interrupted):
        session.monitor.observe(last + 7.0, None)  # frames resume 7 s after the last one
    reference = once.monitor.stats(last + 7.0)
    stats = interrupted.monitor.stats(last + 7.0)
    assert stats["time_s"]["good"] == pytest.approx(reference["time_s"]["good"])
    assert stats["time_s"]["good"] == pytest.approx(10.0 - 0.5 + 5.0)
    assert stats["time_s"]["away"] == pytest.approx(2.0)
    assert sum(stats["time_s"].values()) == pytest.approx(stats["elapsed_s"], abs=1e-6)


# -- bounded memory for long sessions (B4) -------------------------------------------------------


def _bounded(stats_object: _SessionStats, cap: int) -> None:
    for name, value in vars(stats_object).items():
        if hasattr(value, "__len__") and not isinstance(value, str):
            assert len(value) <= cap, f"_SessionStats.{name} grew to {len(value)}"


def test_ten_hours_at_10_fps_keep_the_stats_bounded_and_the_means_exact():
    fps, hours, bucket_s, cap = 10, 10, 10.0, 360
    stats = _SessionStats(bucket_s, max_gap_s=5.0, max_points=cap)
    n = fps * 3600 * hours
    t = np.arange(n) / fps
    scores = (np.arange(n) % 7) / 10 + (t // 3600) / 100  # a different mean every hour
    alert = Alert(1, "forward_head", "sit back", 0.0, 10.0)
    for i in range(n):
        stats.book(float(t[i]), "good", float(scores[i]))
        stats.frame(None)
        if i % 100 == 0:  # an alert every 10 s: 3600 of them
            stats.alert(alert)
        if i % 36000 == 0:
            _bounded(stats, cap)
    summary = stats.summary(float(t[-1]) + 0.1)

    _bounded(stats, cap)
    assert summary["alerts"] == 3600 and summary["alerts_by_level"] == {"1": 3600}
    assert summary["frames"] == n
    assert summary["time_s"]["good"] == pytest.approx(hours * 3600.0)
    # 10 s buckets fill 360 points in an hour; then the width doubles: 20, 40, 80, 160 s.
    width = summary["timeline_bucket_s"]
    assert width == 160.0
    timeline = summary["timeline"]
    assert len(timeline) <= cap
    assert len(timeline) == int(np.ceil(hours * 3600 / width))
    assert [p["t"] for p in timeline] == [i * width for i in range(len(timeline))]
    # Each point is the mean of every score in its window, not a mean of means.
    index = (t // width).astype(int)
    expected = np.bincount(index, weights=scores) / np.bincount(index)
    assert [p["score"] for p in timeline] == pytest.approx(expected, abs=1e-4)
    assert summary["mean_score"] == pytest.approx(scores.mean(), abs=1e-4)


def test_a_long_monitored_session_keeps_the_timeline_bounded():
    config = MonitorConfig(timeline_max_points=60)
    session = calibrated_session(monitor=PostureMonitor(config=config), fps=1.0)
    start = session.t
    poses = [upright_pose(), forward_head_pose(6.0)]
    scored: list[tuple[float, float]] = []
    for minute in range(4 * 60):  # 4 hours at 1 fps, alternating every 10 minutes
        pose = poses[(minute // 10) % 2]
        for _ in range(60):
            observation = session.monitor.observe(session.t, pose)
            if observation.score is not None:
                scored.append((session.t, observation.score))
            if observation.alert is not None:
                session.observations.append(observation)
            session.t += 1.0
    stats = session.monitor.stats()

    _bounded(session.monitor._stats, 60)
    timeline = stats["timeline"]
    assert len(timeline) <= 60
    width = stats["timeline_bucket_s"]
    assert width == 320.0  # 10 → 20 → … → 320 s: 60 points cover 5 h 20 min
    assert stats["alerts"] == len(session.alerts) > 10
    times, scores = np.array(scored).T
    index = (times // width).astype(int)  # the session started at t = 0
    filled = np.unique(index)
    expected = (np.bincount(index, weights=scores) / np.bincount(index).clip(1))[filled]
    assert [p["t"] for p in timeline] == [i * width for i in filled]
    assert [p["score"] for p in timeline] == pytest.approx(expected, abs=1e-4)
    assert stats["mean_score"] == pytest.approx(scores.mean(), abs=1e-4)
    assert sum(stats["time_s"].values()) == pytest.approx(stats["elapsed_s"], abs=1e-3)
    assert stats["elapsed_s"] == pytest.approx(session.t - 1.0)
    assert stats["time_s"]["uncalibrated"] == pytest.approx(start)


# -- a calibration without enough usable frames ends (C5) ----------------------------------------


def test_a_calibration_without_enough_usable_frames_expires():
    session = calibrated_session()
    old = session.monitor.baseline
    start = session.t
    session.monitor.start_calibration(start)
    session.run(35, scripted_pose, yaw_deg=45.0)  # head turned: no usable frame
    progress = [o.calibration for o in session.observations[-70:]]
    assert not any(p["ready"] for p in progress)
    expired = [p["expired"] for p in progress]
    first = expired.index(True)
    assert progress[first]["elapsed_s"] == pytest.approx(30.0)  # 2 × the 15 s duration
    assert not any(expired[:first]) and all(expired[first:])
    with pytest.raises(CalibrationFailed) as failure:
        session.monitor.finish_calibration(session.t)
    assert failure.value.reason == "too_few_frames"
    assert "head_turned" in failure.value.detail
    assert session.monitor.baseline is old and not session.monitor.calibrating
    assert session.run(2).state == "good"


def test_calibration_progress_can_be_polled_without_frames():
    monitor = PostureMonitor()
    assert monitor.calibration_progress(0.0) is None
    monitor.start_calibration(10.0)
    assert monitor.calibration_progress(20.0)["expired"] is False
    progress = monitor.calibration_progress(40.0)  # the client sent nothing for 30 s
    assert progress["expired"] is True and progress["ready"] is False
    assert progress["samples"] == 0
    with pytest.raises(CalibrationFailed) as failure:
        monitor.finish_calibration(40.0)
    assert failure.value.reason == "too_few_frames"


def test_a_calibration_with_enough_frames_is_ready_not_expired():
    session = Session()
    session.monitor.start_calibration(0.0)
    last = session.run(40)  # nobody finished it: ready all along, never expired
    assert last.calibration["ready"] is True and last.calibration["expired"] is False


# -- slightly out-of-order timestamps (C7) -------------------------------------------------------


def test_slightly_older_timestamps_are_clamped_to_the_last_one():
    rng = np.random.default_rng(5)
    monitor = PostureMonitor()
    monitor.start_calibration(0.0)
    t, seen, progress = 0.0, [], []
    for i in range(200):  # frames at ~5 fps, every third 20 ms older than the one before
        t += 0.2
        frame_t = t - 0.2 - 0.02 if i % 3 == 2 else t
        if i == 80:
            baseline = monitor.finish_calibration(frame_t)
            assert baseline.samples > 10
        pose = upright_pose(noise_px=1.0, rng=rng) if i < 140 else forward_head_pose(6.0)
        observation = monitor.observe(frame_t, pose)
        seen.append(frame_t)
        if observation.calibration is not None:
            progress.append(observation.calibration["elapsed_s"])
        if i == 150:
            monitor.pause(t)
            monitor.resume(t - 0.003)  # a control message overtaken by its frame
    assert progress == sorted(progress)  # calibration time never runs backwards
    stats = monitor.stats()
    assert all(seconds >= 0 for seconds in stats["time_s"].values())
    assert sum(stats["time_s"].values()) == pytest.approx(stats["elapsed_s"], abs=1e-6)
    assert stats["ended_at"] == pytest.approx(max(seen))
    times = [p["t"] for p in stats["timeline"]]
    assert times == sorted(times)
    assert observation.state == "forward_head"
    assert monitor.smoother._t == pytest.approx(max(seen))
