"""One-Euro filter (Casiez et al. 2012): smooths a jittery signal, cutting lag when it moves fast. Pure."""
import math
from typing import Optional

import numpy as np


def _alpha(cutoff_hz: float, dt: float) -> float:
    """Smoothing factor of a first-order low-pass at cutoff_hz for a step of dt seconds."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters a scalar or a fixed-shape array (e.g. an (x, y) point) sampled at irregular times.

    min_cutoff (Hz): smoothing when still (lower: steadier, more lag). beta: how fast the cutoff
    rises with speed (higher: less lag on fast moves). d_cutoff (Hz): smoothing of the speed estimate."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"One-Euro needs min_cutoff > 0, d_cutoff > 0, beta >= 0; "
                             f"got {min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._value: Optional[np.ndarray] = None
        self._speed: Optional[np.ndarray] = None
        self._time: Optional[float] = None

    def __call__(self, value, t: float):
        """The filtered value for a sample taken at time t (seconds, increasing)."""
        x = np.asarray(value, dtype=np.float64)
        if self._value is None:
            self._value, self._speed, self._time = x.copy(), np.zeros_like(x), t
            return self._output(x)
        dt = t - self._time
        if dt <= 0:  # a repeated or out-of-order timestamp carries no new motion information
            return self._output(self._value)
        speed = (x - self._value) / dt
        self._speed = self._speed + _alpha(self.d_cutoff, dt) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        tau = 1.0 / (2.0 * np.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._value = self._value + a * (x - self._value)
        self._time = t
        return self._output(self._value)

    @staticmethod
    def _output(x: np.ndarray):
        return float(x) if x.ndim == 0 else x.copy()
