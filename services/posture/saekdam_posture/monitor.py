"""One websocket session's posture coach: features → index → smoothing → policy, plus stats.

Per frame:
    paused                    → "paused" (nothing is computed)
    calibrating / no baseline → "uncalibrated" (usable frames feed the calibrator)
    no person                 → "away"
    other rejection           → the held state, timers frozen (e.g. head turned)
    usable                    → raw index, One-Euro smoothed index, class, alert policy

Statistics book each interval between events to the state reported at its start, so the
per-state times sum to the session's elapsed time. Rejected frames with a person present are
booked as "unscored" (shown to the user as the held state, but neither good nor bad time). A
gap longer than `max_gap_s` without frames is booked as "away" after its first `max_gap_s`.
Only events (frames, pause, resume, calibration) advance the statistics; `stats(t)` adds the
time since the last event to a copy, so reading them periodically changes nothing.

Memory per session is bounded: the score timeline keeps a running sum and count per bucket,
and when it would exceed `timeline_max_points` buckets, adjacent buckets merge (the bucket
width doubles). Alerts are counted per level, not kept.

Timestamps are clamped to be non-decreasing: a frame stamped a few ms before the previous
event (frames and landmark messages interleave) counts as simultaneous with it.
"""

import copy
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from saekdam_posture.calibration import Baseline, CalibrationConfig, Calibrator
from saekdam_posture.features import FeatureRules, Rejected, extract_features
from saekdam_posture.policy import Alert, AlertPolicy, PolicyConfig, PostureState
from saekdam_posture.pose import Pose
from saekdam_posture.scoring import ScoringConfig, classify, forward_head_index
from saekdam_posture.smoothing import OneEuroFilter, SmoothingConfig

UNSCORED = "unscored"
STAT_BUCKETS = ("good", "forward_head", "looking_down", "away", "paused", "uncalibrated", UNSCORED)


@dataclass(frozen=True)
class MonitorConfig:
    features: FeatureRules = field(default_factory=FeatureRules)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sensitivity: float = 0.5  # 0 relaxed … 1 strict
    timeline_bucket_s: float = 10.0  # one mean score per bucket in stats(), at first
    timeline_max_points: int = 360  # beyond that, buckets merge pairwise (width doubles)
    max_gap_s: float = 5.0  # longer silences in the stream count as away

    def __post_init__(self) -> None:
        if self.timeline_bucket_s <= 0 or self.timeline_max_points < 1:
            raise ValueError("need timeline_bucket_s > 0 and timeline_max_points >= 1")


@dataclass(frozen=True)
class Observation:
    state: PostureState
    score: float | None  # smoothed forward-head index, 0 good … 1 severe
    raw_score: float | None  # this frame's index before smoothing
    features: dict[str, float] | None
    reason: str | None  # rejection code when the frame could not be scored
    alert: Alert | None
    calibration: dict[str, Any] | None  # progress while calibrating

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alert"] = None if self.alert is None else self.alert.as_dict()
        return data


