"""Effort index: physiological tremor power of the shin while pushing against the band."""

from __future__ import annotations

import numpy as np

#: Frequency band of the tremor that grows with muscle effort, Hz.
BAND_HZ = (6.0, 12.0)


def band_power(gyr: np.ndarray, rate_hz: float, band: tuple[float, float] = BAND_HZ) -> float:
    """Mean power of the angular rate (rad²/s², summed over the axes) within ``band`` over the
    window (N, 3): a sine of amplitude A in the band gives A²/2 whatever the window's length.

    Uses the Hann-windowed periodogram of each axis after removing its mean, scaled so that the
    one-sided spectrum sums to the mean square; returns NaN for windows shorter than one period
    of the band's lower edge.
    """
    n = len(gyr)
    if n < rate_hz / band[0]:
        return float("nan")
    x = gyr - gyr.mean(axis=0)
    w = np.hanning(n)
    spec = np.abs(np.fft.rfft(x * w[:, None], axis=0)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / rate_hz)
    sel = (freqs >= band[0]) & (freqs <= band[1])
    return float(2.0 * spec[sel].sum() / (n * np.sum(w * w)))
