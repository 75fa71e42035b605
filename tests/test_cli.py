from __future__ import annotations

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.files.csv_samples import read_imu_csv, write_imu_csv
from imuhip.files.session_file import write_session
from imuhip.session import SensorInfo

from .conftest import make_samples


def test_import_info_export(tmp_path, capsys):
    write_imu_csv(tmp_path / "t.csv", make_samples(300, seed=3))
    s = make_samples(300, seed=4, mag=False)
    # a 0.5 s hole in the shin data
    keep = np.r_[0:100, 150:300]
    s = s.__class__(s.t[keep], s.acc[keep], s.gyr[keep])
    write_imu_csv(tmp_path / "s.csv", s)
    out = tmp_path / "x.imuhip"
    argv = ["import", "--thigh", str(tmp_path / "t.csv"), "--shin", str(tmp_path / "s.csv")]
    assert main([*argv, "--side", "left", "--exercise", "prone", "-o", str(out)]) == 0
    assert "thigh 300 samples" in capsys.readouterr().out

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "side       left" in text and "exercise   prone" in text
    shin_row = next(line for line in text.splitlines() if line.strip().startswith("shin"))
    assert "250" in shin_row.split() and "50" in shin_row.split()  # samples, missing
    assert "shin longest gap: 0.510 s" in text
    assert "intact" in text

    assert main(["export", str(out), "--samples", str(tmp_path / "exp")]) == 0
    back = read_imu_csv(tmp_path / "exp" / "shin.csv").samples
    np.testing.assert_array_equal(back.t, s.t)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    (tmp_path / "bad.imuhip").write_text("time_s,acc_x\n")
    assert main(["info", str(tmp_path / "bad.imuhip")]) == 2
    assert "not an imuhip session file" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "bad.imuhip")]) == 2
    assert "nothing to export" in capsys.readouterr().err


def test_info_on_a_damaged_file_warns_and_shows_events(tmp_path, capsys, small_session):
    header, samples, _, events = small_session
    # 4 s of thigh data: its last one-second record comes after the events, and is the one cut
    samples = {"thigh": make_samples(400), "shin": make_samples(100, seed=9)}
    header = header.__class__("left", "prone", (header.sensors[0], SensorInfo("shin")))
    path = write_session(tmp_path / "s.imuhip", header, samples, {}, events)
    path.write_bytes(path.read_bytes()[:-5])
    assert main(["info", str(path)]) == 0
    cap = capsys.readouterr()
    assert "imuhip: warning:" in cap.err and "bytes were lost" in cap.err
    assert "DAMAGED" in cap.out and "connection_lost" in cap.out


def test_every_command_takes_a_file_of_both_legs_without_a_traceback(tmp_path, capsys):
    """Before: analyze/report/replay said 'the session has no thigh sensor' of a file that has
    two; now each leg is analysed (these random samples hold no calibration, which the error
    names with its leg), and info/export show and write every sensor."""
    from imuhip.session import SessionHeader

    roles = ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis", "trunk")
    header = SessionHeader(
        "both", "prone", tuple(SensorInfo(r, rate_hz=100.0) for r in roles), time_base="csv"
    )
    samples = {r: make_samples(200, seed=i) for i, r in enumerate(roles)}
    path = write_session(tmp_path / "both.imuhip", header, samples)
    for argv in (
        ["analyze", str(path)],
        ["report", str(path), "-o", str(tmp_path / "r.html")],
        ["export", str(path), "--angles", str(tmp_path / "a.csv")],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "left leg: no knee bends found" in err and "Traceback" not in err
    assert main(["replay", "--speed", "max", "--plain", str(path)]) == 0  # shows it live
    cap = capsys.readouterr()
    assert "not calibrated" in cap.out + cap.err and "Traceback" not in cap.err
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "side       both" in text and "layout     both legs (thigh + shin) with pelvis" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("  ")}
    assert all(rows[r][1:2] == ["samples"] and "200" in rows[r] for r in roles)
    assert main(["export", str(path), "--samples", str(tmp_path / "csv")]) == 0
    assert sorted(p.stem for p in (tmp_path / "csv").iterdir()) == sorted(roles)
    assert main(["history", str(tmp_path), "--no-cache", "--jobs", "1"]) == 0
    assert "both.imuhip" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["export", "{rec}", "--samples", "{bad}/csv"],
        ["export", "{rec}", "--angles", "{bad}/a.csv"],
        ["report", "{rec}", "-o", "{bad}/r.html"],
    ],
    ids=["export-samples", "export-angles", "report"],
)
def test_an_output_that_cannot_be_written_is_a_clear_error(tmp_path, capsys, args):
    """A folder that is a file (or missing, unwritable, full): the command ends with exit
    code 2 and one line naming the path the user gave, no traceback."""
    from pathlib import Path

    rec = Path(__file__).parent.parent / "recordings" / "prone-left-holds-polar-simulated.imuhip"
    bad = tmp_path / "a-file"
    bad.write_text("not a folder")
    assert main([a.format(rec=rec, bad=bad) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"imuhip: error: {bad}")
    assert err[-1].endswith(("Not a directory", "File exists"))
    assert "partial" not in err[-1] and "Errno" not in err[-1] and "Traceback" not in "\n".join(err)