class PostureMonitor:
    def __init__(self, baseline: Baseline | None = None, config: MonitorConfig | None = None):
        self.config = config or MonitorConfig()
        self.baseline = baseline
        self.sensitivity = self.config.sensitivity
        self.policy = AlertPolicy(self.config.policy)
        self.smoother = OneEuroFilter.from_config(self.config.smoothing)
        self.calibrator: Calibrator | None = None
        self.paused = False
        self._last_t: float | None = None
        self._stats = _SessionStats(
            self.config.timeline_bucket_s,
            self.config.max_gap_s,
            max_points=self.config.timeline_max_points,
        )

    def _clock(self, t: float) -> float:
        """t, but never before the previous event's time (slightly out-of-order frames)."""
        if self._last_t is not None and t < self._last_t:
            return self._last_t
        self._last_t = t
        return t

    # -- control ------------------------------------------------------------------------

    @property
    def calibrating(self) -> bool:
        return self.calibrator is not None

    def set_sensitivity(self, sensitivity: float) -> None:
        if not 0.0 <= sensitivity <= 1.0:
            raise ValueError("sensitivity must lie in [0, 1]")
        self.sensitivity = sensitivity

    def set_baseline(self, baseline: Baseline | None) -> None:
        """Switch to a stored baseline (another setup); scoring starts afresh."""
        self.baseline = baseline
        self.policy.reset()
        self.smoother.reset()

    def start_calibration(self, t: float) -> None:
        """(Re)start calibrating; the user should sit upright and face the screen."""
        t = self._clock(t)
        self._stats.touch(t)
        self.calibrator = Calibrator.from_config(self.config.calibration, started_at=t)

    def finish_calibration(self, t: float) -> Baseline:
        """The new baseline (also adopted by this session), or raises CalibrationFailed.

        Either way calibration is over; after a failure the client starts it again.
        """
        if self.calibrator is None:
            raise RuntimeError("calibration was not started")
        t = self._clock(t)
        calibrator, self.calibrator = self.calibrator, None
        self._stats.touch(t)
        baseline = calibrator.finish(t)
        self.set_baseline(baseline)
        return baseline

    def cancel_calibration(self) -> None:
        self.calibrator = None

    def calibration_progress(self, t: float) -> dict[str, Any] | None:
        """The calibration's progress at t (None when not calibrating), without a frame: lets
        the session notice `expired` when the client sends nothing usable at all."""
        if self.calibrator is None:
            return None
        return self.calibrator.progress(max(t, self._last_t if self._last_t is not None else t))

    def pause(self, t: float) -> None:
        t = self._clock(t)
        self._stats.book(t, "paused")
        self.paused = True
        self.policy.update(t, "paused", None)

    def resume(self, t: float) -> None:
        if not self.paused:
            return
        t = self._clock(t)
        self.paused = False
        self.smoother.reset()  # the user may be sitting quite differently now
        scoring = self.baseline is not None and self.calibrator is None
        self._stats.book(t, self.policy.posture if scoring else "uncalibrated")

    # -- frames -------------------------------------------------------------------------

    def observe(self, t: float, pose: Pose | None) -> Observation:
        """One frame's verdict. `pose` is None when the estimator found nobody.

        While calibrating, `calibration` is the progress: when `expired` turns true, finishing
        the calibration fails with too_few_frames (the previous baseline stays).
        """
        t = self._clock(t)
        if self.paused:
            return self._observation(t, "paused")

        frame = (
            Rejected("no_person", "no pose found")
            if pose is None
            else extract_features(pose, self.config.features)
        )
        rejected = isinstance(frame, Rejected)
        reason = frame.reason if rejected else None
        features = None if rejected else frame.as_dict()
        self._stats.frame(reason)

        if self.calibrator is not None or self.baseline is None:
            progress = None
            if self.calibrator is not None:
                self.calibrator.add(t, frame)
                progress = self.calibrator.progress(t)
            self.policy.update(t, "uncalibrated", None)
            return self._observation(
                t, "uncalibrated", features=features, reason=reason, calibration=progress
            )

        if rejected and frame.reason == "no_person":
            self.smoother.reset()
            state, _ = self.policy.update(t, "away", None)
            return self._observation(t, state, reason=reason)
        if rejected:
            state = self.policy.hold(t)
            return self._observation(t, state, reason=reason, booked_as=UNSCORED)

        raw = forward_head_index(frame, self.baseline, self.sensitivity, self.config.scoring)
        score = self.smoother(t, raw)
        candidate = classify(frame, self.baseline, raw, self.config.scoring)
        state, alert = self.policy.update(t, candidate, score)
        if alert is not None:
            self._stats.alert(alert)
        return self._observation(t, state, score=score, raw=raw, features=features, alert=alert)

    def _observation(
        self,
        t: float,
        state: PostureState,
        *,
        score: float | None = None,
        raw: float | None = None,
        features: dict[str, float] | None = None,
        reason: str | None = None,
        alert: Alert | None = None,
        calibration: dict[str, Any] | None = None,
        booked_as: str | None = None,
    ) -> Observation:
        self._stats.book(t, booked_as or state, score)
        return Observation(state, score, raw, features, reason, alert, calibration)

    # -- history ------------------------------------------------------------------------

    def stats(self, t: float | None = None) -> dict[str, Any]:
        """Session statistics as a plain dict; with `t`, the time since the last event is
        included as the stream's silence up to t would be booked. Reading changes nothing:
        call it as often as you like."""
        return self._stats.summary(t)


