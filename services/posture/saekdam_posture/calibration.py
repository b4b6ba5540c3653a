"""Calibration: what sitting upright looks like for this user at this desk.

The user sits upright for ~15 s; each usable frame's features are collected and summarised
per feature with robust statistics, so a few bad frames (a sneeze, a glance at the phone, a
misdetection) do not move the baseline:

    median = median(values)
    spread = max(1.4826 · median(|values − median|), absolute floor, relative floor · |median|)

1.4826·MAD estimates the standard deviation of normally distributed values while ignoring up
to half of the values as outliers. The floor stops a user who held perfectly still (or a
landmark the model reports with little jitter) from getting a tiny spread that would turn
every later twitch into a huge z-score.
"""

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from saekdam_posture.features import Features, Rejected

MAD_TO_SIGMA = 1.4826
BASELINE_VERSION = 1

# Per feature: (absolute floor, floor as a fraction of the median) for the spread. The absolute
# floors are about the frame-to-frame jitter of MediaPipe landmarks at webcam resolution.
SPREAD_FLOORS: Mapping[str, tuple[float, float]] = {
    "head_drop_eyes": (0.01, 0.03),
    "head_drop_ears": (0.01, 0.03),
    "face_scale": (0.003, 0.02),
    "ear_shoulder_angle": (1.0, 0.0),  # degrees
    "head_tilt": (1.0, 0.0),  # degrees
    "head_turn": (0.03, 0.0),
    "nose_below_eyes": (0.05, 0.0),  # eye spacings
    "nose_below_ears": (0.05, 0.0),
    "shoulder_width": (0.01, 0.02),
}
# Features every baseline has (the ones measured on every accepted frame).
REQUIRED_FEATURES = ("head_drop_eyes", "face_scale", "nose_below_eyes")
FEATURE_NAMES = tuple(f.name for f in fields(Features))

CalibrationFailureReason = Literal["too_short", "too_few_frames", "too_much_movement"]


