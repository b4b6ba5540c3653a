"""The alert policy on scripted index sequences: hysteresis, persistence, cooldown,
escalation, recovery and inactivity."""

import typing

import numpy as np
import pytest

from saekdam_contracts.posture import PostureState as ContractPostureState
from saekdam_posture.policy import Alert, AlertPolicy, PolicyConfig, PostureState

BAD = 0.8
GOOD = 0.0


class Run:
    """Feeds a policy one frame per `dt` seconds and records what it says."""

    def __init__(self, config: PolicyConfig = PolicyConfig(), dt: float = 1.0) -> None:
        self.policy = AlertPolicy(config)
        self.dt = dt
        self.t = 0.0
        self.states: list[PostureState] = []
        self.alerts: list[Alert] = []

    def feed(self, seconds: float, index: float | None, candidate: PostureState = "forward_head"):
        for _ in range(round(seconds / self.dt)):
            state, alert = self.policy.update(self.t, candidate, index)
            self.states.append(state)
            if alert is not None:
                self.alerts.append(alert)
            self.t += self.dt
        return self

    def hold(self, seconds: float):
        for _ in range(round(seconds / self.dt)):
            self.states.append(self.policy.hold(self.t))
            self.t += self.dt
        return self


def transitions(states: list[PostureState]) -> int:
    return sum(1 for a, b in zip(states, states[1:], strict=False) if a != b)


def test_posture_states_match_the_contract():
    assert set(typing.get_args(PostureState)) == set(typing.get_args(ContractPostureState))


def test_hysteresis_no_flapping_at_a_threshold():
    rng = np.random.default_rng(0)
    run = Run(dt=0.2).feed(2, GOOD)
    # An index wobbling around the enter threshold: once in, it stays in.
    wobble = 0.5 + rng.normal(0, 0.05, 300)
    for value in wobble:
        run.feed(0.2, float(value))
    assert run.states[-1] == "forward_head"
    assert transitions(run.states) == 1
    single_threshold = transitions(["bad" if v >= 0.5 else "good" for v in wobble])
    assert single_threshold > 100  # what the original's undebounced verdict would do
    # Wobbling around the exit threshold from below never re-enters.
    run2 = Run(dt=0.2)
    for value in 0.3 + rng.normal(0, 0.05, 300):
        run2.feed(0.2, float(value))
    assert set(run2.states) == {"good"}


def test_bad_state_needs_the_exit_threshold_to_recover():
    run = Run().feed(3, BAD)
    assert run.states[-1] == "forward_head"
    run.feed(5, 0.4)  # below enter, above exit: still bad
    assert run.states[-1] == "forward_head"
    run.feed(1, 0.29)
    assert run.states[-1] == "good"


def test_persistence_before_the_first_alert():
    run = Run().feed(10, BAD)  # frames at t=0..9: 9 s of bad posture
    assert run.alerts == []
    run.feed(1, BAD)  # t=10: 10 s
    assert len(run.alerts) == 1
    alert = run.alerts[0]
    assert (alert.level, alert.state, alert.t, alert.bad_for_s) == (1, "forward_head", 10.0, 10.0)
    assert "forward" in alert.message


def test_persistence_counts_seconds_not_frames():
    run = Run(dt=0.2).feed(10, BAD)  # t = 0 … 9.8
    assert run.alerts == []
    run.feed(0.2, BAD)
    assert [a.t for a in run.alerts] == [pytest.approx(10.0)]


def test_short_bad_spells_never_alert():
    run = Run()
    for _ in range(20):
        run.feed(8, BAD).feed(3, GOOD)
    assert run.alerts == []


def test_cooldown_between_alerts_and_escalation_when_ignored():
    run = Run().feed(200, BAD)
    assert [(a.t, a.level) for a in run.alerts] == [(10.0, 1), (70.0, 2), (130.0, 3), (190.0, 3)]
    assert "Stand up" in run.alerts[2].message and "3 minutes" not in run.alerts[2].message
    assert "2 minutes" in run.alerts[2].message
    assert len({a.message for a in run.alerts[:3]}) == 3


