"""Gaps and effective rates of a sample stream."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gap:
    """Samples missing between ``start_s`` and ``start_s + length_s`` (about ``missing``)."""

    start_s: float
    length_s: float
    missing: int


@dataclass(frozen=True)
class StreamHealth:
    """Timing facts of one stream.

    Attributes:
        count: samples.
        duration_s: first to last sample.
        effective_rate_hz: (count - 1) / duration.
        period_s: nominal sample period used to find gaps (configured rate, else median).
        gaps: intervals longer than 1.5 periods.
        missing: samples estimated missing in all gaps.
    """

    count: int
    duration_s: float
    effective_rate_hz: float
    period_s: float
    gaps: tuple[Gap, ...]
    missing: int


def stream_health(t: np.ndarray, nominal_rate_hz: float = 0.0) -> StreamHealth:
    """Find gaps in sample times ``t`` (seconds, increasing)."""
    n = len(t)
    if n < 2:
        return StreamHealth(n, 0.0, 0.0, 0.0, (), 0)
    dt = np.diff(t)
    period = 1.0 / nominal_rate_hz if nominal_rate_hz > 0 else float(np.median(dt))
    big = np.flatnonzero(dt > 1.5 * period)
    missing = np.maximum(np.rint(dt[big] / period).astype(np.int64) - 1, 1)
    gaps = tuple(Gap(float(t[i]), float(dt[i]), int(m)) for i, m in zip(big, missing, strict=True))
    duration = float(t[-1] - t[0])
    return StreamHealth(n, duration, (n - 1) / duration, period, gaps, int(missing.sum()))
