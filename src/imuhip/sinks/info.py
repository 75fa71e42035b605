"""Plain-text description of a session: what ``imuhip info`` prints."""

from __future__ import annotations

from pathlib import Path

from imuhip.align.streams import SensorStream
from imuhip.errors import LayoutError
from imuhip.files.session_file import ORIENTATION_SOURCE_KEY
from imuhip.fusion.gyro_scale import GyroScaleError, scale_from_config
from imuhip.fusion.vendor import vendor_orientation_note
from imuhip.pipeline.file_timing import FileTiming
from imuhip.pipeline.trace_envelope import SampleTimes
from imuhip.session import SensorInfo, SessionSummary
from imuhip.sinks.dates import local_time
from imuhip.sinks.live_view import MISSING, REJECTED


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def describe(path: Path, timing: FileTiming) -> str:
    """Human-readable summary of the session file at ``path`` as :func:`file_timing` found it:
    header and layout, per-sensor counts/rates/gaps/drops, events, file health."""
    session = timing.summary
    out = _header_lines(path, session)
    out += ["", "sensors", *_table(_sensor_rows(timing))]
    for info in session.header.sensors:
        out += _sensor_notes(info, timing.streams[info.role], timing.times[info.role])
    out += ["", f"events ({len(session.events)})", *_event_lines(session)]
    out += ["", "file", *_file_lines(session)]
    return "\n".join(out)


def _header_lines(path: Path, session: SessionSummary) -> list[str]:
    h = session.header
    t0, t1 = session.time_range
    try:
        layout = h.layout.describe()
    except LayoutError as exc:  # a file whose roles form no layout is still described
        layout = f"not a usable layout ({exc})"
    return [
        f"session    {path}",
        f"written    {local_time(h.created_utc, zone=True)} by imuhip {h.imuhip_version or '?'}",
        f"side       {h.side}",
        f"layout     {layout}",
        f"exercise   {h.exercise}",
        f"time base  {h.time_base}",
        f"duration   {t1 - t0:.3f} s  (t = {t0:.3f} .. {t1:.3f} s)",
    ]


SENSOR_COLUMNS = (
    "role",
    "profile",
    "address",
    "firmware",
    "rate set",
    "samples",
    "eff. rate",
    "gaps",
    MISSING,
    REJECTED,
)


def _sensor_rows(timing: FileTiming) -> list[list[str]]:
    """The sensor table, one row per sensor of the header (every role of the layout)."""
    session = timing.summary
    dropped_events: dict[str, int] = {}
    for e in session.events:
        if e.kind == "packets_dropped" and e.sensor:
            dropped_events[e.sensor] = dropped_events.get(e.sensor, 0) + int(e.data.get("count", 0))
    rows = [list(SENSOR_COLUMNS)]
    for info in session.header.sensors:
        st, times = timing.streams[info.role], timing.times[info.role]
        dropped = dropped_events.get(info.role, 0) + (st.stats.dropped if st.stats else 0)
        rows.append(
            [
                info.role,
                info.profile,
                info.address or "-",
                info.firmware or "-",
                f"{info.rate_hz:g} Hz" if info.rate_hz else "-",
                str(times.count),
                f"{times.effective_rate_hz:.2f} Hz",
                str(times.gaps),
                # gaps on the host time base already hold the samples a decoder saw missing
                # (sequence counters, timestamps); the larger count is the better one
                str(max(times.missing, st.stats.lost_samples if st.stats else 0)),
                str(dropped),
            ]
        )
    return rows


def _sensor_notes(info: SensorInfo, st: SensorStream, times: SampleTimes) -> list[str]:
    """One sensor's drop reasons, gyro scales, connection interval and longest gap."""
    out = []
    if st.stats and st.stats.reasons:
        reasons = ", ".join(f"{k}: {v}" for k, v in st.stats.reasons.most_common())
        out.append(f"  {info.role} drops: {reasons}")
    try:
        scale = scale_from_config(info.config)
    except GyroScaleError as exc:
        out.append(f"  {info.role} warning: {exc}")
        scale = None
    if scale is not None:
        pct = " ".join(f"{a} {100 * (v - 1):+.2f} %" for a, v in zip("xyz", scale, strict=True))
        out.append(f"  {info.role} gyro scales (table calibration, taken out): {pct}")
    if info.config.get(ORIENTATION_SOURCE_KEY) == "vendor":
        out.append(f"  {info.role}: {vendor_orientation_note(info.role)}")
    if st.connection_interval_s is not None:
        ms = 1e3 * st.connection_interval_s
        out.append(f"  {info.role} BLE connection interval (from arrival times): {ms:.2f} ms")
    if times.longest_gap_s is not None and times.longest_gap_at_s is not None:
        where = f"{times.longest_gap_s:.3f} s at t = {times.longest_gap_at_s:.3f} s"
        out.append(f"  {info.role} longest gap: {where}")
    return out


def _event_lines(session: SessionSummary) -> list[str]:
    out = []
    for e in session.events:
        detail = " ".join(f"{k}={v}" for k, v in e.data.items())
        who = f"[{e.sensor}] " if e.sensor else ""
        out.append(f"  {e.t:10.3f} s  {e.kind:<20} {who}{detail}".rstrip())
    return out


def _file_lines(session: SessionSummary) -> list[str]:
    r = session.report
    out = [f"  {r.file_size} bytes, {r.records} records, " + ("intact" if r.ok else "DAMAGED")]
    return out + [f"  warning: {m}" for m in r.messages()]
