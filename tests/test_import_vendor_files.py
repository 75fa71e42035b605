"""The real vendor files in ../shared/data/vendor_files/ import with the files' own numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imuhip.errors import CalibrationError, CsvImportError
from imuhip.files.convert import import_files
from imuhip.files.importers import read_file
from imuhip.files.importers.base import STANDARD_GRAVITY, ClockDomain, ImportFormat
from imuhip.files.session_file import read_session
from imuhip.pipeline.analyze import analyze_session

VENDOR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vendor_files"
pytestmark = pytest.mark.skipif(
    not VENDOR.is_dir(), reason=f"vendor files not available ({VENDOR} missing)"
)
DOT_YDT = (
    VENDOR / "movella_dot" / "allwillcome_ydt_D4CA6EF17197_20210830_170505__first3000lines.csv"
)
DOT_BEI = VENDOR / "movella_dot" / "allwillcome_bei_D4CA6EF17860_20210830_170505.csv"
POLAR = VENDOR / "polar_sensor_logger"
P_ACC = POLAR / "biobss_Polar_Sense_ACC__first3000lines.txt"
P_GYR = POLAR / "biobss_Polar_Sense_GYRO__first3000lines.txt"
P_MAG = POLAR / "biobss_Polar_Sense_MAGN__first3000lines.txt"
P_MARKER = POLAR / "biobss_MARKER.txt"


def _rows(path: Path, sep: str, skip: int) -> list[list[str]]:
    """The file's data rows, split plainly (an independent reading of the file)."""
    lines = path.read_text(encoding="utf-8").splitlines()[skip:]
    return [ln.split(sep) for ln in lines if ln.strip()]


@pytest.mark.parametrize(("path", "n_rows"), [(DOT_YDT, 2992), (DOT_BEI, 1953)])
def test_movella_dot_exports_match_the_file(path, n_rows):
    rows = _rows(path, ",", 8)
    assert len(rows) == n_rows
    f = read_file(path)
    assert f.format is ImportFormat.MOVELLA_DOT
    assert f.metadata["FirmwareVersion"] == "1.6.0" and f.metadata["AppVersion"] == "2021.0"
    acc, gyr = f.channel("acc"), f.channel("gyr")
    # the first row's Acc/Gyr are exactly 0 (export artefact): left out and said so
    assert len(gyr.t) == n_rows - 1 and "exactly 0 left out" in f.notes[0]
    ticks = np.array([int(r[1]) for r in rows])
    np.testing.assert_allclose(gyr.t, (ticks[1:] - ticks[0]) / 1e6, rtol=0, atol=1e-12)
    assert (len(gyr.t) - 1) / (gyr.t[-1] - gyr.t[0]) == pytest.approx(120.0, rel=1e-3)
    want_acc = np.array([[float(x) for x in r[5:8]] for r in rows[1:]])
    want_gyr = np.array([[float(x) for x in r[8:11]] for r in rows[1:]])
    np.testing.assert_array_equal(acc.values, want_acc)
    np.testing.assert_allclose(gyr.values, np.radians(want_gyr), rtol=1e-15)
    assert f.gaps == () and f.orientation is not None  # Euler_* kept for later
    assert f.origin.domain is ClockDomain.SENSOR_TICKS
    assert f.origin.start_utc == "2021-08-30T09:05:05.000+00:00"  # 17:05:05 GMT+8


def test_two_dot_sensors_share_their_synchronised_clock(tmp_path):
    res = import_files({"thigh": [DOT_YDT], "shin": [DOT_BEI]}, tmp_path / "s.imuhip", side="right")
    assert res.counts == {"thigh": 2991, "shin": 1952}
    s = read_session(res.path)
    # SampleTimeFine of bei starts 52 822 µs after ydt's: the shin's times carry it
    assert s.samples["shin"].t[0] - s.samples["thigh"].t[0] == pytest.approx(0.052822, abs=1e-9)
    assert s.header.sensor("thigh").rate_hz == pytest.approx(120.0, rel=1e-3)
    assert s.header.sensor("thigh").name == "ydt" and s.header.sensor("shin").firmware == "1.6.0"
    assert s.header.extra["start_utc"] == "2021-08-30T09:05:05.000+00:00"
    assert s.header.extra["import_formats"] == {"thigh": ["movella-dot"], "shin": ["movella-dot"]}


