"""Time offset between two sensors of one leg, estimated from their gyroscope signals.

The thigh and shin sensors turn together whenever the hip moves (the knee is a hinge, so both
see the rotation about the femur) and the shin alone in knee bends, so the two angular speeds
rise and fall at the same moments. The offset is the lag that maximises the correlation of the
two angular-speed magnitudes (Pearson correlation over the overlap at each lag, so a lag that
leaves little overlap is not favoured), refined to a fraction of a grid step by a parabola
through the peak. Confidence compares the peak with the best correlation at lags more than
:attr:`OffsetParams.separation_s` away: periodic reps give secondary peaks one rep apart, and
a peak that barely stands out above them is not resolved.

Pure: arrays in, a :class:`SignalOffset` out. Times in seconds, angular rate in rad/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OffsetParams:
    """Settings of :func:`estimate_offset`.

    Attributes:
        grid_hz: rate of the common grid both signals are interpolated onto, Hz.
        max_lag_s: largest offset searched, seconds (also at most half the shorter span).
        smooth_s: moving-average length applied to the angular speeds, seconds.
        separation_s: how far from the peak a competing peak must lie, seconds.
        min_correlation: a peak correlation below this is not resolved.
        min_margin: the peak must exceed the best competing correlation by this much.
        min_motion: the angular speed's standard deviation must reach this (rad/s) in both.
    """

    grid_hz: float = 50.0
    max_lag_s: float = 60.0
    smooth_s: float = 0.1
    separation_s: float = 1.0
    min_correlation: float = 0.3
    min_margin: float = 0.1
    min_motion: float = 0.02


@dataclass(frozen=True)
class SignalOffset:
    """How far sensor b's clock runs ahead of sensor a's.

    Attributes:
        offset_s: an event at a-time T shows at b-time T + offset_s; subtract it from b's times.
        correlation: correlation of the angular speeds at the peak (-1..1).
        runner_up: best correlation more than ``separation_s`` from the peak.
        resolved: whether the peak is clear enough to trust.
        reason: why not resolved, in plain words ("" when resolved).
    """

    offset_s: float
    correlation: float
    runner_up: float
    resolved: bool
    reason: str = ""

    @property
    def confidence(self) -> float:
        """Margin of the peak over the runner-up, 0 (ambiguous) to 2 (clear)."""
        return float(self.correlation - self.runner_up)


def _speed_on_grid(t: np.ndarray, gyr: np.ndarray, grid: np.ndarray, smooth: int, gap_s: float):
    w = np.linalg.norm(gyr, axis=1)
    if smooth > 1:
        k = np.ones(smooth) / smooth
        w_s = np.convolve(np.interp(grid, t, w), k, mode="same")
    else:
        w_s = np.interp(grid, t, w)
    valid = (grid >= t[0]) & (grid <= t[-1])
    # grid points inside gaps of the data carry no information
    i = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    valid &= (t[i] - t[i - 1]) <= gap_s
    return np.where(valid, w_s, 0.0), valid.astype(np.float64)


def estimate_offset(
    t_a: np.ndarray,
    gyr_a: np.ndarray,
    t_b: np.ndarray,
    gyr_b: np.ndarray,
    params: OffsetParams | None = None,
) -> SignalOffset:
    """Estimate the offset of b's clock against a's from the two gyroscopes (rad/s).

    Both time arrays must be increasing seconds, on the clocks to be compared.
    """
    p = params or OffsetParams()
    if len(t_a) < 2 or len(t_b) < 2:
        return SignalOffset(0.0, 0.0, 0.0, False, "too few samples")
    span = min(t_a[-1] - t_a[0], t_b[-1] - t_b[0])
    max_lag = min(p.max_lag_s, span / 2.0)
    step = 1.0 / p.grid_hz
    lo = min(t_a[0], t_b[0]) - max_lag
    hi = max(t_a[-1], t_b[-1]) + max_lag
    grid = lo + np.arange(int((hi - lo) / step) + 1) * step
    smooth = max(int(np.rint(p.smooth_s * p.grid_hz)), 1)
    gap_a = 3.0 * float(np.median(np.diff(t_a)))
    gap_b = 3.0 * float(np.median(np.diff(t_b)))
    x, mx = _speed_on_grid(t_a, gyr_a, grid, smooth, max(gap_a, 2 * step))
    y, my = _speed_on_grid(t_b, gyr_b, grid, smooth, max(gap_b, 2 * step))
    if min(np.std(x[mx > 0]), np.std(y[my > 0])) < p.min_motion:
        return SignalOffset(0.0, 0.0, 0.0, False, "too little movement in one of the sensors")

    from scipy.signal import correlate  # here: rarely needed, and costly to import

    # corr[k] = sum_i a[i + L] b[i] with L = k - (len - 1): b delayed by L grid steps
    def c(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return correlate(a, b, mode="full", method="fft")

    n = c(mx, my)
    sx, sy = c(x, my), c(mx, y)
    sxx, syy, sxy = c(x * x, my), c(mx, y * y), c(x, y)
    lags = (np.arange(len(n)) - (len(grid) - 1)) * step
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / n
        var = (sxx - sx * sx / n) * (syy - sy * sy / n)
        r = cov / np.sqrt(var)
    min_overlap = 0.5 * min(mx.sum(), my.sum())
    ok = (np.abs(lags) <= max_lag) & (n >= min_overlap) & np.isfinite(r)
    if not ok.any():
        return SignalOffset(0.0, 0.0, 0.0, False, "the recordings hardly overlap")
    r = np.where(ok, r, -np.inf)
    k = int(np.argmax(r))
    best = float(r[k])
    frac = 0.0
    if 0 < k < len(r) - 1 and np.isfinite(r[k - 1]) and np.isfinite(r[k + 1]):
        den = r[k - 1] - 2 * r[k] + r[k + 1]
        if den < 0:
            frac = float(np.clip(0.5 * (r[k - 1] - r[k + 1]) / den, -0.5, 1.0 - 0.5))
    # a at T, b at T + d: b's signal y(t) = x(t - d); corr peaks where x(i + L) = y(i): L = -d
    offset = -(float(lags[k]) + frac * step)
    far = ok & (np.abs(lags - lags[k]) > p.separation_s)
    runner = float(r[far].max()) if far.any() else -1.0
    if best < p.min_correlation:
        return SignalOffset(
            offset,
            best,
            runner,
            False,
            f"the gyroscopes' movements hardly match (correlation {best:.2f})",
        )
    if best - runner < p.min_margin:
        return SignalOffset(
            offset,
            best,
            runner,
            False,
            f"ambiguous: lags {offset:.2f} s and another more than {p.separation_s:g} s away "
            f"match almost equally (correlation {best:.2f} against {runner:.2f})",
        )
    return SignalOffset(offset, best, runner, True)