def test_cooldown_holds_across_episodes():
    run = Run().feed(11, BAD)  # alert at 10
    run.feed(5, GOOD).feed(30, BAD)  # bad again from 16, persisted by 26, cooled down at 70
    assert [a.t for a in run.alerts] == [10.0]
    run.feed(40, BAD)
    assert [a.t for a in run.alerts] == [10.0, 70.0]


def test_a_brief_recovery_does_not_reset_escalation():
    run = Run().feed(11, BAD)  # level 1
    run.feed(10, GOOD)  # shorter than recovery_s (20 s)
    run.feed(60, BAD)
    assert [a.level for a in run.alerts] == [1, 2]


def test_recovery_resets_escalation():
    run = Run().feed(11, BAD).feed(1, GOOD)
    assert run.policy.level == 1
    run.feed(21, GOOD)  # good for recovery_s
    assert run.policy.level == 0
    run.feed(60, BAD)
    assert [a.level for a in run.alerts] == [1, 1]


def test_rejected_frames_are_neither_bad_nor_recovery():
    run = Run().feed(6, BAD).hold(30)
    assert run.states[-1] == "forward_head"  # the state is held for display
    assert run.alerts == []  # 30 s of head-turned frames did not count as bad
    run.feed(5, BAD)
    assert run.alerts == [] and run.policy.bad_for_s == pytest.approx(9.0)
    run.feed(1, BAD)
    assert len(run.alerts) == 1

    run2 = Run().feed(11, BAD).feed(10, GOOD).hold(60).feed(60, BAD)
    assert [a.level for a in run2.alerts] == [1, 2]  # holding was not recovery


@pytest.mark.parametrize("inactive", ["away", "paused", "uncalibrated"])
def test_inactive_states_never_alert_and_freeze_timers(inactive):
    run = Run().feed(8, BAD).feed(10, None, inactive)
    assert run.states[-1] == inactive
    assert run.alerts == []
    # Back quickly: the episode continues. 7 s before, then the first frame back starts the
    # clock again, so 10 s of bad posture are reached on the fourth frame back.
    run.feed(3, BAD)
    assert run.states[-1] == "forward_head"
    assert run.alerts == []
    run.feed(1, BAD)
    assert len(run.alerts) == 1


def test_a_long_absence_starts_afresh():
    run = Run().feed(11, BAD).feed(60, BAD)  # level 1 at 10, level 2 at 70
    run.feed(40, None, "away")  # away_reset_s = 30
    run.feed(1, 0.4)  # between the thresholds: would still be bad without the reset
    assert run.states[-1] == "good"
    assert run.policy.level == 0
    run.feed(30, BAD)
    assert [a.level for a in run.alerts] == [1, 2, 1]


def test_a_stalled_stream_does_not_fast_forward_persistence():
    policy = AlertPolicy()
    policy.update(0.0, "forward_head", BAD)
    _, alert = policy.update(60.0, "forward_head", BAD)  # one frame a minute later
    assert alert is None
    assert policy.bad_for_s == PolicyConfig().max_gap_s


def test_kind_switches_only_after_it_persists():
    run = Run().feed(5, BAD, "forward_head")
    run.feed(2, BAD, "looking_down")
    assert run.states[-1] == "forward_head"
    run.feed(2, BAD, "looking_down")
    assert run.states[-1] == "looking_down"
    run.feed(10, BAD, "looking_down")
    assert run.alerts[0].state == "looking_down"
    assert run.alerts[0].bad_for_s >= 10  # the episode went on through the switch
    assert "looking down" in run.alerts[0].message


def test_a_good_candidate_with_a_high_smoothed_index_enters_as_forward_head():
    run = Run().feed(1, 0.7, "good")
    assert run.states[-1] == "forward_head"


def test_everything_is_configurable():
    config = PolicyConfig(
        enter_threshold=0.6, exit_threshold=0.5, persistence_s=3, cooldown_s=5, max_level=2
    )
    run = Run(config).feed(1, 0.55)
    assert run.states[-1] == "good"
    run.feed(20, 0.65)
    assert [(a.t, a.level) for a in run.alerts] == [(4.0, 1), (9.0, 2), (14.0, 2), (19.0, 2)]
    with pytest.raises(ValueError):
        PolicyConfig(enter_threshold=0.3, exit_threshold=0.5)