def _extended(path: Path, out: Path) -> Path:
    """The real export as the DOT app writes an "Extended (Euler)" one: the same preamble,
    counter, sensor clock and the vendor's Euler angles, Acc and Gyr left out. (No real
    Extended-mode export is among the shared vendor files; these carry the real orientation.)"""
    lines = path.read_text(encoding="utf-8").splitlines()
    head, rows = lines[:8], lines[8:]
    head[7] = "PacketCounter,SampleTimeFine,Euler_X,Euler_Y,Euler_Z"
    out.write_text(
        "\n".join(head + [",".join(r.split(",")[:5]) for r in rows if r.strip()]) + "\n",
        encoding="utf-8",
    )
    return out


@pytest.mark.parametrize(("path", "n_rows"), [(DOT_YDT, 2992), (DOT_BEI, 1953)])
def test_dot_orientation_only_exports_import_alone_with_the_files_numbers(tmp_path, path, n_rows):
    ext = _extended(path, tmp_path / path.name)
    f = read_file(ext)
    assert not f.channels and f.orientation is not None
    rows = _rows(path, ",", 8)
    ticks = np.array([int(r[1]) for r in rows])
    assert len(f.orientation.t) == n_rows  # every row: the orientation has no zeroed first row
    np.testing.assert_allclose(f.orientation.t, (ticks - ticks[0]) / 1e6, rtol=0, atol=1e-12)
    # alone it is a shin (a thigh alone is no layout)
    res = import_files({"shin": [ext]}, tmp_path / "s.imuhip", side="left")
    s = read_session(res.path)
    th = s.samples["shin"]
    assert res.counts == {"shin": n_rows} and len(th) == n_rows and th.quat is not None
    assert s.header.sensor("shin").rate_hz == pytest.approx(120.0, rel=1e-3)
    assert th.t[-1] - th.t[0] == pytest.approx((ticks[-1] - ticks[0]) / 1e6, abs=1e-9)
    assert s.header.sensor("shin").config == {"orientation_source": "vendor"}
    # the derived rate is the real gyroscope's, within the vendor filter's smoothing
    gyr = np.radians(np.array([[float(x) for x in r[8:11]] for r in rows[1:]]))
    err = np.sqrt(np.mean((th.gyr[1:] - gyr) ** 2))
    assert err < 0.2 * np.sqrt(np.mean(gyr**2)) + 0.02


@pytest.mark.parametrize("mixed", [False, True])
def test_dot_orientation_only_exports_paired_run_through_the_analysis(tmp_path, mixed):
    """Two real recordings (orientation only, or one with its raw samples) run through the
    whole pipeline; they hold no calibration movements (they are not a hip session), so the
    analysis ends in the calibration's clear error, not a crash."""
    thigh = DOT_YDT if mixed else _extended(DOT_YDT, tmp_path / "t.csv")
    shin = _extended(DOT_BEI, tmp_path / "s.csv")
    res = import_files({"thigh": [thigh], "shin": [shin]}, tmp_path / "s.imuhip", side="right")
    s = read_session(res.path)
    assert s.samples["shin"].t[0] - s.samples["thigh"].t[0] == pytest.approx(
        0.052822 - (1 / 120 if mixed else 0), abs=2e-3
    )
    assert (s.samples["thigh"].quat is None) == mixed
    with pytest.raises(CalibrationError, match="still start pose"):
        analyze_session(s)


def test_polar_channels_join_on_the_sensor_clock_with_integer_nanoseconds():
    rows = {p: _rows(p, ";", 1) for p in (P_ACC, P_GYR, P_MAG)}
    f_acc, f_gyr, f_mag = (read_file(p) for p in (P_ACC, P_GYR, P_MAG))
    for f, p in ((f_acc, P_ACC), (f_gyr, P_GYR), (f_mag, P_MAG)):
        assert f.format is ImportFormat.POLAR_LOGGER
        c = f.channels[0]
        ns = [int(r[1]) for r in rows[p]]
        assert len(c.t) == len(ns) == 2999
        # int64 ns since 2000 parsed as int: relative times exact to float64 rounding
        exact = [(x - ns[0]) / 1e9 for x in ns]
        np.testing.assert_allclose(c.t, exact, rtol=0, atol=1e-12)
        assert f.origin.start_ns == ns[0] + 946_684_800_000_000_000
    assert f_acc.channels[0].kind == "acc" and f_gyr.channels[0].kind == "gyr"
    assert f_mag.channels[0].kind == "mag"
    rate = (2999 - 1) / f_acc.channels[0].t[-1]
    assert rate == pytest.approx(51.71, abs=0.01)
    mag_ns = [int(r[1]) for r in rows[P_MAG]]
    mag_rate = 2998 / ((mag_ns[-1] - mag_ns[0]) / 1e9)  # 49.44 Hz in these first 3000 lines
    assert 2998 / f_mag.channels[0].t[-1] == pytest.approx(mag_rate, rel=1e-12)
    assert mag_rate == pytest.approx(49.43, abs=0.02)
    first = [float(x) for x in rows[P_ACC][0][2:5]]  # mg
    np.testing.assert_allclose(
        f_acc.channels[0].values[0], np.array(first) * STANDARD_GRAVITY / 1e3
    )
    np.testing.assert_allclose(f_gyr.channels[0].values[1], np.radians([0.0, 0.42000002, 2.1]))
    np.testing.assert_allclose(f_mag.channels[0].values[0], [-124.95, -41.25, 24.75])  # G → µT
    assert f_acc.origin.start_utc.startswith("2022-04-25T11:39:34.831254")


