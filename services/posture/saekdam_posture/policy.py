"""When to tell the user: a state machine over the smoothed forward-head index.

- Hysteresis: a good posture turns bad when the index reaches `enter_threshold` and stays bad
  until it falls below `exit_threshold`, so an index hovering at one threshold cannot flap.
- Persistence: an alert needs `persistence_s` of continuous bad posture.
- Cooldown: at most one alert per `cooldown_s`, across episodes.
- Escalation: each alert while the user keeps ignoring them is one level higher (1 → 2 → 3);
  the level only resets after `recovery_s` of good posture, or a long absence.
- away / paused / uncalibrated: never alert, freeze the timers; `away_reset_s` of them starts
  the user afresh (good posture, level 0).
- Frames with a person but no measurement (head turned): `hold` keeps the state and freezes
  the timers, so looking at a colleague neither counts as bad nor as recovery.

Time counts only between consecutive measured frames, and at most `max_gap_s` per gap, so a
stalled stream cannot fast-forward a persistence timer.
"""

from dataclasses import asdict, dataclass
from typing import Any, Literal

PostureState = Literal["good", "forward_head", "looking_down", "away", "paused", "uncalibrated"]
BAD_STATES = ("forward_head", "looking_down")
INACTIVE_STATES = ("away", "paused", "uncalibrated")
# Durations are sums of frame intervals: 50 × 0.2 s must count as the 10 s it is.
_EPS = 1e-6


@dataclass(frozen=True)
class PolicyConfig:
    enter_threshold: float = 0.5
    exit_threshold: float = 0.3
    persistence_s: float = 10.0
    cooldown_s: float = 60.0
    max_level: int = 3
    recovery_s: float = 20.0
    away_reset_s: float = 30.0
    # A bad posture of the other kind must last this long before the state switches kind.
    kind_switch_s: float = 3.0
    max_gap_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 <= self.exit_threshold <= self.enter_threshold <= 1:
            raise ValueError("need 0 <= exit_threshold <= enter_threshold <= 1")
        if self.max_level < 1:
            raise ValueError("max_level must be at least 1")


@dataclass(frozen=True)
class Alert:
    level: int  # 1 = a nudge, higher = ignored for longer
    state: PostureState
    message: str  # one sentence, ready for a notification
    t: float
    bad_for_s: float  # continuous bad posture so far in this episode

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_MESSAGES = {
    ("forward_head", 1): "Your head has drifted forward. Sit back and bring your ears "
    "over your shoulders.",
    ("forward_head", 2): "Still leaning forward. Tuck your chin back and let your shoulders drop.",
    ("forward_head", 3): "Your head has been forward{duration}. Stand up, stretch your neck "
    "and reset your posture.",
    ("looking_down", 1): "You've been looking down for a while. Lift your gaze and your "
    "screen towards eye level.",
    ("looking_down", 2): "Still looking down. Raise the screen or your phone instead of "
    "bending your neck.",
    ("looking_down", 3): "You've been looking down{duration}. Take a short break and roll "
    "your shoulders.",
}


def alert_message(state: PostureState, level: int, bad_for_s: float) -> str:
    minutes = int(bad_for_s // 60)
    if minutes >= 2:
        duration = f" for {minutes} minutes"
    elif minutes == 1:
        duration = " for over a minute"
    else:
        duration = " for a while"
    return _MESSAGES[(state, min(level, 3))].format(duration=duration)


class AlertPolicy:
    """Fed each frame's candidate state and smoothed index; returns (state, alert or None)."""

    def __init__(self, config: PolicyConfig = PolicyConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget everything (new baseline): good posture, level 0, no cooldown pending."""
        self._reset_episode()
        self.last_alert_t: float | None = None

    def _reset_episode(self) -> None:
        self.posture: PostureState = "good"  # the measured state, held through inactivity
        self.state: PostureState = "good"  # what the last frame reported
        self.level = 0
        self.bad_for_s = 0.0
        self.good_for_s = 0.0
        self._other_kind_for_s = 0.0
        self._last_t: float | None = None
        self._measuring = False  # was the previous frame a measured posture frame?
        self._inactive_since: float | None = None

    def _step(self, t: float) -> float:
        """Seconds since the previous frame (clamped to [0, max_gap_s]); advances the clock."""
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), self.config.max_gap_s)
        self._last_t = t if self._last_t is None else max(self._last_t, t)
        return dt

    def hold(self, t: float) -> PostureState:
        """A frame with a person but no measurement: keep the state, count no time."""
        self._step(t)
        self._end_inactivity(t)
        self._measuring = False
        self.state = self.posture
        return self.state

    def update(
        self, t: float, candidate: PostureState, index: float | None
    ) -> tuple[PostureState, Alert | None]:
        dt = self._step(t)
        if candidate in INACTIVE_STATES:
            return self._inactive(t, candidate), None
        if index is None:
            raise ValueError(f"a {candidate!r} frame needs an index")
        self._end_inactivity(t)
        counted = dt if self._measuring else 0.0
        self._measuring = True

        if self.posture in BAD_STATES:
            if index < self.config.exit_threshold:
                self._become("good")
            else:
                self.bad_for_s += counted
                self._maybe_switch_kind(candidate, counted)
        elif index >= self.config.enter_threshold:
            self._become(candidate if candidate in BAD_STATES else "forward_head")
        else:
            self.good_for_s += counted
            if self.good_for_s + _EPS >= self.config.recovery_s:
                self.level = 0

        self.state = self.posture
        return self.state, self._maybe_alert(t)

    def _inactive(self, t: float, candidate: PostureState) -> PostureState:
        self._measuring = False
        if self._inactive_since is None:
            self._inactive_since = t
        self.state = candidate
        return candidate

    def _end_inactivity(self, t: float) -> None:
        """Back from away/paused: a long absence starts the user afresh."""
        if self._inactive_since is None:
            return
        if t - self._inactive_since >= self.config.away_reset_s:
            last_alert_t = self.last_alert_t
            self._reset_episode()
            self.last_alert_t = last_alert_t  # the cooldown still applies
            self._last_t = t
        self._inactive_since = None

    def _become(self, posture: PostureState) -> None:
        self.posture = posture
        self.bad_for_s = 0.0
        self.good_for_s = 0.0
        self._other_kind_for_s = 0.0

    def _maybe_switch_kind(self, candidate: PostureState, counted: float) -> None:
        if candidate in BAD_STATES and candidate != self.posture:
            self._other_kind_for_s += counted
            if self._other_kind_for_s + _EPS >= self.config.kind_switch_s:
                self.posture = candidate  # same episode: keep bad_for_s and the level
                self._other_kind_for_s = 0.0
        else:
            self._other_kind_for_s = 0.0

    def _maybe_alert(self, t: float) -> Alert | None:
        if self.posture not in BAD_STATES or self.bad_for_s + _EPS < self.config.persistence_s:
            return None
        if self.last_alert_t is not None and t - self.last_alert_t < self.config.cooldown_s:
            return None
        self.level = min(self.level + 1, self.config.max_level)
        self.last_alert_t = t
        return Alert(
            level=self.level,
            state=self.posture,
            message=alert_message(self.posture, self.level, self.bad_for_s),
            t=t,
            bad_for_s=round(self.bad_for_s, 3),
        )
