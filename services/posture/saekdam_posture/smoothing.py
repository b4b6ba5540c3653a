"""The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012) on explicit timestamps.

An exponential smoother whose cutoff frequency rises with the signal's speed: slow changes
(landmark jitter) are smoothed hard, fast ones (the user really moved) pass with little lag.
Each step uses the actual time since the previous sample, so 1 fps and 10 fps streams, or an
irregular mix, give the same time constant:

    alpha(fc, dt) = 1 / (1 + tau / dt),  tau = 1 / (2π·fc)
    dx̂  = dx̂_prev + alpha(d_cutoff, dt) · ((x − x̂_prev)/dt − dx̂_prev)
    fc  = min_cutoff + beta · |dx̂|
    x̂   = x̂_prev + alpha(fc, dt) · (x − x̂_prev)
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SmoothingConfig:
    # Hz. 0.15 Hz ≈ a 1 s time constant at rest: the index settles in a few seconds, well
    # inside the alert persistence time, and jitter of single frames is damped.
    min_cutoff: float = 0.15
    # How much speed (index units per second) opens the filter up.
    beta: float = 0.3
    d_cutoff: float = 1.0


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    def __init__(self, min_cutoff: float = 0.15, beta: float = 0.3, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("cutoffs must be positive and beta non-negative")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    @classmethod
    def from_config(cls, config: SmoothingConfig) -> "OneEuroFilter":
        return cls(config.min_cutoff, config.beta, config.d_cutoff)

    def reset(self) -> None:
        self._t: float | None = None
        self._x: float | None = None
        self._dx = 0.0

    @property
    def value(self) -> float | None:
        return self._x

    def __call__(self, t: float, x: float) -> float:
        """The smoothed value at time t (seconds). A repeated or older t changes nothing."""
        if self._t is None or self._x is None:
            self._t, self._x = t, x
            return x
        dt = t - self._t
        if dt <= 0:
            return self._x  # duplicate or out-of-order timestamp: no time has passed
        dx = (x - self._x) / dt
        self._dx += _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        self._x += _alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x