def test_polar_sensor_imports_from_its_channel_files(tmp_path):
    res = import_files(
        {"thigh": [P_ACC, P_GYR, P_MAG], "shin": [DOT_BEI]},
        tmp_path / "s.imuhip",
        side="left",
        force=True,  # Polar and DOT share no clock, and these recordings are not of one leg
    )
    s = read_session(res.path)
    th = s.samples["thigh"]
    # the gyroscope's times are the sensor's; its samples outside the accelerometer's and the
    # magnetometer's time (which starts 0.16 s later) have no values there and are left out
    ns = {p: np.array([int(r[1]) for r in _rows(p, ";", 1)]) for p in (P_ACC, P_GYR, P_MAG)}
    lo = max(ns[P_ACC][0], ns[P_MAG][0])
    hi = min(ns[P_ACC][-1], ns[P_MAG][-1])
    inside = ns[P_GYR][(ns[P_GYR] >= lo) & (ns[P_GYR] <= hi)]
    assert len(th) == len(inside) == 2989
    np.testing.assert_allclose(th.t - th.t[0], (inside - inside[0]) / 1e9, rtol=0, atol=1e-12)
    assert any("left out" in n for n in res.notes)
    assert any(n.startswith("warning: thigh and shin share no clock") for n in res.notes)
    assert th.mag is not None
    assert s.header.sensor("thigh").rate_hz == pytest.approx(51.71, abs=0.01)
    g = np.linalg.norm(th.acc, axis=1)
    assert np.median(g) == pytest.approx(9.8, abs=0.5)
    assert s.header.extra["start_utc"].startswith("2022-04-25T11:39:34.8312")


def test_polar_accelerometer_alone_says_what_is_missing(tmp_path):
    with pytest.raises(CsvImportError, match=r"accelerometer but no gyroscope.*--thigh FILE"):
        import_files({"thigh": [P_ACC], "shin": [DOT_BEI]}, tmp_path / "s.imuhip", side="left")


def test_polar_marker_file_imports_as_marks_with_its_sensor_files(tmp_path):
    f = read_file(P_MARKER)
    assert f.channels == () and [m.label for m in f.marks] == ["MARKER_START", "MARKER_STOP"]
    with pytest.raises(CsvImportError, match=r"marker file .* no sensor data; give the sensor's"):
        import_files({"thigh": [P_MARKER], "shin": [DOT_BEI]}, tmp_path / "s.imuhip", side="left")
    res = import_files(
        {"thigh": [P_ACC, P_GYR, P_MARKER], "shin": [DOT_BEI]},
        tmp_path / "s.imuhip",
        side="left",
        force=True,
    )
    marks = [e for e in read_session(res.path).events if e.kind == "mark"]
    assert [e.data["label"] for e in marks] == ["MARKER_START", "MARKER_STOP"]
    # phone time -> sensor time by the median difference of the gyroscope file's rows
    rows = _rows(P_GYR, ";", 1)

    def phone_ms(text: str) -> int:
        hms = text.split("T")[1]
        h, m, sec = hms.split(":")
        return round((int(h) * 3600 + int(m) * 60 + float(sec)) * 1000)

    diff_ms = np.median(
        [int(r[1]) / 1e6 - phone_ms(r[0]) for r in rows]
    )  # sensor ns since 2000 vs phone time of day, same day
    start_ms = int(rows[0][1]) / 1e6
    want = (phone_ms("2022-04-25T11:40:02.383") + diff_ms - start_ms) / 1000
    assert marks[0].t == pytest.approx(want, abs=0.002)
    assert marks[1].t - marks[0].t == pytest.approx(481.015, abs=1e-6)


def test_the_same_file_for_thigh_and_shin_is_refused(tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(DOT_BEI.read_bytes())
    for shin in (DOT_BEI, copy):
        with pytest.raises(CsvImportError, match=r"\(thigh\) and .* \(shin\) are (the same|ident)"):
            import_files({"thigh": [DOT_BEI], "shin": [shin]}, tmp_path / "s.imuhip", side="left")
    assert not (tmp_path / "s.imuhip").exists()
