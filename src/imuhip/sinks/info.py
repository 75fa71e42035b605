"""Plain-text description of a session: what ``imuhip info`` prints."""

from __future__ import annotations

from pathlib import Path

from imuhip.align.gaps import stream_health
from imuhip.align.streams import SensorStream
from imuhip.errors import LayoutError
from imuhip.files.session_file import ORIENTATION_SOURCE_KEY
from imuhip.fusion.gyro_scale import GyroScaleError, scale_from_config
from imuhip.fusion.vendor import vendor_orientation_note
from imuhip.session import SensorInfo, Session
from imuhip.sinks.dates import local_time
from imuhip.sinks.live_view import MISSING, REJECTED


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def describe(path: Path, session: Session, streams: dict[str, SensorStream]) -> str:
    """Human-readable summary: header and layout, per-sensor counts/rates/gaps/drops, events,
    file health."""
    out = _header_lines(path, session)
    out += ["", "sensors", *_table(_sensor_rows(session, streams))]
    for info in session.header.sensors:
        out += _sensor_notes(info, streams[info.role])
    out += ["", f"events ({len(session.events)})", *_event_lines(session)]
    out += ["", "file", *_file_lines(session)]
    return "\n".join(out)


def _header_lines(path: Path, session: Session) -> list[str]:
    h = session.header
    t0, t1 = session.time_range()
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


def _sensor_rows(session: Session, streams: dict[str, SensorStream]) -> list[list[str]]:
    """The sensor table, one row per sensor of the header (every role of the layout)."""
    dropped_events: dict[str, int] = {}
    for e in session.events:
        if e.kind == "packets_dropped" and e.sensor:
            dropped_events[e.sensor] = dropped_events.get(e.sensor, 0) + int(e.data.get("count", 0))
    rows = [list(SENSOR_COLUMNS)]
    for info in session.header.sensors:
        st = streams[info.role]
        health = stream_health(st.samples.t, info.rate_hz, st.segment_starts_s)
        dropped = dropped_events.get(info.role, 0) + (st.stats.dropped if st.stats else 0)
        rows.append(
            [
                info.role,
                info.profile,
                info.address or "-",
                info.firmware or "-",
                f"{info.rate_hz:g} Hz" if info.rate_hz else "-",
                str(health.count),
                f"{health.effective_rate_hz:.2f} Hz",
                str(len(health.gaps)),
                # gaps on the host time base already hold the samples a decoder saw missing
                # (sequence counters, timestamps); the larger count is the better one
                str(max(health.missing, st.stats.lost_samples if st.stats else 0)),
                str(dropped),
            ]
        )
    return rows


def _sensor_notes(info: SensorInfo, st: SensorStream) -> list[str]:
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
    health = stream_health(st.samples.t, info.rate_hz, st.segment_starts_s)
    if health.gaps:
        longest = max(health.gaps, key=lambda g: g.length_s)
        where = f"{longest.length_s:.3f} s at t = {longest.start_s:.3f} s"
        out.append(f"  {info.role} longest gap: {where}")
    return out


def _event_lines(session: Session) -> list[str]:
    out = []
    for e in session.events:
        detail = " ".join(f"{k}={v}" for k, v in e.data.items())
        who = f"[{e.sensor}] " if e.sensor else ""
        out.append(f"  {e.t:10.3f} s  {e.kind:<20} {who}{detail}".rstrip())
    return out


def _file_lines(session: Session) -> list[str]:
    r = session.report
    out = [f"  {r.file_size} bytes, {r.records} records, " + ("intact" if r.ok else "DAMAGED")]
    return out + [f"  warning: {m}" for m in r.messages()]
