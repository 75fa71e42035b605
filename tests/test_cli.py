from __future__ import annotations

import numpy as np

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
