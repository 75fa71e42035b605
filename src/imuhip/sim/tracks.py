"""Smooth scalar trajectories of one degree of freedom, evaluable at any time.

A :class:`Track` is a keyframe curve with minimum-jerk (quintic) transitions between keyframes,
plus optional windowed oscillations (tremor). It is C² continuous, so accelerations computed from
it by finite differences are smooth, and it is evaluated vectorised at arbitrary times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Oscillation:
    """A sinusoid switched on smoothly over ``[start_s, stop_s]``.

    Attributes:
        start_s, stop_s: window, seconds.
        freq_hz: frequency.
        amplitude: peak amplitude in the track's unit.
        phase: radians.
        ramp_s: duration of the raised-cosine fade in and out, seconds.
    """

    start_s: float
    stop_s: float
    freq_hz: float
    amplitude: float
    phase: float = 0.0
    ramp_s: float = 0.3


@dataclass
class Track:
    """Keyframes ``(time_s, value)`` joined by minimum-jerk transitions.

    Between consecutive keyframes the value moves with the quintic smoothstep
    ``10u³ − 15u⁴ + 6u⁵`` (zero velocity and acceleration at both ends); before the first and
    after the last keyframe it stays constant. Keyframes are added in time order with
    :meth:`hold` and :meth:`move`.
    """

    times: list[float] = field(default_factory=lambda: [0.0])
    values: list[float] = field(default_factory=lambda: [0.0])
    oscillations: list[Oscillation] = field(default_factory=list)
    #: keyframe index -> ramp share of a constant-speed ("cruise") transition ending there
    cruise: dict[int, float] = field(default_factory=dict)

    @property
    def end_s(self) -> float:
        """Time of the last keyframe."""
        return self.times[-1]

    @property
    def value(self) -> float:
        """Value at the last keyframe."""
        return self.values[-1]

    def hold(self, duration_s: float) -> Track:
        """Stay at the current value for ``duration_s``."""
        return self.move(self.value, duration_s)

    def move(self, value: float, duration_s: float, cruise: float = 0.0) -> Track:
        """Move to ``value`` over ``duration_s``: minimum jerk, or with ``cruise`` in (0, 0.5]
        at constant speed except for smooth speed ramps over that share of the move at each
        end (:func:`cruise_profile`; the peak speed is ``1 / (1 - cruise)`` times the mean)."""
        if duration_s <= 0:
            raise ValueError("a move needs a positive duration")
        if not 0.0 <= cruise <= 0.5:
            raise ValueError("cruise must be a share of the move in [0, 0.5]")
        self.times.append(self.end_s + float(duration_s))
        self.values.append(float(value))
        if cruise > 0:
            self.cruise[len(self.times) - 1] = float(cruise)
        return self

    def wait_until(self, time_s: float) -> Track:
        """Hold the current value until ``time_s`` (no-op if already there)."""
        if time_s > self.end_s:
            self.hold(time_s - self.end_s)
        return self

    def oscillate(self, osc: Oscillation) -> Track:
        """Add a windowed oscillation on top of the keyframe curve."""
        self.oscillations.append(osc)
        return self

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        tk = np.asarray(self.times)
        vk = np.asarray(self.values)
        i = np.clip(np.searchsorted(tk, t, side="right") - 1, 0, len(tk) - 1)
        j = np.minimum(i + 1, len(tk) - 1)
        span = tk[j] - tk[i]
        u = np.where(span > 0, (t - tk[i]) / np.where(span > 0, span, 1.0), 0.0)
        u = np.clip(u, 0.0, 1.0)
        s = u**3 * (10.0 - 15.0 * u + 6.0 * u**2)
        for k, ramp in self.cruise.items():
            seg = j == k
            if np.any(seg):
                s = np.where(seg, cruise_profile(u, ramp), s)
        out = vk[i] + (vk[j] - vk[i]) * s
        for o in self.oscillations:
            out = out + _window(t, o) * o.amplitude * np.sin(
                2 * np.pi * o.freq_hz * (t - o.start_s) + o.phase
            )
        return out


def cruise_profile(u: np.ndarray, ramp: float) -> np.ndarray:
    """Progress 0..1 of a move at constant speed between two speed ramps.

    ``u`` is the move's normalised time (0..1); over the first and last ``ramp`` share of it
    the speed rises from and falls to zero along the quintic smoothstep (so acceleration is
    continuous), in between it is constant at ``1 / (1 - ramp)`` times the mean speed.
    """
    u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
    r = float(ramp)

    def head(x: np.ndarray) -> np.ndarray:  # distance covered during the first ramp
        x = np.clip(x / r, 0.0, 1.0)
        return r * x**4 * (2.5 - 3.0 * x + x**2) / (1.0 - r)

    middle = (0.5 * r + (u - r)) / (1.0 - r)
    return np.where(u < r, head(u), np.where(u > 1.0 - r, 1.0 - head(1.0 - u), middle))


def _window(t: np.ndarray, o: Oscillation) -> np.ndarray:
    r = max(o.ramp_s, 1e-6)
    up = np.clip((t - o.start_s) / r, 0.0, 1.0)
    down = np.clip((o.stop_s - t) / r, 0.0, 1.0)
    return np.sin(0.5 * np.pi * np.minimum(up, down)) ** 2
