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


#: Length of the tremor band-pass filter, seconds (its delay is half of it).
FIR_S = 0.3


def tremor_fir(rate_hz: float, band: tuple[float, float] = BAND_HZ, length_s: float = FIR_S):
    """Taps (odd length, linear phase) of a Hamming-windowed band-pass FIR over ``band`` Hz at
    ``rate_hz``, scaled to unit gain at the band's centre: the filtered angular rate squared
    and summed over the axes is the tremor power (rad²/s²) sample by sample, delayed by half
    the filter's length."""
    n = max(3, round(length_s * rate_hz) | 1)
    m = np.arange(n) - (n - 1) / 2
    f1, f2 = band[0] / rate_hz, band[1] / rate_hz
    h = (2 * f2 * np.sinc(2 * f2 * m) - 2 * f1 * np.sinc(2 * f1 * m)) * np.hamming(n)
    fc = 0.5 * (f1 + f2)
    gain = abs(np.sum(h * np.exp(-2j * np.pi * fc * np.arange(n))))
    return h / gain