class _SessionStats:
    """Time per state, alert counts, longest good streak and a low-resolution score timeline.

    Everything here has a fixed size, whatever the session's length.
    """

    def __init__(self, bucket_s: float, max_gap_s: float, *, max_points: int = 360) -> None:
        self.bucket_s = bucket_s  # the timeline's current bucket width
        self.max_points = max_points
        self.max_gap_s = max_gap_s
        self.started_at: float | None = None
        self.last_t: float | None = None  # booked up to here
        self.current = "uncalibrated"  # the bucket the time since last_t is booked to
        self.current_since: float | None = None  # when `current` was last reported
        self.time_s = dict.fromkeys(STAT_BUCKETS, 0.0)
        self.frames = 0
        self.rejected: Counter[str] = Counter()
        self.alerts = 0
        self.alerts_by_level: Counter[str] = Counter()
        self.good_streak_s = 0.0
        self.longest_good_streak_s = 0.0
        self.score_sum = 0.0
        self.score_count = 0
        self._buckets: dict[int, list[float]] = {}  # index → [sum of scores, count]

    def touch(self, t: float) -> None:
        """Book the time up to t without changing the state (control messages)."""
        self._advance(t)

    def book(self, t: float, bucket: str, score: float | None = None) -> None:
        """Book the time up to t to the previous state; from t on, to `bucket`."""
        self._advance(t)
        self.current = bucket
        self.current_since = self.last_t
        if score is not None:
            self._score(self.last_t, score)

    def frame(self, rejection: str | None) -> None:
        self.frames += 1
        if rejection is not None:
            self.rejected[rejection] += 1

    def alert(self, alert: Alert) -> None:
        self.alerts += 1
        self.alerts_by_level[str(alert.level)] += 1

    def _score(self, t: float, score: float) -> None:
        self.score_sum += score
        self.score_count += 1
        while (index := int((t - self.started_at) // self.bucket_s)) >= self.max_points:
            self._coarsen()
        entry = self._buckets.get(index)
        if entry is None:
            self._buckets[index] = [score, 1]
        else:
            entry[0] += score
            entry[1] += 1

    def _coarsen(self) -> None:
        """Merge adjacent buckets pairwise: half the points, twice the width."""
        merged: dict[int, list[float]] = {}
        for index, (total, count) in self._buckets.items():
            entry = merged.setdefault(index // 2, [0.0, 0])
            entry[0] += total
            entry[1] += count
        self._buckets = merged
        self.bucket_s *= 2

    def _advance(self, t: float) -> None:
        if self.started_at is None:
            self.started_at = self.last_t = self.current_since = t
            return
        if t <= self.last_t:
            return
        # Paused sessions legitimately send nothing; otherwise the state holds for max_gap_s
        # after it was last reported (not after the last control message), then nobody is
        # there.
        if self.current == "paused":
            held_until = t
        else:
            held_until = min(t, max(self.last_t, self.current_since + self.max_gap_s))
        self._add(self.current, held_until - self.last_t)
        self._add("away", t - held_until)
        self.last_t = t

    def _add(self, bucket: str, seconds: float) -> None:
        if seconds <= 0:
            return
        self.time_s[bucket] += seconds
        if bucket == "good":
            self.good_streak_s += seconds
            self.longest_good_streak_s = max(self.longest_good_streak_s, self.good_streak_s)
        elif bucket != UNSCORED:  # a glance away neither extends nor breaks a good streak
            self.good_streak_s = 0.0

    def _with_tail(self, t: float) -> "_SessionStats":
        """A copy with the time up to t booked; the scores and counters are shared."""
        tail = copy.copy(self)
        tail.time_s = dict(self.time_s)
        tail._advance(t)
        return tail

    def summary(self, t: float | None = None) -> dict[str, Any]:
        """The statistics; with t, including the time since the last event. No side effects."""
        view = self if t is None or self.started_at is None else self._with_tail(t)
        elapsed = 0.0 if view.started_at is None else view.last_t - view.started_at
        return {
            "started_at": view.started_at,
            "ended_at": view.last_t,
            "elapsed_s": round(elapsed, 3),
            "time_s": {name: round(seconds, 3) for name, seconds in view.time_s.items()},
            "frames": view.frames,
            "rejected": dict(view.rejected),
            "alerts": view.alerts,
            "alerts_by_level": dict(sorted(view.alerts_by_level.items())),
            "longest_good_streak_s": round(view.longest_good_streak_s, 3),
            "mean_score": round(view.score_sum / view.score_count, 4) if view.score_count else None,
            "timeline_bucket_s": view.bucket_s,
            "timeline": [
                {"t": index * view.bucket_s, "score": round(total / count, 4)}
                for index, (total, count) in sorted(view._buckets.items())
            ],
        }