class CalibrationFailed(Exception):
    """Calibration could not produce a baseline; `reason` is a stable snake_case code."""

    def __init__(self, reason: CalibrationFailureReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FeatureStats:
    median: float
    spread: float
    n: int

    def z(self, value: float) -> float:
        """How many spreads `value` lies above the median."""
        return (value - self.median) / self.spread


@dataclass(frozen=True)
class Baseline:
    """Per-feature median and spread of the user's upright posture."""

    features: Mapping[str, FeatureStats]
    samples: int
    duration_s: float

    def get(self, name: str) -> FeatureStats | None:
        return self.features.get(name)

    def __getitem__(self, name: str) -> FeatureStats:
        return self.features[name]

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict, as stored per user and setup."""
        return {
            "version": BASELINE_VERSION,
            "samples": self.samples,
            "duration_s": self.duration_s,
            "features": {
                name: {"median": s.median, "spread": s.spread, "n": s.n}
                for name, s in self.features.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Baseline":
        """Inverse of `to_dict`; raises ValueError on anything it did not write."""
        try:
            if data["version"] != BASELINE_VERSION:
                raise ValueError(f"unsupported baseline version {data['version']!r}")
            features = {}
            for name, stats in data["features"].items():
                if name not in FEATURE_NAMES:
                    raise ValueError(f"unknown feature {name!r}")
                median, spread = float(stats["median"]), float(stats["spread"])
                if not (math.isfinite(median) and math.isfinite(spread) and spread > 0):
                    raise ValueError(f"bad statistics for {name!r}")
                features[name] = FeatureStats(median, spread, int(stats["n"]))
            missing = [name for name in REQUIRED_FEATURES if name not in features]
            if missing:
                raise ValueError(f"baseline lacks {', '.join(missing)}")
            return cls(features, int(data["samples"]), float(data["duration_s"]))
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"malformed baseline: {error!r}") from error


def robust_stats(name: str, values: np.ndarray) -> tuple[FeatureStats, float]:
    """(stats with the floored spread, the raw 1.4826·MAD spread) of one feature."""
    median = float(np.median(values))
    raw_spread = MAD_TO_SIGMA * float(np.median(np.abs(values - median)))
    absolute, relative = SPREAD_FLOORS.get(name, (1e-3, 0.0))
    spread = max(raw_spread, absolute, relative * abs(median))
    return FeatureStats(median, spread, len(values)), raw_spread


@dataclass(frozen=True)
class CalibrationConfig:
    duration_s: float = 15.0  # what the client's progress bar counts down
    min_duration_s: float = 5.0  # finishing earlier fails with too_short
    min_samples: int = 10  # accepted frames; 1 fps over 15 s leaves room for 5 rejections
    # Not ready this long after the start (default 2 × duration_s): too few usable frames
    # came, and `progress` reports `expired` so the session can fail it (too_few_frames).
    expires_after_s: float | None = None
    # Raw spread / |median| above which the user moved too much to call it one posture. Head
    # drop moves ~4 % per cm of forward head; 5 px of landmark jitter at 640×480 is ~4 % of
    # head drop but ~8 % of the small eye spacing, hence the looser face-scale limit.
    max_relative_spread: Mapping[str, float] = field(
        default_factory=lambda: {"head_drop_eyes": 0.06, "face_scale": 0.10}
    )


class Calibrator:
    """Collects (t, features) while the user sits upright; `finish` makes the baseline."""

    def __init__(
        self,
        duration_s: float = 15.0,
        min_samples: int = 10,
        *,
        min_duration_s: float = 5.0,
        max_relative_spread: Mapping[str, float] | None = None,
        expires_after_s: float | None = None,
        started_at: float | None = None,
    ) -> None:
        defaults = CalibrationConfig()
        expires_after_s = 2.0 * duration_s if expires_after_s is None else expires_after_s
        if expires_after_s < duration_s:
            raise ValueError("expires_after_s must be at least duration_s")
        self.config = CalibrationConfig(
            duration_s=duration_s,
            min_duration_s=min(min_duration_s, duration_s),
            min_samples=min_samples,
            expires_after_s=expires_after_s,
            max_relative_spread=defaults.max_relative_spread
            if max_relative_spread is None
            else max_relative_spread,
        )
        self.started_at = started_at
        self._last_t = started_at
        self._samples: list[Features] = []
        self._rejected: Counter[str] = Counter()

    @classmethod
    def from_config(cls, config: CalibrationConfig, started_at: float | None = None):
        return cls(
            config.duration_s,
            config.min_samples,
            min_duration_s=config.min_duration_s,
            max_relative_spread=config.max_relative_spread,
            expires_after_s=config.expires_after_s,
            started_at=started_at,
        )

    @property
    def samples(self) -> int:
        return len(self._samples)

    def add(self, t: float, frame: Features | Rejected) -> None:
        if self.started_at is None:
            self.started_at = t
        self._last_t = t if self._last_t is None else max(self._last_t, t)
        if isinstance(frame, Rejected):
            self._rejected[frame.reason] += 1
        else:
            self._samples.append(frame)

    def elapsed(self, t: float | None = None) -> float:
        """Seconds since the start, up to t (never before the latest frame's time)."""
        if self.started_at is None or self._last_t is None:
            return 0.0
        end = self._last_t if t is None else max(t, self._last_t)
        return max(0.0, end - self.started_at)

    def ready(self, t: float | None = None) -> bool:
        """Long enough and enough usable frames to finish."""
        return self.elapsed(t) >= self.config.duration_s and self.samples >= self.config.min_samples

    def expired(self, t: float | None = None) -> bool:
        """Still not ready `expires_after_s` after the start: finishing now fails with
        too_few_frames, and waiting longer is unlikely to help."""
        return not self.ready(t) and self.elapsed(t) >= self.config.expires_after_s

    def progress(self, t: float) -> dict[str, Any]:
        """For the client's progress bar; `ready` = long enough and enough frames to finish,
        `expired` = given up waiting for enough usable frames (finish raises too_few_frames).
        """
        elapsed = self.elapsed(t)
        return {
            "elapsed_s": round(elapsed, 2),
            "duration_s": self.config.duration_s,
            "fraction": round(min(1.0, elapsed / self.config.duration_s), 3),
            "samples": self.samples,
            "min_samples": self.config.min_samples,
            "rejected": dict(self._rejected),
            "ready": self.ready(t),
            "expired": self.expired(t),
        }

    def finish(self, t: float | None = None) -> Baseline:
        """The baseline, or CalibrationFailed (too_short, too_few_frames, too_much_movement)."""
        elapsed = self.elapsed(t)
        if elapsed < self.config.min_duration_s:
            raise CalibrationFailed(
                "too_short",
                f"calibrated for {elapsed:.1f} s; sit upright for at least "
                f"{self.config.min_duration_s:.0f} s",
            )
        if self.samples < self.config.min_samples:
            detail = f"{self.samples} usable frames, need {self.config.min_samples}"
            if self._rejected:
                reason, count = self._rejected.most_common(1)[0]
                detail += f"; {count} frames were rejected as {reason}"
            raise CalibrationFailed("too_few_frames", detail)

        stats: dict[str, FeatureStats] = {}
        for name in FEATURE_NAMES:
            values = [getattr(f, name) for f in self._samples]
            values = np.array([v for v in values if v is not None], dtype=np.float64)
            if len(values) < self.config.min_samples:
                continue  # an optional feature (the ears) seen too rarely to trust
            stats[name], raw_spread = robust_stats(name, values)
            limit = self.config.max_relative_spread.get(name)
            median = stats[name].median
            if limit is not None and raw_spread > limit * abs(median):
                raise CalibrationFailed(
                    "too_much_movement",
                    f"{name} varied by {raw_spread / abs(median):.0%} around its median "
                    f"(limit {limit:.0%}); sit still and upright, then try again",
                )
        return Baseline(stats, self.samples, round(elapsed, 3))
