"""Files shaped like the other versions of the vendor formats (built here from their documented
headers), the column map, recognition, and the sanity checks of what is imported."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.errors import CsvImportError, UnknownFormatError
from imuhip.files.importers import read_file
from imuhip.files.importers.base import (
    STANDARD_GRAVITY,
    ImportFormat,
    ImportOptions,
    OrientationKind,
)
from imuhip.files.importers.column_map import parse_column_map
from imuhip.files.importers.sensor import merge_sensor
from imuhip.files.importers.witmotion_sd import encode_frames

RNG = np.random.default_rng(5)


def _motion(n: int, rate: float):
    """Plausible acc (g) and gyro (°/s) for n samples."""
    t = np.arange(n) / rate
    acc = np.column_stack([0.1 * np.sin(t), 0.05 * np.cos(2 * t), 1.0 + 0.02 * np.sin(3 * t)])
    gyr = np.column_stack([30 * np.sin(1.3 * t), 10 * np.cos(0.7 * t), 5 * np.sin(2.1 * t)])
    return acc, gyr


def _dot_new(n=50, lost_after=20, lost=3, start_tick=(1 << 32) - 100_000):
    """A newer DOT app export: padded preamble, ", " separators, Java exponents, header on
    line 12, a PacketCounter jump and a SampleTimeFine wrap."""
    acc, gyr = _motion(n, 60.0)
    pre = [
        "sep=,",
        "DeviceTag:,thigh,,,,,,,,",
        "FirmwareVersion:,2.6.0,,,,,,,,",
        "AppVersion:,2023.6.0,,,,,,,,",
        "SyncStatus:,Synced,,,,,,,,",
        "OutputRate:,60Hz,,,,,,,,",
        "FilterProfile:,General,,,,,,,,",
        "Measurement Mode:,Custom Mode 5,,,,,,,,",
        "StartTime:,2024-03-01_10:00:00_250 GMT-5,,,,,,,,",
        "© Movella Technologies B. V. 2005-2023,,,,,,,,,",
        ",,,,,,,,,,",
        "PacketCounter, SampleTimeFine, Acc_X, Acc_Y, Acc_Z, Gyr_X, Gyr_Y, Gyr_Z",
    ]
    rows, pc, ticks = [], 0, []
    tick = start_tick
    for i in range(n):
        if i == lost_after:
            pc += lost
            tick += lost * 16667
        a = acc[i] * 9.81
        g = gyr[i]
        vals = [f"{v:.7E}".replace("E+00", "E0").replace("E-0", "E-") for v in (*a, *g)]
        rows.append(", ".join([str(pc), str(tick % (1 << 32)), *vals]))
        ticks.append(tick)
        pc += 1
        tick += 16667
    return "\n".join(pre + rows) + "\n", np.array(ticks), acc * 9.81, gyr


def test_newer_dot_export_with_java_exponents_wrap_and_lost_samples(tmp_path):
    text, ticks, acc, gyr = _dot_new()
    assert "E-" in text and ", " in text
    p = tmp_path / "dot.csv"
    p.write_text(text, encoding="utf-8")
    f = read_file(p)
    assert f.format is ImportFormat.MOVELLA_DOT
    assert (
        f.metadata["SyncStatus"] == "Synced" and f.metadata["Measurement Mode"] == "Custom Mode 5"
    )
    g = f.channel("gyr")
    # the µs counter wrapped (start 100 ms before 2^32): unwrapped, times keep increasing
    np.testing.assert_allclose(g.t, (ticks - ticks[0]) / 1e6, atol=1e-12)
    np.testing.assert_allclose(g.values, np.radians(gyr), rtol=1e-7)
    np.testing.assert_allclose(f.channel("acc").values, acc, rtol=1e-7)
    # 3 samples lost after the 20th: counted, and a gap in the times (not interpolated)
    assert f.lost_samples == 3 and len(f.gaps) == 1
    assert f.gaps[0].line_before == 12 + 20 and f.gaps[0].line_after == 12 + 21
    assert np.diff(g.t).max() == pytest.approx(4 * 0.016667, rel=1e-6)
    assert f.origin.start_utc == "2024-03-01T15:00:00.250+00:00"


@pytest.mark.parametrize(
    ("columns", "mode"),
    [
        ("Quat_W,Quat_X,Quat_Y,Quat_Z,FreeAcc_X,FreeAcc_Y,FreeAcc_Z,Status", "Extended"),
        ("Euler_X,Euler_Y,Euler_Z,FreeAcc_X,FreeAcc_Y,FreeAcc_Z,Status", "Extended (Euler)"),
    ],
)
def test_dot_extended_modes_are_read_as_the_vendors_orientation(tmp_path, columns, mode):
    n = len(columns.split(","))
    rows = [f"{i},{1000 + i * 16667}," + ",".join(["0.5"] * (n - 1) + ["0"]) for i in range(5)]
    p = tmp_path / "ext.csv"
    p.write_text(
        "sep=,\nDeviceTag:,a\nMeasurement Mode:," + mode + "\nStartTime:,2024-03-01_10:00:00_000"
        " GMT+1\n\nPacketCounter,SampleTimeFine," + columns + "\n" + "\n".join(rows) + "\n"
    )
    f = read_file(p)
    assert not f.channels and f.orientation is not None
    assert f.orientation.kind is OrientationKind.QUATERNION and len(f.orientation.t) == 5
    assert np.allclose(np.linalg.norm(f.orientation.values, axis=1), 1.0)
    assert f.orientation.free_acc is not None and np.allclose(f.orientation.free_acc, 0.5)
    assert any("the vendor's orientation is used" in n for n in f.notes)


def test_a_dot_export_without_inertial_data_or_orientation_is_refused(tmp_path):
    p = tmp_path / "ext.csv"
    rows = [f"{i},{1000 + i * 16667},0.1,0.2,0.3,0" for i in range(5)]
    p.write_text(
        "sep=,\nDeviceTag:,a\n\nPacketCounter,SampleTimeFine,FreeAcc_X,FreeAcc_Y,FreeAcc_Z,"
        "Status\n" + "\n".join(rows) + "\n"
    )
    with pytest.raises(CsvImportError, match="neither Acc_\\* and Gyr_\\* nor an orientation"):
        read_file(p)


def _metabase(tmp_path, name, first, rate, n, unit, t0_ms, packed=1, epoch="epoch (ms)"):
    vals = _motion(n, rate)[0 if unit == "g" else 1]
    lines = [
        f"{epoch},{'time (01:00)' if epoch == 'epoch (ms)' else 'timestamp (-0800)'},"
        f"elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"
    ]
    for i in range(n):
        ms = t0_ms + int((i // packed) * packed * 1000 / rate)
        lines.append(
            f"{ms},2019-11-12T10.05.24.178,{(ms - t0_ms) / 1000:.3f},"
            + ",".join(f"{v:.4f}" for v in vals[i])
        )
    p = (
        tmp_path
        / f"{first}_MetaWear_2019-11-12T10.05.24.178_F8D5A4F2C5A4_{name}_{rate:g}Hz_1.5.0.csv"
    )
    p.write_text("\n".join(lines) + "\n")
    return p, vals


def test_metabase_channels_with_packed_rows_and_older_header(tmp_path):
    acc_p, acc = _metabase(
        tmp_path, "Accelerometer", "s", 12.5, 40, "g", 1_573_549_524_000, epoch="epoc (ms)"
    )
    gyr_p, gyr = _metabase(
        tmp_path, "Gyroscope", "s", 25.0, 90, "deg/s", 1_573_549_523_700, packed=3
    )
    fa, fg = read_file(acc_p), read_file(gyr_p)
    assert fa.format is fg.format is ImportFormat.METABASE
    np.testing.assert_allclose(fa.channel("acc").values, acc * STANDARD_GRAVITY, atol=1e-3)
    # three rows share each epoch: sample times rebuilt at the file's 25 Hz, strictly increasing
    tg = fg.channel("gyr").t
    np.testing.assert_allclose(tg, np.arange(90) / 25.0, atol=1e-9)
    assert fg.gaps == () and any("packed" in n for n in fg.notes)
    assert fg.origin.start_ns == 1_573_549_523_700 * 1_000_000
    assert fa.origin.start_utc == "2019-11-12T09:05:24.000+00:00"
    np.testing.assert_allclose(fg.channel("gyr").values, np.radians(gyr), atol=1e-6)

    s = merge_sensor("thigh", [fa, fg])
    # acc starts 0.3 s after the gyroscope: gyro times inside the acc's span only
    assert s.samples.t[0] == pytest.approx(0.32) and s.rate_hz == pytest.approx(25.0)


def test_witmotion_sd_log_needs_the_rate_and_counts_bad_frames(tmp_path):
    acc, gyr = _motion(200, 100.0)
    raw = bytearray(encode_frames(acc, gyr))
    raw[22 * 50 + 5] ^= 0xFF  # damage sample 50's acceleration frame
    p = tmp_path / "WT901SD.BIN"
    p.write_bytes(bytes(raw))
    with pytest.raises(CsvImportError, match=r"no time stamps; give the rate .* --rate HZ"):
        read_file(p)
    f = read_file(p, ImportOptions(rate_hz=100.0))
    assert f.format is ImportFormat.WITMOTION_SD
    a, g = f.channel("acc"), f.channel("gyr")
    assert len(a.t) == 199 and f.lost_samples == 1  # sample 50 lost: a gap, not filled
    assert a.t[50] == pytest.approx(0.51) and "1 frame(s) with a bad checksum" in f.notes[0]
    keep = np.r_[0:50, 51:200]
    np.testing.assert_allclose(a.values, acc[keep] * STANDARD_GRAVITY, atol=16 / 32768 * 9.81)
    np.testing.assert_allclose(g.values, np.radians(gyr[keep]), atol=math.radians(2000 / 32768))


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_witmotion_text_export_gbk_and_decimal_commas(tmp_path, encoding):
    acc, gyr = _motion(30, 10.0)
    if encoding == "gbk":
        names = "\t".join(
            ["时间", "片上时间"]
            + [f"加速度{a}(g)" for a in "XYZ"]
            + [f"角速度{a}(°/s)" for a in "XYZ"]
        )
        names += "\t角度X(°)"
    else:
        names = "Time\tChipTime\tax(g)\tay(g)\taz(g)\twx(deg/s)\twy(deg/s)\twz(deg/s)\tAngleX(deg)"
    rows = [names]
    for i in range(30):
        ms = 23 * 3_600_000 + 59 * 60_000 + 58_000 + i * 100  # passes midnight
        h, rem = divmod(ms // 1000, 3600)
        stamp = f"{h % 24:02d}:{rem // 60:02d}:{rem % 60:02d}.{ms % 1000:03d}"
        vals = [f"{v:.4f}".replace(".", ",") for v in (*acc[i], *gyr[i])]
        rows.append("\t".join(["x", stamp, *vals, "1,5"]))
    p = tmp_path / "wit.txt"
    p.write_bytes("\r\n".join(rows).encode(encoding))
    f = read_file(p)
    assert f.format is ImportFormat.WITMOTION_TEXT
    np.testing.assert_allclose(f.channel("gyr").t, np.arange(30) * 0.1, atol=1e-9)
    np.testing.assert_allclose(f.channel("acc").values, acc * STANDARD_GRAVITY, atol=1e-3)
    np.testing.assert_allclose(f.channel("gyr").values, np.radians(gyr), atol=1e-5)


def test_column_map_inline_and_toml(tmp_path):
    acc, gyr = _motion(100, 50.0)
    lines = ["# exported by SomeApp", "ts;ax;ay;az;gx;gy;gz;temp"]
    for i in range(100):
        lines.append(
            ";".join([str(5000 + 20 * i), *(f"{v:.5f}" for v in (*acc[i], *gyr[i])), "21"])
        )
    p = tmp_path / "any.txt"
    p.write_text("\n".join(lines) + "\n")
    inline = parse_column_map("time=ts:ms;acc=ax,ay,az:g;gyr=gx,gy,gz:deg/s")
    toml = tmp_path / "map.toml"
    toml.write_text(
        'time = "ts"\ntime_unit = "ms"\nacc = ["ax", "ay", "az"]\nacc_unit = "g"\n'
        'gyr = ["gx", "gy", "gz"]\ngyr_unit = "deg/s"\nseparator = ";"\n'
    )
    for cmap in (inline, parse_column_map(str(toml))):
        f = read_file(p, ImportOptions(columns=cmap))
        assert f.format is ImportFormat.COLUMNS
        np.testing.assert_allclose(f.channel("gyr").t, np.arange(100) * 0.02, atol=1e-12)
        np.testing.assert_allclose(f.channel("gyr").values, np.radians(gyr), atol=1e-6)
        assert f.origin.start_ns == 5_000_000_000
    with pytest.raises(CsvImportError, match="unknown acc unit 'furlongs'"):
        parse_column_map("time=ts;acc=ax,ay,az:furlongs;gyr=gx,gy,gz")
    with pytest.raises(CsvImportError, match="gyr not given"):
        parse_column_map("time=ts;acc=ax,ay,az")
    # a time column in ms read as seconds: the rate makes no sense, and the message says why
    with pytest.raises(CsvImportError, match=r"0\.05 Hz .*is time in milliseconds\?"):
        read_file(
            p, ImportOptions(columns=parse_column_map("time=ts;acc=ax,ay,az:g;gyr=gx,gy,gz:deg/s"))
        )


def test_unknown_file_names_the_formats_and_the_column_map(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(
        UnknownFormatError,
        match=r"format not recognised \(first line 'a,b,c'\).*"
        r"Movella.*Polar.*MetaBase.*WitMotion.*--columns",
    ):
        read_file(p)
    with pytest.raises(UnknownFormatError, match="unknown format 'nope'"):
        read_file(p, format="nope")


def _imuhip_csv(tmp_path, name, t, acc, gyr):
    lines = ["time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
    lines += [",".join(repr(float(v)) for v in (t[i], *acc[i], *gyr[i])) for i in range(len(t))]
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("acc", r"acceleration of 6\d\.?\d* g at line 12, beyond any wearable sensor's ±50 g"),
        ("gyr", r"angular rate of 6\d{3}\.?\d* °/s at line 12.*±5000 °/s"),
        ("back", r"line 12: time goes backwards \(0\.05 s after 0\.09 s"),
    ],
)
def test_values_out_of_any_sensors_range_and_time_backwards_name_the_line(tmp_path, change, match):
    t = np.arange(40) * 0.01
    acc = np.tile([0.0, 0.0, 9.81], (40, 1))
    gyr = np.zeros((40, 3))
    if change == "acc":
        acc[10] = [0, 0, 600.0]
    elif change == "gyr":
        gyr[10] = [0, 0, math.radians(6000)]
    else:
        t[10] = 0.05
    cmap = parse_column_map("time=time_s;acc=acc_x,acc_y,acc_z;gyr=gyr_x,gyr_y,gyr_z")
    p = _imuhip_csv(tmp_path, "a.csv", t, acc, gyr)
    with pytest.raises(CsvImportError, match=match) as e:
        read_file(p, ImportOptions(columns=cmap))
    assert "np.float64" not in str(e.value)


def test_imuhip_csv_time_backwards_prints_plain_numbers(tmp_path):
    t = np.arange(40) * 0.01
    t[10] = 0.05
    p = _imuhip_csv(tmp_path, "a.csv", t, np.tile([0.0, 0.0, 9.81], (40, 1)), np.zeros((40, 3)))
    with pytest.raises(
        CsvImportError, match=r"line 12: time goes backwards \(0\.05 s after 0\.09 s\)"
    ) as e:
        read_file(p)
    assert "np.float64" not in str(e.value)


def test_long_gap_is_reported_with_lines_and_kept(tmp_path, capsys):
    t = np.r_[np.arange(300) * 0.01, 5.0 + np.arange(300) * 0.01]
    acc = np.tile([0.0, 0.0, 9.81], (600, 1)) + RNG.normal(0, 0.1, (600, 3))
    gyr = RNG.normal(0, 0.1, (600, 3))
    th = _imuhip_csv(tmp_path, "t.csv", t, acc, gyr)
    sh = _imuhip_csv(tmp_path, "s.csv", t, acc + 0.01, gyr * 1.1)
    out = tmp_path / "s.imuhip"
    assert (
        main(["import", "--thigh", str(th), "--shin", str(sh), "--side", "left", "-o", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "t.csv: long gap of 2.010 s between lines 301 and 302" in text
    assert "t.csv: 200 sample(s) missing in 1 gap(s)" in text


def test_dot_header_with_a_missing_axis_is_named(tmp_path):
    """Found by fuzzing: Acc_X and Acc_Y without Acc_Z crashed with a KeyError."""
    p = tmp_path / "d.csv"
    p.write_text(
        "sep=,\nDeviceTag:,a\n\nPacketCounter,SampleTimeFine,Acc_X,Acc_Y,Gyr_X,Gyr_Y,Gyr_Z\n"
        + "".join(f"{i},{1000 + 8333 * i},0.1,9.8,0.1,0.2,0.3\n" for i in range(5))
    )
    with pytest.raises(CsvImportError, match=r"line 4: Acc_X without Acc_Z; the header looks"):
        read_file(p)


def test_imuhip_csv_with_time_in_milliseconds_asks_about_the_unit(tmp_path):
    t = np.arange(50) * 10.0  # ms, written where seconds belong
    p = _imuhip_csv(tmp_path, "ms.csv", t, np.tile([0.0, 0.0, 9.81], (50, 1)), np.zeros((50, 3)))
    with pytest.raises(CsvImportError, match=r"rate of 0\.1 Hz .*is time in milliseconds\?"):
        read_file(p)
