"""Plain-language doubts about a session's result: slow links, short rates, unchecked heading.

Pure functions of the aligned streams (:class:`~imuhip.align.streams.SensorStream`), the
session header and the calibration; times in seconds, rates in Hz.
"""

from __future__ import annotations

import numpy as np

from imuhip.align.streams import SensorStream
from imuhip.joint.calibration import Calibration
from imuhip.session import SessionHeader

#: A stretch this long (seconds) without the leg coming to rest is reported.
UNCHECKED_HEADING_S = 60.0
#: ... when the femur's vertical share in the start pose is at least this (the thigh's heading
#: error turns the angle by about that share of itself: ~0 prone, ~0.7 supine).
HEADING_SENSITIVITY = 0.2


def unchecked_heading_stretches(
    t: np.ndarray, rest_seen: np.ndarray | None, min_s: float = UNCHECKED_HEADING_S
) -> list[tuple[float, float]]:
    """(start, end) times, seconds, of stretches of at least ``min_s`` in which the leg never
    came to rest (``rest_seen`` false), so the thigh's heading drift against the pelvis went
    unchecked."""
    if rest_seen is None or len(t) == 0:
        return []
    seen = np.flatnonzero(rest_seen)
    edges = np.r_[t[0], t[seen], t[-1]] if len(seen) else np.r_[t[0], t[-1]]
    gaps = np.flatnonzero(np.diff(edges) >= min_s)
    return [(float(edges[i]), float(edges[i + 1])) for i in gaps]


def heading_needs_rests(cal: Calibration) -> bool:
    """Whether the angle in this pose depends on the thigh's heading being checked at rests
    (seated and supine: the femur is not horizontal)."""
    return cal.femur_start is not None and abs(float(cal.femur_start[2])) >= HEADING_SENSITIVITY


#: A timestamp-less sensor's connection interval above this (s) gets a warning: its sample
#: times, rebuilt from arrival times, may then be up to a sample period off (README).
SLOW_INTERVAL_S = 0.02


def slow_link(timing: str, interval_s: float | None) -> bool:
    """Whether a sensor timed from arrivals (``timing == "reconstructed"``) had a connection
    interval (s) over :data:`SLOW_INTERVAL_S`."""
    return timing == "reconstructed" and interval_s is not None and interval_s > SLOW_INTERVAL_S


def slow_link_warning(role: str, interval_s: float, period_s: float) -> str:
    """The warning for :func:`slow_link` (``period_s``: the sensor's sample period)."""
    return (
        f"the {role} sensor sends no timestamps and its Bluetooth connection interval was "
        f"{1e3 * interval_s:.1f} ms: its sample times, rebuilt from arrival times, may be up to "
        f"a sample period ({1e3 * period_s:.0f} ms) off the other sensor's; a 7.5-15 ms "
        "interval times it to about a millisecond (see firmware_notes/witmotion.md)"
    )


def timing_warnings(
    streams: dict[str, SensorStream],
    header: SessionHeader,
    stack_interval_s: dict[str, float] | None = None,
) -> tuple[str, ...]:
    """Warnings for thigh or shin sensors timed from arrivals over a slow BLE link (the
    sample period from the configured rate, as the live summary takes it). The interval is
    the Bluetooth stack's figure where it reported one (``stack_interval_s``: role -> s, from
    the ``link_parameters`` events), else the one seen in the arrival times (which a busy host
    can make look slower), as the live summary takes it."""
    out = []
    for role in ("thigh", "shin"):
        st = streams.get(role)
        if st is None:
            continue
        ci = (stack_interval_s or {}).get(role, st.connection_interval_s)
        if ci is None or not slow_link(st.timing, ci):
            continue
        rate = header.sensor(role).rate_hz
        out.append(slow_link_warning(role, ci, 1.0 / rate if rate else 0.0))
    return tuple(out)


#: A timestamp-less sensor that delivers less than this share of its configured rate gets a
#: warning: its samples are timed at the configured rate, which is then either wrong (the
#: sensor runs slower: a rate setting that did not take) or right with heavy losses.
RATE_SHORTFALL = 0.75


def rate_warning(role: str, received_hz: float, configured_hz: float) -> str | None:
    """The warning for a timestamp-less sensor delivering ``received_hz`` samples per second
    of streaming against ``configured_hz``; None when it delivered enough."""
    if not configured_hz or received_hz >= RATE_SHORTFALL * configured_hz:
        return None
    share = 100 * (1 - received_hz / configured_hz)
    return (
        f"the {role} sensor delivered {received_hz:.1f} samples/s of the {configured_hz:g} Hz "
        "it was set to: either it ran slower (its rate setting did not take: power-cycle it "
        "and record again; firmware_notes/witmotion.md), and then its lost-sample count and "
        f"sample times, rebuilt for {configured_hz:g} Hz, are not to be trusted, or "
        f"{share:.0f} % of its notifications were lost"
    )


def rate_warnings(streams: dict[str, SensorStream], header: SessionHeader) -> tuple[str, ...]:
    """:func:`rate_warning` for each reconstructed stream of the session."""
    out = []
    for info in header.sensors:
        st = streams.get(info.role)
        if st is None or st.received_rate_hz is None or not info.rate_hz:
            continue
        w = rate_warning(info.role, st.received_rate_hz, info.rate_hz)
        if w:
            out.append(w)
    return tuple(out)


def heading_warnings(
    t: np.ndarray, rest_seen: np.ndarray | None, cal: Calibration
) -> tuple[str, ...]:
    """Warnings for :func:`unchecked_heading_stretches` in poses where they matter."""
    if not heading_needs_rests(cal):
        return ()
    return tuple(
        f"from {a:.0f} s to {b:.0f} s the leg never rested still for a second at its rest "
        "position, so the thigh sensor's heading drift went unchecked: the angle there may be "
        "off by a few degrees (rest a moment between movements)"
        for a, b in unchecked_heading_stretches(t, rest_seen)
    )
