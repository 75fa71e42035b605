"""Thigh and shin on one time base: clocks first, then the gyroscopes (SIMULATED sessions)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from imuhip.align.signal_offset import estimate_offset
from imuhip.cli import main
from imuhip.errors import TimeAlignmentError
from imuhip.files.convert import import_files
from imuhip.files.csv_samples import write_imu_csv
from imuhip.files.importers.base import STANDARD_GRAVITY, ImportOptions
from imuhip.files.importers.witmotion_sd import encode_frames
from imuhip.files.session_file import read_session
from imuhip.pipeline import analyze_session
from imuhip.samples import ImuSamples
from imuhip.sim.simulate import SimConfig, simulate


@pytest.fixture(scope="module")
def reps():
    return simulate(SimConfig(exercise="prone", content="reps", duration_s=90, seed=2)).samples


@pytest.fixture(scope="module")
def holds():
    return simulate(SimConfig(exercise="prone", content="holds", duration_s=60, seed=1)).samples


def _shift(s: ImuSamples, dt: float) -> ImuSamples:
    return ImuSamples(s.t + dt, s.acc, s.gyr, s.mag)


@pytest.mark.parametrize("offset", [0.0, 0.05, 10.0, -7.3])
def test_estimate_offset_finds_a_known_shift(reps, offset):
    th, sh = reps["thigh"], reps["shin"]
    r = estimate_offset(th.t, th.gyr, sh.t + offset, sh.gyr)
    assert r.resolved and r.reason == ""
    assert r.offset_s == pytest.approx(offset, abs=0.005)  # SIMULATED: within 5 ms
    assert r.correlation > 0.6 and r.confidence > 0.3


def test_estimate_offset_refuses_what_it_cannot_resolve(holds, reps):
    th, sh = holds["thigh"], holds["shin"]
    r = estimate_offset(th.t, th.gyr, sh.t + 10.0, sh.gyr)
    assert not r.resolved and r.reason  # band holds: the thigh hardly moves
    still = np.zeros_like(reps["shin"].gyr)
    r = estimate_offset(reps["thigh"].t, reps["thigh"].gyr, reps["shin"].t, still)
    assert not r.resolved and "too little movement" in r.reason


def test_a_thigh_file_10_s_behind_the_shin_file_is_aligned_and_said(tmp_path, reps, capsys):
    """Before: imported without a word, and the reps came from misaligned sensors."""
    th, sh = reps["thigh"], reps["shin"]
    write_imu_csv(tmp_path / "thigh.csv", th)
    write_imu_csv(tmp_path / "shin0.csv", sh)
    write_imu_csv(tmp_path / "shin10.csv", _shift(sh, 10.0))
    argv = ["import", "--thigh", str(tmp_path / "thigh.csv"), "--side", "left"]
    argv += ["--exercise", "prone", "--shin"]
    assert main([*argv, str(tmp_path / "shin10.csv"), "-o", str(tmp_path / "b.imuhip")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"note: the shin's times ran (9\.99\d|10\.00\d) s ahead of the thigh's", out)
    assert "corrected" in out
    s = read_session(tmp_path / "b.imuhip")
    np.testing.assert_allclose(s.samples["shin"].t, sh.t, atol=0.005)
    assert s.header.extra["time_alignment"]["signal_offset_corrected_s"] == pytest.approx(
        10.0, abs=0.005
    )
    assert main([*argv, str(tmp_path / "shin0.csv"), "-o", str(tmp_path / "a.imuhip")]) == 0
    assert "agree in time" in capsys.readouterr().out
    a = analyze_session(read_session(tmp_path / "a.imuhip")).exercise
    b = analyze_session(s).exercise
    assert len(a.reps) == len(b.reps) > 5
    np.testing.assert_allclose([r.peak_deg for r in b.reps], [r.peak_deg for r in a.reps], atol=0.2)


def _sd_log(path, s: ImuSamples):
    acc_g = s.acc / STANDARD_GRAVITY
    gyr_dps = np.degrees(s.gyr)
    path.write_bytes(encode_frames(acc_g, gyr_dps))
    return path


def test_files_without_a_common_clock_are_aligned_from_the_gyroscopes(tmp_path, reps):
    th, sh = reps["thigh"], reps["shin"]
    start = int(np.searchsorted(sh.t, 10.0))  # the shin's log starts 10 s later
    t_log = _sd_log(tmp_path / "thigh.bin", th)
    s_log = _sd_log(tmp_path / "shin.bin", sh.slice(start, len(sh)))
    res = import_files(
        {"thigh": [t_log], "shin": [s_log]},
        tmp_path / "s.imuhip",
        side="left",
        options=ImportOptions(rate_hz=100.0),
    )
    assert any("share no clock" in n for n in res.notes)
    assert any("corrected" in n for n in res.notes)
    got = read_session(res.path).samples["shin"]
    assert got.t[0] == pytest.approx(start / 100.0, abs=0.005)


def test_an_offset_that_cannot_be_resolved_is_refused_or_forced(tmp_path, holds):
    th, sh = holds["thigh"], holds["shin"]
    files = {"thigh": [_sd_log(tmp_path / "t.bin", th)], "shin": [_sd_log(tmp_path / "s.bin", sh)]}
    opts = ImportOptions(rate_hz=100.0)
    with pytest.raises(TimeAlignmentError, match=r"share no clock .* cannot be found .*--force"):
        import_files(files, tmp_path / "s.imuhip", side="left", options=opts)
    assert not (tmp_path / "s.imuhip").exists()
    res = import_files(files, tmp_path / "s.imuhip", side="left", options=opts, force=True)
    assert any(n.startswith("warning: thigh and shin share no clock") for n in res.notes)
    assert math.isclose(res.header.extra["time_alignment"]["signal_offset_corrected_s"], 0.0)
