"""Several sensors' data on one time base: first from what the files carry, then checked
against the gyroscope signals (:mod:`imuhip.align.signal_offset`).

Files whose origins count the same clock (the same epoch, DOT sensor ticks of synchronised
sensors, one shared ``time_s``) are placed by the difference of their origins. Files without a
common clock are lined up at their first samples. Then the offset between the thigh's and the
shin's gyroscopes is estimated from the movements: an offset of at least
:func:`offset_threshold_s` is corrected and reported; when there is no common clock and the
signals cannot resolve the offset, the import is refused (:class:`TimeAlignmentError`) unless
forced.
"""

from __future__ import annotations

from dataclasses import dataclass

from imuhip.align.signal_offset import OffsetParams, SignalOffset, estimate_offset
from imuhip.errors import TimeAlignmentError
from imuhip.files.importers.sensor import SensorData

#: Periods of the slower sensor below which a signal offset is not corrected. On SIMULATED
#: sessions the estimate is within 4.4 ms of the truth (bench/signal_offset.py), half a period
#: at 100 Hz, so two periods are well clear of the estimate's own error.
THRESHOLD_PERIODS = 2.0


@dataclass(frozen=True)
class Alignment:
    """How the sensors were put on one time base.

    Attributes:
        reference: the role whose clock is the session's time base.
        shared_clock: roles placed from a clock they share with the reference.
        shifts_s: seconds added to each role's times (0 for the reference).
        signal: the gyroscope check of the shin against the thigh, when it ran.
        corrected_s: the offset taken off the shin from the signals (0 when none).
        notes: what was done, in plain words.
    """

    reference: str
    shared_clock: tuple[str, ...]
    shifts_s: dict[str, float]
    signal: SignalOffset | None
    corrected_s: float
    notes: tuple[str, ...]


def offset_threshold_s(a: SensorData, b: SensorData) -> float:
    """Smallest offset corrected: two sample periods of the slower of the two sensors."""
    return THRESHOLD_PERIODS / min(a.rate_hz, b.rate_hz)


def align_sensors(
    sensors: dict[str, SensorData], *, force: bool = False
) -> tuple[dict[str, SensorData], Alignment]:
    """Put ``sensors`` on the reference's (thigh's, else the first's) time base and check it."""
    ref = "thigh" if "thigh" in sensors else next(iter(sensors))
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
    signal = None
    corrected = 0.0
    if "thigh" in out and "shin" in out:
        th, sh = out["thigh"], out["shin"]
        params = OffsetParams(grid_hz=min(100.0, max(th.rate_hz, sh.rate_hz)))
        signal = estimate_offset(th.samples.t, th.samples.gyr, sh.samples.t, sh.samples.gyr, params)
        limit = offset_threshold_s(th, sh)
        if signal.resolved:
            if abs(signal.offset_s) >= limit:
                corrected = signal.offset_s
                out["shin"] = sh.shifted(-corrected)
                shifts["shin"] -= corrected
                way = "ahead of" if corrected > 0 else "behind"
                notes.append(
                    f"the shin's times ran {abs(corrected):.3f} s {way} the thigh's (found from "
                    f"the gyroscopes, correlation {signal.correlation:.2f} against "
                    f"{signal.runner_up:.2f} for any other lag): corrected"
                )
            else:
                notes.append(
                    f"thigh and shin agree in time (gyroscope check: {signal.offset_s * 1000:.1f} "
                    f"ms, under the {limit * 1000:.0f} ms threshold)"
                )
        elif "shin" in shared:
            notes.append(f"thigh/shin timing not checked from the signals: {signal.reason}")
        else:
            msg = (
                "thigh and shin share no clock and their offset cannot be found from the "
                f"gyroscopes ({signal.reason}); record the calibration movements in both files, "
                "or give files with a common clock"
            )
            if not force:
                raise TimeAlignmentError(msg + " (--force imports them lined up at their starts)")
            notes.append("warning: " + msg)
    return out, Alignment(ref, tuple(shared), shifts, signal, corrected, tuple(notes))
