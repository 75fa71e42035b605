"""Gaps and effective rates of a sample stream."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Gap:
    """Samples missing between ``start_s`` and ``start_s + length_s`` (about ``missing``).

    ``restart`` is True when the stream restarted (a new clock segment: reconnect or reset)
    at the end of the gap, so the missing samples were never sent rather than lost.
    """

    start_s: float
    length_s: float
    missing: int
    restart: bool = False


@dataclass(frozen=True)
class StreamHealth:
    """Timing facts of one stream.

    Attributes:
        count: samples.
        duration_s: first to last sample.
        effective_rate_hz: (count - 1) / duration.
        period_s: nominal sample period used to find gaps (configured rate, else median).
        gaps: intervals longer than 1.5 periods.
        missing: samples estimated missing in all gaps (restart gaps included).
        restarts: gaps that end in a stream restart.
    """

    count: int
    duration_s: float
    effective_rate_hz: float
    period_s: float
    gaps: tuple[Gap, ...]
    missing: int
    restarts: int = 0


def stream_health(
    t: np.ndarray, nominal_rate_hz: float = 0.0, segment_starts_s: Sequence[float] = ()
) -> StreamHealth:
    """Find gaps in sample times ``t`` (seconds, increasing).

    ``segment_starts_s``: host times (s) where the stream restarted
    (:attr:`imuhip.align.streams.SensorStream.segment_starts_s`); the gap ending at the first
    the last gap beginning before each is marked as a restart.
    """
    n = len(t)
    if n < 2:
        return StreamHealth(n, 0.0, 0.0, 0.0, (), 0)
    dt = np.diff(t)
    period = 1.0 / nominal_rate_hz if nominal_rate_hz > 0 else float(np.median(dt))
    big = np.flatnonzero(dt > 1.5 * period)
    missing = np.maximum(np.rint(dt[big] / period).astype(np.int64) - 1, 1)
    # the last gap that begins before each restart time ends in that restart
    k = np.searchsorted(t[big], np.asarray(segment_starts_s, float), "left") - 1
    restart_at = set(big[k[k >= 0]].tolist())
    gaps = tuple(
        Gap(float(t[i]), float(dt[i]), int(m), int(i) in restart_at)
        for i, m in zip(big, missing, strict=True)
    )
    duration = float(t[-1] - t[0])
    restarts = sum(g.restart for g in gaps)
    return StreamHealth(n, duration, (n - 1) / duration, period, gaps, int(missing.sum()), restarts)
