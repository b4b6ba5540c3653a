"""The forward-head index and the posture class of a frame, both against the user's baseline.

Deviations are z-scores in baseline spreads, signed so that positive is worse:

    drop_z  = (baseline head_drop − head_drop) / spread     head sank towards the shoulders
    scale_z = (face_scale − baseline face_scale) / spread   face came towards the camera
    pitch_z = (pitch − baseline pitch) / spread             nose swung below its usual line

Spreads are floored at 3 % (head drop) and 2 % (face scale) of the median, so for a steady
calibration a z-score is a relative change: 5 cm of forward head at 60 cm from the camera
(head drop −19 %, face scale +11 %) gives drop_z ≈ 6.4 and scale_z ≈ 5.5.

    forward_head_index = clamp((max(drop_z, 0) + max(scale_z, 0) − dead_zone) / (full − dead_zone))

dead_zone (2 z) absorbs breathing and landmark jitter; `full` is the combined z that counts as
severe, from 14 (sensitivity 0, relaxed) to 6 (sensitivity 1, strict), 10 by default. Leaning
the whole body in scales face and shoulders alike, so it barely moves either term.

The head and pitch references (ears, else eyes) are only compared like for like: ears when both
the frame and the baseline have them, else eyes.
"""

from dataclasses import dataclass
from typing import Literal

from saekdam_posture.calibration import Baseline
from saekdam_posture.features import Features

PostureClass = Literal["good", "forward_head", "looking_down"]


@dataclass(frozen=True)
class ScoringConfig:
    dead_zone_z: float = 2.0
    full_scale_z_relaxed: float = 14.0  # sensitivity 0
    full_scale_z_strict: float = 6.0  # sensitivity 1
    # classify(): below this index the frame is simply good.
    good_below: float = 0.1
    # Looking down: the nose at least this many spreads below its usual line (5 cm of
    # protrusion moves it ~2 through perspective; a 20° nod moves it > 8) ...
    looking_down_min_pitch_z: float = 4.0
    # ... while the face did not come closer (protrusion scales it up by several spreads).
    looking_down_max_scale_z: float = 2.0


@dataclass(frozen=True)
class Deviations:
    """Signed z-scores against the baseline; positive is the bad direction."""

    head_drop: float
    face_scale: float
    pitch: float
    reference: Literal["ears", "eyes"]


def deviations(features: Features, baseline: Baseline) -> Deviations:
    ears = baseline.get("head_drop_ears")
    if features.head_drop_ears is not None and ears is not None:
        drop_z, reference = -ears.z(features.head_drop_ears), "ears"
    else:
        drop_z, reference = -baseline["head_drop_eyes"].z(features.head_drop_eyes), "eyes"

    nose_ears = baseline.get("nose_below_ears")
    if features.nose_below_ears is not None and nose_ears is not None:
        pitch_z = nose_ears.z(features.nose_below_ears)
    else:
        pitch_z = baseline["nose_below_eyes"].z(features.nose_below_eyes)

    return Deviations(
        head_drop=drop_z,
        face_scale=baseline["face_scale"].z(features.face_scale),
        pitch=pitch_z,
        reference=reference,
    )


def full_scale_z(sensitivity: float, config: ScoringConfig = ScoringConfig()) -> float:
    """Combined z that maps to index 1: relaxed at sensitivity 0, strict at 1."""
    s = min(1.0, max(0.0, sensitivity))
    return config.full_scale_z_relaxed + s * (
        config.full_scale_z_strict - config.full_scale_z_relaxed
    )


def forward_head_index(
    features: Features,
    baseline: Baseline,
    sensitivity: float = 0.5,
    config: ScoringConfig = ScoringConfig(),
) -> float:
    """0 at the baseline, 1 for severe forward-head posture (see the module docstring)."""
    d = deviations(features, baseline)
    combined = max(d.head_drop, 0.0) + max(d.face_scale, 0.0)
    full = full_scale_z(sensitivity, config)
    return min(1.0, max(0.0, (combined - config.dead_zone_z) / (full - config.dead_zone_z)))


def classify(
    features: Features,
    baseline: Baseline,
    index: float,
    config: ScoringConfig = ScoringConfig(),
) -> PostureClass:
    """What kind of posture this frame shows.

    `looking_down` is a dropped head whose nose swung below its usual line while the face did
    not come closer: a nod towards a phone or keyboard rather than a protruding neck. Whether a
    frame is bad enough to count is the alert policy's call (hysteresis on the smoothed index);
    this only names the kind.
    """
    if index < config.good_below:
        return "good"
    d = deviations(features, baseline)
    if (
        d.pitch >= config.looking_down_min_pitch_z
        and d.face_scale < config.looking_down_max_scale_z
    ):
        return "looking_down"
    return "forward_head"
