"""Several sensors' data on one time base: first from what the files carry, then checked
against the gyroscope signals (:mod:`imuhip.align.signal_offset`).

Files whose origins count the same clock (the same epoch, DOT sensor ticks of synchronised
sensors, one shared ``time_s``) are placed by the difference of their origins. Files without a
common clock are lined up at their first samples. Then, for each leg with both sensors, the
offset between its thigh's and its shin's gyroscopes is estimated from the movements: an
offset of at least :func:`offset_threshold_s` is corrected and reported; when there is no
common clock and the signals cannot resolve the offset, the import is refused
(:class:`TimeAlignmentError`) unless forced. Sensors of different legs (and the pelvis, trunk)
are placed by their clocks only: legs move independently, so their gyroscopes do not time them.
"""

from __future__ import annotations

from dataclasses import dataclass

from imuhip.align.signal_offset import OffsetParams, SignalOffset, estimate_offset
from imuhip.errors import TimeAlignmentError
from imuhip.files.importers.sensor import SensorData
from imuhip.layout import Layout

#: Periods of the slower sensor below which a signal offset is not corrected. On SIMULATED
#: sessions the estimate is within 4.4 ms of the truth (bench/signal_offset.py), half a period
#: at 100 Hz, so two periods are well clear of the estimate's own error.
THRESHOLD_PERIODS = 2.0


@dataclass(frozen=True)
class Alignment:
    """How the sensors were put on one time base.

    Attributes:
        reference: the role whose clock is the session's time base (the first leg's thigh, or
            its shin when the leg has no thigh sensor).
        shared_clock: roles placed from a clock they share with the reference.
        shifts_s: seconds added to each role's times (0 for the reference).
        signals: by shin role, the gyroscope check of that shin against its leg's thigh, for
            every leg with both sensors.
        corrected_s: by shin role, the offset taken off that shin from the signals, s (0 when
            none).
        notes: what was done, in plain words.
    """

    reference: str
    shared_clock: tuple[str, ...]
    shifts_s: dict[str, float]
    signals: dict[str, SignalOffset]
    corrected_s: dict[str, float]
    notes: tuple[str, ...]


def offset_threshold_s(a: SensorData, b: SensorData) -> float:
    """Smallest offset corrected: two sample periods of the slower of the two sensors."""
    return THRESHOLD_PERIODS / min(a.rate_hz, b.rate_hz)


def reference_role(sensors: dict[str, SensorData], layout: Layout) -> str:
    """The role whose clock is the time base: the first leg's thigh, else its shin."""
    leg = layout.legs[0]
    for role in (leg.thigh, leg.shin):
        if role is not None and role in sensors:
            return role
    return next(iter(sensors))


def align_sensors(
    sensors: dict[str, SensorData], layout: Layout, *, force: bool = False
) -> tuple[dict[str, SensorData], Alignment]:
    """Put ``sensors`` on the reference's time base (:func:`reference_role`) and check each
    leg's shin against its thigh from the gyroscopes."""
    ref = reference_role(sensors, layout)
    out, shifts, shared, notes = _place_on_clock(sensors, ref)
    signals: dict[str, SignalOffset] = {}
    corrected: dict[str, float] = {}
    for leg in layout.legs:
        if leg.thigh is None or leg.thigh not in out or leg.shin not in out:
            continue
        signal, c, note = _check_leg(out, leg.thigh, leg.shin, leg.shin in shared, force)
        signals[leg.shin] = signal
        corrected[leg.shin] = c
        if c:
            out[leg.shin] = out[leg.shin].shifted(-c)
            shifts[leg.shin] -= c
        notes.append(note)
    return out, Alignment(ref, tuple(shared), shifts, signals, corrected, tuple(notes))


def _place_on_clock(
    sensors: dict[str, SensorData], ref: str
) -> tuple[dict[str, SensorData], dict[str, float], list[str], list[str]]:
    """Every sensor on the reference's clock: from a shared clock, else first samples lined up."""
    base = sensors[ref]
    out: dict[str, SensorData] = {}
    shifts: dict[str, float] = {}
    shared: list[str] = []
    notes: list[str] = []
    for role, s in sensors.items():
        if role == ref:
            shift = 0.0
        elif s.origin.shares_clock(base.origin):
            shift = s.origin.offset_s(base.origin)
            shared.append(role)
        else:
            shift = float(base.samples.t[0] - s.samples.t[0])
            notes.append(
                f"{role} and {ref} share no clock ({s.origin.domain.value} and "
                f"{base.origin.domain.value}): their first samples were lined up, then the "
                "offset was checked from the gyroscopes"
            )
        shifts[role] = shift
        out[role] = s.shifted(shift) if shift else s
    return out, shifts, shared, notes


def _check_leg(
    out: dict[str, SensorData], thigh: str, shin: str, shin_shared: bool, force: bool
) -> tuple[SignalOffset, float, str]:
    """The gyroscope check of one leg's shin against its thigh: (signal, correction to take
    off the shin in s, the note); :class:`TimeAlignmentError` when it cannot be resolved and
    there is no common clock (unless ``force``)."""
    th, sh = out[thigh], out[shin]
    params = OffsetParams(grid_hz=min(100.0, max(th.rate_hz, sh.rate_hz)))
    signal = estimate_offset(th.samples.t, th.samples.gyr, sh.samples.t, sh.samples.gyr, params)
    limit = offset_threshold_s(th, sh)
    if signal.resolved:
        if abs(signal.offset_s) >= limit:
            corrected = signal.offset_s
            way = "ahead of" if corrected > 0 else "behind"
            return (
                signal,
                corrected,
                (
                    f"the {shin}'s times ran {abs(corrected):.3f} s {way} the {thigh}'s (found "
                    f"from the gyroscopes, correlation {signal.correlation:.2f} against "
                    f"{signal.runner_up:.2f} for any other lag): corrected"
                ),
            )
        return (
            signal,
            0.0,
            (
                f"{thigh} and {shin} agree in time (gyroscope check: {signal.offset_s * 1000:.1f} "
                f"ms, under the {limit * 1000:.0f} ms threshold)"
            ),
        )
    if shin_shared:
        return signal, 0.0, f"{thigh}/{shin} timing not checked from the signals: {signal.reason}"
    msg = (
        f"{thigh} and {shin} share no clock and their offset cannot be found from the "
        f"gyroscopes ({signal.reason}); record the calibration movements in both files, "
        "or give files with a common clock"
    )
    if not force:
        raise TimeAlignmentError(msg + " (--force imports them lined up at their starts)")
    return signal, 0.0, "warning: " + msg
