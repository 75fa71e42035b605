"""One uniform time grid for several sensors, built as their samples arrive.

The grid starts at the latest first sample of the sensors and has a point every
``1 / rate_hz`` seconds; a point is emitted as soon as every sensor has a sample at or after
it, with each sensor's accelerometer (m/s²) and gyroscope (rad/s) linearly interpolated
between its two neighbouring samples (sensor frames). The result does not depend on how the
samples were cut into chunks. Each point also says whether every sensor had a real sample
within 1.5 periods (``valid``) and whether it falls in a gap of more than ``LONG_GAP_S`` of
any sensor (``lost``: a sensor vanished; nothing there is to be trusted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imuhip.errors import ImuhipError
from imuhip.samples import ImuSamples

#: A gap longer than this (seconds) in a sensor's samples is a lost stretch, not a few lost
#: packets.
LONG_GAP_S = 0.25
#: The grid must cover at least this long (seconds) of data from every sensor.
MIN_OVERLAP_S = 1.0
#: ... and at most this long (seconds, two days): times spanning more are damaged (a clock
#: jump), and a grid over them would not fit in memory.
MAX_SPAN_S = 48 * 3600.0


@dataclass(frozen=True)
class GridChunk:
    """Consecutive grid points.

    Attributes:
        t: (n,) seconds on the session time base.
        samples: role -> samples on ``t`` (acc, gyr; no magnetometer).
        valid: (n,) every sensor had a real sample within 1.5 periods.
        lost: (n,) inside a gap over ``LONG_GAP_S`` of some sensor.
        lost_by_role: role -> (n,) inside a gap over ``LONG_GAP_S`` of that sensor.
    """

    t: np.ndarray
    samples: dict[str, ImuSamples]
    valid: np.ndarray
    lost: np.ndarray
    lost_by_role: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.t)


def _interp(t: np.ndarray, st: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(t, st, v[:, k]) for k in range(3)], axis=1)


class StreamingGrid:
    """Resample ``roles``' samples onto one grid at ``rate_hz`` (see the module docstring).

    The grid starts at the latest first sample of its roles; with ``lattice`` at the first
    point of the lattice ``k / rate_hz`` (k integer) from there, so that grids of other roles
    (another leg's) at the same rate share their points.
    """

    def __init__(self, roles: tuple[str, ...], rate_hz: float, *, lattice: bool = False) -> None:
        if not rate_hz > 0 or not np.isfinite(rate_hz):
            raise ImuhipError(f"the grid rate must be a positive number of Hz, not {rate_hz}")
        self.roles = roles
        self.rate_hz = float(rate_hz)
        self.lattice = lattice
        self._buf: dict[str, list[ImuSamples]] = {r: [] for r in roles}
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self.start: float | None = None
        self.emitted = 0  # grid points emitted so far

    def add(self, role: str, s: ImuSamples) -> None:
        """Samples of ``role``, after the ones already added."""
        if role not in self._buf or len(s) == 0:
            return
        self._buf[role].append(s)
        self._first.setdefault(role, float(s.t[0]))
        self._last[role] = float(s.t[-1])

    def end_index(self) -> int:
        """Grid points that the samples so far can give (all of them emitted or not)."""
        if len(self._last) < len(self.roles):
            return 0
        if self.start is None:
            first = max(self._first.values())
            self.start = (
                math.ceil(first * self.rate_hz - 1e-9) / self.rate_hz if self.lattice else first
            )
        stop = min(self._last.values())
        if stop < self.start:
            return 0
        return int(np.floor((stop - self.start) * self.rate_hz)) + 1

    def time_of(self, k: int) -> float:
        """Time (s) of grid point ``k`` (once the grid has started)."""
        assert self.start is not None
        return self.start + k / self.rate_hz

    def emit(self, until: int | None = None) -> GridChunk | None:
        """The grid points ready now (up to index ``until``, exclusive), or None."""
        end = self.end_index()
        if until is not None:
            end = min(end, until)
        if end <= self.emitted:
            return None
        assert self.start is not None
        if end / self.rate_hz > MAX_SPAN_S:
            raise ImuhipError(
                f"the sensors' sample times run from {self.start:.3f} s to "
                f"{self.start + end / self.rate_hz:.6g} s, longer than any session "
                f"({MAX_SPAN_S / 3600:.0f} h): the times are damaged (a clock jump?) and cannot "
                "be put on one time grid"
            )
        t = self.start + np.arange(self.emitted, end) / self.rate_hz
        self.emitted = end
        valid = np.ones(len(t), bool)
        lost = np.zeros(len(t), bool)
        out = {}
        lost_by_role = {}
        for role in self.roles:
            s = self._joined(role)
            i = np.clip(np.searchsorted(s.t, t), 1, max(1, len(s.t) - 1))
            if len(s.t) > 1:
                nearest = np.minimum(np.abs(s.t[i] - t), np.abs(s.t[i - 1] - t))
                valid &= nearest <= 1.5 / self.rate_hz
                lost_by_role[role] = (s.t[i] - s.t[i - 1]) > LONG_GAP_S
            else:
                valid &= np.abs(s.t[0] - t) <= 1.5 / self.rate_hz
                lost_by_role[role] = np.zeros(len(t), bool)
            lost |= lost_by_role[role]
            out[role] = ImuSamples(t, _interp(t, s.t, s.acc), _interp(t, s.t, s.gyr))
            # keep the samples the next grid point may still need (its left neighbour on), in
            # their own memory (not the whole joined block)
            keep = max(0, int(np.searchsorted(s.t, t[-1], side="right")) - 2)
            self._buf[role] = [s.slice(keep, len(s), copy=True)]
        return GridChunk(t, out, valid, lost, lost_by_role)

    def _joined(self, role: str) -> ImuSamples:
        parts = self._buf[role]
        if len(parts) > 1:
            parts[:] = [ImuSamples.concatenate(parts)]
        return parts[0]

    def check_overlap(self) -> None:
        """Raise when the sensors' data never overlapped by ``MIN_OVERLAP_S``."""
        if any(r not in self._last for r in self.roles):
            names = " and ".join(self.roles)
            every = "both" if len(self.roles) == 2 else "all"
            raise ImuhipError(f"{every} {names} sensors need data to compute the hip angle")
        if self.emitted / self.rate_hz < MIN_OVERLAP_S:
            raise ImuhipError(
                "the " + " and ".join(self.roles) + " recordings overlap by less than a second"
            )
