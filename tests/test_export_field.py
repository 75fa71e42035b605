"""Exports for the field: OpenSim .mot/.sto (read back by the format's rules), DOT-style CSV
(round trip through import), wall-clock time beside session time. SIMULATED sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.field_export import write_dot_csv


def read_storage(path) -> tuple[list[str], dict[str, str], list[str], list[list[str]]]:
    """An OpenSim Storage file by its rules: header lines (``key=value``, a name line allowed
    first) up to ``endheader``, a tab-separated label line, tab-separated rows."""
    lines = path.read_text(encoding="utf-8").splitlines()
    end = lines.index("endheader")
    free, keys = [], {}
    for ln in lines[:end]:
        if "=" in ln:
            k, v = ln.split("=", 1)
            keys[k] = v
        else:
            free.append(ln)
    labels = lines[end + 1].split("\t")
    rows = [ln.split("\t") for ln in lines[end + 2 :]]
    assert all(len(r) == len(labels) for r in rows), "every row has one cell per label"
    return free, keys, labels, rows


@pytest.fixture(scope="module")
def session_file(tmp_path_factory):
    sim = simulate(SimConfig(exercise="prone", side="right", content="reps", duration_s=90, seed=2))
    path = tmp_path_factory.mktemp("exp") / "s.imuhip"
    write_simulation(sim, path)
    return path


@pytest.fixture(scope="module")
def analysed(session_file):
    return analyze_session(read_session(session_file))


def test_mot_and_sto_follow_the_opensim_layout(session_file, analysed, tmp_path, capsys):
    mot, sto = tmp_path / "hip.mot", tmp_path / "imu.sto"
    assert main(["export", str(session_file), "--mot", str(mot), "--sto", str(sto)]) == 0
    free, keys, labels, rows = read_storage(mot)
    assert free == ["Coordinates"] and keys["version"] == "1" and keys["inDegrees"] == "yes"
    assert labels == ["time", "hip_rotation_r"]
    assert int(keys["nRows"]) == len(rows) and int(keys["nColumns"]) == len(labels)
    data = np.array(rows, dtype=float)
    assert (np.diff(data[:, 0]) > 0).all()
    ok = np.isfinite(analysed.hip_rotation_deg)
    np.testing.assert_allclose(data[:, 0], analysed.grid.t[ok])
    np.testing.assert_allclose(data[:, 1], analysed.hip_rotation_deg[ok], atol=1e-6)
    assert "start_utc" not in keys  # a simulated session has no wall-clock start
    free, keys, labels, rows = read_storage(sto)
    assert keys["DataType"] == "Quaternion" and keys["version"] == "3"
    assert float(keys["DataRate"]) == pytest.approx(analysed.grid.rate_hz)
    assert labels == ["time", "femur_r_imu", "tibia_r_imu"]
    assert len(rows) == len(analysed.grid.t)
    q = np.array([[float(v) for v in cell.split(",")] for r in rows[:500] for cell in r[1:]])
    assert q.shape[1] == 4
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-6)


def test_dot_csv_export_imports_back_to_the_same_analysis(session_file, analysed, tmp_path):
    out = tmp_path / "dot"
    assert main(["export", str(session_file), "--dot", str(out)]) == 0
    again = tmp_path / "again.imuhip"
    argv = ["import", "--thigh", str(out / "thigh.csv"), "--shin", str(out / "shin.csv")]
    assert main([*argv, "--side", "right", "--exercise", "prone", "-o", str(again)]) == 0
    s = read_session(again)
    assert s.header.extra["import_formats"]["thigh"] == ["movella-dot"]
    res = analyze_session(s)
    a, b = analysed.exercise.reps, res.exercise.reps
    assert len(a) == len(b) > 5
    np.testing.assert_allclose([r.peak_deg for r in b], [r.peak_deg for r in a], atol=0.05)
    # session times restart at the thigh's first sample: the same moments, shifted by it (the
    # analysis grid's phase moves with it, so a flat peak's sample may move a few samples)
    t0 = read_session(session_file).samples["thigh"].t[0]
    np.testing.assert_allclose([r.peak_s for r in b], [r.peak_s - t0 for r in a], atol=0.05)
    np.testing.assert_allclose([r.start_s for r in b], [r.start_s - t0 for r in a], atol=0.05)


def test_exports_carry_wall_clock_time(session_file, tmp_path):
    start = datetime(2026, 5, 4, 9, 30, 0, 125000, tzinfo=UTC)
    s = read_session(session_file)
    for role in ("thigh", "shin"):
        write_dot_csv(tmp_path / f"{role}.csv", s.samples[role], tag=role, start=start)
    text = (tmp_path / "thigh.csv").read_text().splitlines()
    first = start + timedelta(seconds=float(s.samples["thigh"].t[0]))
    assert text[4] == "StartTime: ," + first.strftime("%Y-%m-%d_%H:%M:%S_") + (
        f"{first.microsecond // 1000:03d} GMT+0"
    )
    assert text[8].endswith("," + first.isoformat(timespec="milliseconds"))
    imp = tmp_path / "i.imuhip"
    argv = ["import", "--thigh", str(tmp_path / "thigh.csv"), "--shin", str(tmp_path / "shin.csv")]
    assert main([*argv, "--side", "right", "-o", str(imp)]) == 0
    assert read_session(imp).header.extra["start_utc"] == first.isoformat(timespec="milliseconds")
    angles, mot = tmp_path / "a.csv", tmp_path / "a.mot"
    assert main(["export", str(imp), "--angles", str(angles), "--mot", str(mot)]) == 0
    lines = angles.read_text().splitlines()
    assert lines[0].endswith(",valid,utc")
    t_s, *_, utc = lines[100].split(",")
    want = datetime.fromisoformat(first.isoformat(timespec="milliseconds")) + timedelta(
        seconds=float(t_s)
    )
    assert datetime.fromisoformat(utc) == pytest.approx(want, abs=timedelta(milliseconds=1))
    _, keys, _, _ = read_storage(mot)
    assert keys["start_utc"] == first.isoformat(timespec="milliseconds")


@pytest.mark.parametrize(
    "name", ["prone-both-reps-simulated.imuhip", "seated-left-pelvis-reps-simulated.imuhip"]
)
def test_angles_csv_written_a_piece_at_a_time_is_the_same_file(name, tmp_path, monkeypatch):
    """The angle CSV writers turn ``ROWS_AT_ONCE`` rows into text at a time (a long session's
    rows are not all Python objects at once): pieces of 1,000 rows, with the UTC column too,
    give the same bytes as one piece (one leg and both legs)."""
    from pathlib import Path

    from imuhip.sinks import angles_csv

    rec = Path(__file__).resolve().parent.parent / "recordings" / name
    result = analyze_session(read_session(rec))
    start = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    whole = angles_csv.write_angles_csv(tmp_path / "whole.csv", result, start).read_bytes()
    monkeypatch.setattr(angles_csv, "ROWS_AT_ONCE", 1000)
    pieces = angles_csv.write_angles_csv(tmp_path / "pieces.csv", result, start).read_bytes()
    assert pieces == whole and whole.count(b"\n") > 3000
