from __future__ import annotations

import math

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.errors import CsvImportError
from imuhip.files.convert import import_csv
from imuhip.files.csv_samples import read_imu_csv, write_imu_csv
from imuhip.files.session_file import read_session

from .conftest import make_samples

HEADER = "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"


def _csv(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


def _good(tmp_path, name="a.csv", n=50, mag=False, t0=0.0):
    return write_imu_csv(tmp_path / name, make_samples(n, t0=t0, mag=mag, seed=len(name)))


def test_import_export_import_is_lossless(tmp_path):
    thigh = make_samples(500, mag=True, seed=1)
    shin = make_samples(480, t0=0.003, mag=False, seed=2)
    write_imu_csv(tmp_path / "thigh.csv", thigh)
    write_imu_csv(tmp_path / "shin.csv", shin)
    res = import_csv(
        {"thigh": tmp_path / "thigh.csv", "shin": tmp_path / "shin.csv"},
        tmp_path / "s.imuhip",
        side="right",
        exercise="seated",
    )
    assert res.counts == {"thigh": 500, "shin": 480}
    s = read_session(res.path)
    assert s.header.time_base == "csv" and s.header.side == "right"
    assert s.header.sensor("thigh").rate_hz == pytest.approx(100.0)
    assert main(["export", str(res.path), "--samples", str(tmp_path / "out")]) == 0
    again = read_imu_csv(tmp_path / "out" / "thigh.csv")
    for name in ("t", "acc", "gyr", "mag"):
        np.testing.assert_array_equal(getattr(again.samples, name), getattr(thigh, name))
    again = read_imu_csv(tmp_path / "out" / "shin.csv")
    assert again.samples.mag is None
    np.testing.assert_array_equal(again.samples.gyr, shin.gyr)


def test_units_are_converted(tmp_path):
    p = _csv(tmp_path, "u.csv", f"{HEADER}\n0,0,0,1,0,0,90\n0.01,0,0,1,0,0,180\n")
    got = read_imu_csv(p, acc_unit="g", gyr_unit="deg/s").samples
    assert got.acc[0, 2] == pytest.approx(9.80665)
    assert got.gyr[1, 2] == pytest.approx(math.pi)


def test_extra_columns_comments_blank_lines_and_bom(tmp_path):
    text = (
        "\ufeff# exported by SomeApp\n"
        + HEADER
        + ",temp\n0,0,0,9.8,0,0,0,21\n\n0.01,0,0,9.8,0,0,0,21\n"
    )
    got = read_imu_csv(_csv(tmp_path, "x.csv", text))
    assert got.ignored_columns == ("temp",) and len(got.samples) == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y\n0,0,0,9.8,0,0\n", "missing column.*gyr_z"),
        ("0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n", "line 1: no header line"),
        (f"{HEADER}\n0,0,0,9.8,0,0,0\n0.01,0,0,abc,0,0,0\n", r"line 3, field 4: 'abc' is not"),
        (f"{HEADER}\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0\n", "line 3: expected 7 fields"),
        (f"{HEADER}\n0,0,0,9.8,0,0,0\n0.01,0,0,nan,0,0,0\n", "line 3: acc_z is nan"),
        (
            f"{HEADER}\n0,0,0,9.8,0,0,0\n0.02,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n",
            "line 4: time goes backwards",
        ),
        (f"{HEADER}\n0,0,0,9.8,0,0,0\n0,0,0,9.8,0,0,0\n", "line 3: time repeats"),
        (f"{HEADER}\n0,0,0,9.8,0,0,0\n", "at least two samples"),
        (f"{HEADER}\n0,0,0,1.0,0,0,0\n0.01,0,0,1.0,0,0,0\n", "look like g: add --acc-unit g"),
        (
            f"{HEADER}\n0,0,0,9.8,0,0,200\n0.01,0,0,9.8,0,0,250\n",
            r"look like °/s: add --gyr-unit deg/s",
        ),
        (
            f"{HEADER},mag_x,mag_y,mag_z\n0,0,0,9.8,0,0,0,0.2,0,-0.4\n0.01,0,0,9.8,0,0,0,0.2,0,-0.4\n",
            "suggest gauss",
        ),
        (f"{HEADER},mag_x\n0,0,0,9.8,0,0,0,1\n", "all of mag_x, mag_y, mag_z or none"),
        (f"{HEADER},acc_x\n0,0,0,9.8,0,0,0,1\n", "duplicate column"),
    ],
)
def test_bad_csv_gives_clear_error(tmp_path, text, match):
    with pytest.raises(CsvImportError, match=match) as info:
        read_imu_csv(_csv(tmp_path, "bad.csv", text))
    assert "bad.csv" in str(info.value)


def test_acc_unit_g_given_for_ms2_data(tmp_path):
    p = _csv(tmp_path, "g.csv", f"{HEADER}\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n")
    with pytest.raises(CsvImportError, match="look like m/s² already: drop --acc-unit g"):
        read_imu_csv(p, acc_unit="g")


def test_binary_and_non_utf8_files(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CsvImportError, match="binary file"):
        read_imu_csv(p)
    p.write_bytes(b"time_s,\xff\xfe\n")
    with pytest.raises(CsvImportError, match="not UTF-8"):
        read_imu_csv(p)
    with pytest.raises(CsvImportError, match="no such file"):
        read_imu_csv(tmp_path / "missing.csv")


def test_a_session_file_given_as_csv(tmp_path, small_session):
    from imuhip.files.session_file import write_session

    header, samples, notes, events = small_session
    path = write_session(tmp_path / "s.imuhip", header, samples, notes, events)
    with pytest.raises(CsvImportError, match=r"not a CSV|binary"):
        read_imu_csv(path)


def test_nothing_written_when_one_file_is_bad(tmp_path):
    good = _good(tmp_path, "thigh.csv")
    bad = _csv(tmp_path, "shin.csv", f"{HEADER}\n0,0,0,9.8,0,0,0\n0.01,0,0,x,0,0,0\n")
    out = tmp_path / "s.imuhip"
    with pytest.raises(CsvImportError, match=r"shin\.csv, line 3"):
        import_csv({"thigh": good, "shin": bad}, out, side="left")
    assert not out.exists()
    assert list(tmp_path.glob(".*partial")) == []


def test_files_must_share_a_clock(tmp_path):
    a = _good(tmp_path, "thigh.csv", t0=0.0)
    b = _good(tmp_path, "shin.csv", t0=1000.0)
    with pytest.raises(CsvImportError, match="do not overlap"):
        import_csv({"thigh": a, "shin": b}, tmp_path / "s.imuhip", side="left")


def test_existing_output_is_not_overwritten(tmp_path):
    a = _good(tmp_path, "thigh.csv")
    b = _good(tmp_path, "shin.csv")
    out = tmp_path / "s.imuhip"
    out.write_text("keep me")
    with pytest.raises(CsvImportError, match="exists"):
        import_csv({"thigh": a, "shin": b}, out, side="left")
    assert out.read_text() == "keep me"
