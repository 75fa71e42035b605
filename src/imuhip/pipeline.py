"""The processing pipeline from a session to hip angles, reps and holds.

    decode (vendor profiles) -> align (one time grid) -> fusion (orientation per sensor)
    -> joint (calibration, hip rotation) -> analysis (reps, holds)

The calibration's phases are found (from guidance marks or the gyros) before the fusion: each
filter starts with the gyro bias seen in the still start pose (see
:mod:`imuhip.fusion.orientation`).

Replay and offline analysis run this over a whole session; live use runs the same stages
chunk by chunk (the streaming forms of each stage give the same numbers as the batch forms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from imuhip.align.streams import SensorStream, sensor_streams
from imuhip.analysis.detector import DetectorParams
from imuhip.analysis.exercise import ExerciseResult, analyze_exercise
from imuhip.calibration_protocol import PHASE_EVENT, PHASES, START_POSE_SHANK_TILT_DEG
from imuhip.errors import CalibrationError, ImuhipError
from imuhip.fusion.gyro_scale import correct_gyro, scale_from_config
from imuhip.fusion.orientation import DEFAULT_METHOD, estimate_orientation
from imuhip.joint.calibration import Calibration, calibrate
from imuhip.joint.hip_rotation import hip_rotation
from imuhip.joint.phases import Phases, find_phases, phases_from_marks
from imuhip.samples import ImuSamples
from imuhip.session import Event, Session, SessionHeader

#: A gap longer than this (seconds) in either sensor is a lost stretch, not a few lost packets.
LONG_GAP_S = 0.25
#: After a lost stretch the orientation filters re-settle on gravity for this long (seconds);
#: the angle is left undefined meanwhile.
RECOVERY_S = 3.0


@dataclass(frozen=True)
class PipelineOptions:
    """Choices along the pipeline.

    Attributes:
        fusion_method: orientation filter (see :mod:`imuhip.fusion.orientation`); None = the
            default (VQF).
        fusion_params: filter parameters; None = imuhip's defaults (for VQF the package's
            own except a 3 s rest test, ``VQF_DEFAULTS``). (A faster VQF accelerometer
            correction, ``tauAcc=1``, helps the thigh on simulated leg sessions a little but
            costs 30 % on the real BROAD recordings, so it stays VQF's own; docs/fusion.md.)
        rate_hz: common grid rate; 0 = the thigh sensor's configured or measured rate.
        detector: rep/hold thresholds.
    """

    fusion_method: str | None = None
    fusion_params: dict | None = None
    rate_hz: float = 0.0
    detector: DetectorParams = field(default_factory=DetectorParams)


@dataclass(frozen=True)
class Grid:
    """Both sensors on one uniform time grid.

    Attributes:
        t: (N,) seconds.
        rate_hz: grid rate.
        thigh, shin: samples on ``t``.
        valid: (N,) False where either sensor had no data (a gap); those samples are
            interpolated and must not be trusted.
        lost: (N,) True inside gaps longer than ``LONG_GAP_S`` in either sensor (a sensor
            vanished): the pipeline does not interpolate motion there; the angle is undefined
            there and for ``RECOVERY_S`` after, and the rep/hold detector is interrupted.
    """

    t: np.ndarray
    rate_hz: float
    thigh: ImuSamples
    shin: ImuSamples
    valid: np.ndarray
    lost: np.ndarray | None = None


@dataclass(frozen=True)
class SessionAnalysis:
    """Everything ``imuhip analyze`` reports.

    Attributes:
        grid: the aligned input.
        hip_rotation_deg: (N,) on ``grid.t``; NaN before the calibration's final still phase.
        heading_offset_deg: (N,) tracked relative heading (diagnostic), NaN where not tracked.
        knee_flexion_deg: (N,) knee flexion relative to the start pose, NaN where not tracked.
        hip_flexion_deg: (N,) hip flexion relative to the start pose (knee forward/up
            positive), NaN where not tracked.
        warnings: doubts about stretches of the result, in plain words (see
            :func:`unchecked_heading_stretches`).
        calibration: the calibration found.
        exercise: reps and holds after the calibration.
        streams: per-role decoded streams (decoder statistics).
    """

    grid: Grid
    hip_rotation_deg: np.ndarray
    heading_offset_deg: np.ndarray
    calibration: Calibration
    exercise: ExerciseResult
    streams: dict[str, SensorStream]
    knee_flexion_deg: np.ndarray | None = None
    hip_flexion_deg: np.ndarray | None = None
    warnings: tuple[str, ...] = ()


def _resample(s: ImuSamples, t: np.ndarray) -> ImuSamples:
    def interp(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        return np.stack([np.interp(t, s.t, a[:, k]) for k in range(3)], axis=1)

    return ImuSamples(t, interp(s.acc), interp(s.gyr), interp(s.mag))


def common_grid(thigh: ImuSamples, shin: ImuSamples, rate_hz: float) -> Grid:
    """Resample both sensors onto a uniform grid over their common time span; grid points
    more than 1.5 periods from a real sample of either sensor are marked invalid."""
    if len(thigh) < 2 or len(shin) < 2:
        raise ImuhipError("both thigh and shin sensors need data to compute the hip angle")
    start, stop = max(thigh.t[0], shin.t[0]), min(thigh.t[-1], shin.t[-1])
    if stop - start < 1.0:
        raise ImuhipError("the thigh and shin recordings overlap by less than a second")
    t = start + np.arange(int(np.floor((stop - start) * rate_hz)) + 1) / rate_hz
    valid = np.ones(len(t), bool)
    lost = np.zeros(len(t), bool)
    for s in (thigh, shin):
        i = np.clip(np.searchsorted(s.t, t), 1, len(s.t) - 1)
        nearest = np.minimum(np.abs(s.t[i] - t), np.abs(s.t[i - 1] - t))
        valid &= nearest <= 1.5 / rate_hz
        lost |= (s.t[i] - s.t[i - 1]) > LONG_GAP_S
    return Grid(t, rate_hz, _resample(thigh, t), _resample(shin, t), valid, lost)


def gyro_scales(header: SessionHeader) -> dict[str, np.ndarray | None]:
    """Per-axis gyro scale (measured / true) of each role from its header entry (a table
    calibration, :mod:`imuhip.fusion.gyro_scale`), None where there is none."""
    return {s.role: scale_from_config(s.config) for s in header.sensors}


def with_gyro_scales(grid: Grid, header: SessionHeader) -> Grid:
    """The grid with each sensor's gyro scale taken out (live does the same per chunk)."""
    sc = gyro_scales(header)
    if sc.get("thigh") is None and sc.get("shin") is None:
        return grid
    return replace(
        grid,
        thigh=replace(grid.thigh, gyr=correct_gyro(grid.thigh.gyr, sc.get("thigh"))),
        shin=replace(grid.shin, gyr=correct_gyro(grid.shin.gyr, sc.get("shin"))),
    )


def _grid_rate(session: Session, streams: dict[str, SensorStream], opts: PipelineOptions):
    if opts.rate_hz > 0:
        return opts.rate_hz
    configured = session.header.sensor("thigh").rate_hz
    if configured > 0:
        return configured
    return 1.0 / float(np.median(np.diff(streams["thigh"].samples.t)))


def mark_sets(events: Iterable[Event]) -> list[dict[str, float]]:
    """The calibration phase marks of live guidance, one dict (phase -> start time, s) per
    attempt: each ``still_start`` mark begins a new attempt (the guidance starts over after a
    refused calibration)."""
    sets: list[dict[str, float]] = []
    for e in sorted(
        (e for e in events if e.kind == PHASE_EVENT and e.data.get("phase")), key=lambda e: e.t
    ):
        phase = str(e.data["phase"])
        if not sets or (phase == PHASES[0] and sets[-1]):
            sets.append({})
        sets[-1][phase] = float(e.t)
    return sets


def still_start_bias(gyr: np.ndarray, phases: Phases, lost: np.ndarray) -> np.ndarray | None:
    """Gyro bias (3,) rad/s seen in the calibration's still start pose: the mean rate there,
    lost samples left out (None when none is left). Seeds the orientation filter."""
    s0, s1 = phases.still_start
    g = gyr[s0:s1][~lost[s0:s1]]
    return g.mean(axis=0) if len(g) else None


def _calibrate(
    session: Session,
    grid: Grid,
    fuse: Callable[[Phases], tuple[np.ndarray, np.ndarray]],
    undefined: np.ndarray,
    rate: float,
) -> tuple[Calibration, list[str], np.ndarray, np.ndarray]:
    """Calibrate from the first attempt of live guidance that works (as live does: after a
    refusal it waits for the next attempt); without usable marks, from the movements found in
    the data. ``fuse`` gives both sensors' orientations for an attempt's phases (the filters
    are seeded with the gyro bias of its still start pose). Returns the calibration, a note
    per refused attempt and the orientations. Raises the last attempt's
    :class:`CalibrationError` when none works."""
    error: CalibrationError | None = None
    refused: list[str] = []
    attempts = [phases_from_marks(grid.t, m) for m in mark_sets(session.events)]
    for phases in [p for p in attempts if p is not None] or [None]:
        try:
            ph = phases or find_phases(grid.t, grid.thigh.gyr, grid.shin.gyr, rate)
            q_t, q_s = fuse(ph)
            cal = calibrate(
                grid.t,
                grid.thigh.gyr,
                grid.shin.gyr,
                q_t,
                q_s,
                side=session.header.side,
                rate_hz=rate,
                phases=ph,
                shank_tilt_deg=START_POSE_SHANK_TILT_DEG.get(session.header.exercise),
            )
            check_calibration_data(grid.t, undefined, cal)
            return cal, refused, q_t, q_s
        except CalibrationError as exc:
            error = exc
            if phases is not None:
                start = grid.t[phases.still_start[0]]
                refused.append(f"the calibration begun at {start:.1f} s was refused ({exc})")
    assert error is not None
    raise error


def check_calibration_data(t: np.ndarray, undefined: np.ndarray, cal: Calibration) -> None:
    """Refuse a calibration whose movements overlap lost data: the filters saw a still sensor
    there (no motion is invented), so the axes, the heading offset and the zero would be
    silently wrong.

    Args:
        t: (N,) grid times, seconds.
        undefined: (N,) lost samples and the recovery after them (as the angle uses).
        cal: the calibration found on the same grid.

    Raises:
        CalibrationError: with where the data was lost and what to do.
    """
    a, b = cal.phases.still_start[0], cal.phases.still_end[1]
    bad = np.flatnonzero(undefined[a:b])
    if len(bad):
        raise CalibrationError(
            f"the sensors lost data during the calibration (from {t[a + bad[0]]:.1f} s to "
            f"{t[a + bad[-1]]:.1f} s), so it cannot be trusted: do the calibration again "
            "(keep the sensors in range and charged)"
        )


def _after(mask: np.ndarray, n: int) -> np.ndarray:
    """``mask`` extended by ``n`` samples after each of its runs."""
    if not mask.any():
        return mask.copy()
    c = np.cumsum(np.r_[0, mask.astype(np.int64)])
    i = np.arange(len(mask))
    return (c[i + 1] - c[np.maximum(i + 1 - (n + 1), 0)]) > 0


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


def timing_warnings(streams: dict[str, SensorStream], header: SessionHeader) -> tuple[str, ...]:
    """Warnings for thigh or shin sensors timed from arrivals over a slow BLE link (the
    sample period from the configured rate, as the live summary takes it)."""
    out = []
    for role in ("thigh", "shin"):
        st = streams.get(role)
        ci = None if st is None else st.connection_interval_s
        if st is None or ci is None or not slow_link(st.timing, ci):
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


def analyze_session(session: Session, options: PipelineOptions | None = None) -> SessionAnalysis:
    """Run the whole pipeline over a session (see module docstring)."""
    opts = options or PipelineOptions()
    for role in ("thigh", "shin"):
        if role not in session.header.roles:
            raise ImuhipError(f"the session has no {role} sensor; the hip angle needs both")
    streams = sensor_streams(session)
    rate = _grid_rate(session, streams, opts)
    grid = common_grid(streams["thigh"].samples, streams["shin"].samples, rate)
    grid = with_gyro_scales(grid, session.header)
    kw = {"method": opts.fusion_method or DEFAULT_METHOD, "params": opts.fusion_params}
    lost = grid.lost if grid.lost is not None else np.zeros(len(grid.t), bool)
    # no motion is invented inside a lost stretch: the filters see a still sensor there
    gyr_t = np.where(lost[:, None], 0.0, grid.thigh.gyr)
    gyr_s = np.where(lost[:, None], 0.0, grid.shin.gyr)

    def fuse(ph: Phases) -> tuple[np.ndarray, np.ndarray]:
        q = [
            estimate_orientation(
                gyr, acc, rate_hz=rate, initial_bias=still_start_bias(gyr, ph, lost), **kw
            )
            for gyr, acc in ((gyr_t, grid.thigh.acc), (gyr_s, grid.shin.acc))
        ]
        return q[0], q[1]

    undefined = _after(lost, round(RECOVERY_S * rate))
    try:
        cal, refused, q_t, q_s = _calibrate(session, grid, fuse, undefined, rate)
    except CalibrationError as exc:  # a sensor at another rate than set looks like lost data
        hints = rate_warnings(streams, session.header)
        if hints:
            raise CalibrationError(f"{exc}; note: {'; '.join(hints)}") from exc
        raise
    k0, k1 = cal.phases.still_end
    ang = hip_rotation(q_t[k0:], q_s[k0:], cal, rate)

    def on_grid(x: np.ndarray | None, *, mask: bool = True) -> np.ndarray:
        """``x`` from the calibration's final still pose on; NaN before it and, with
        ``mask``, where the data was lost."""
        out = np.full(len(grid.t), np.nan)
        if x is not None:
            out[k0:] = x
        if mask:
            out[undefined] = np.nan
        return out

    angles = on_grid(ang.hip_rotation_deg)
    rest = float(np.nanmean(angles[k0:k1]))
    exercise = analyze_exercise(
        grid.t[k1:],
        np.nan_to_num(angles[k1:], nan=rest),
        grid.shin.gyr[k1:],
        rate,
        rest_deg=rest,
        params=opts.detector,
        valid=~undefined[k1:],
    )
    return SessionAnalysis(
        grid,
        angles,
        on_grid(ang.heading_offset_deg, mask=False),
        cal,
        exercise,
        streams,
        on_grid(ang.knee_flexion_deg),
        on_grid(ang.hip_flexion_deg),
        (
            *refused,
            *rate_warnings(streams, session.header),
            *timing_warnings(streams, session.header),
            *heading_warnings(grid.t[k0:], ang.rest_seen, cal),
        ),
    )
