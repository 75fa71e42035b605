"""``imuhip import`` by layout: sided roles for both legs, shin-only, refused flag sets, and the
one-leg spelling unchanged to the byte."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.errors import LayoutError
from imuhip.files import session_file
from imuhip.files.convert import import_files
from imuhip.files.csv_samples import write_imu_csv
from imuhip.files.session_file import read_session
from imuhip.samples import ImuSamples
from imuhip.sim.simulate import SimConfig, simulate

from .conftest import make_samples

#: sha256 of the file the one-leg spelling below wrote before sided roles existed (commit
#: 6900cdb, created_utc fixed): the plain roles must keep giving the very same bytes.
LEGACY_SHA256 = "5f2bd6a85ea0008d3beba46025804a8bd07122ac1ba7bffa3441236385f21452"


class _FixedNow(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def test_the_one_leg_spelling_writes_the_same_bytes_as_before(tmp_path, monkeypatch):
    monkeypatch.setattr(session_file, "datetime", _FixedNow)
    monkeypatch.chdir(tmp_path)
    for i, role in enumerate(("thigh", "shin", "pelvis")):
        write_imu_csv(
            f"{role}.csv", make_samples(300, t0=0.002 * i, mag=role == "thigh", seed=i + 1)
        )
    argv = ["import", "--thigh", "thigh.csv", "--shin", "shin.csv", "--pelvis", "pelvis.csv"]
    assert main([*argv, "--side", "right", "--exercise", "seated", "-o", "s.imuhip"]) == 0
    assert hashlib.sha256((tmp_path / "s.imuhip").read_bytes()).hexdigest() == LEGACY_SHA256
    h = read_session(tmp_path / "s.imuhip").header
    assert h.roles == ("thigh", "shin", "pelvis") and h.side == "right"


@pytest.fixture(scope="module")
def reps() -> dict[str, ImuSamples]:
    return simulate(SimConfig(exercise="prone", content="reps", duration_s=90, seed=2)).samples


def _other_leg(s: ImuSamples) -> ImuSamples:
    """The same movement a little different (so the files differ), as a second leg's."""
    return ImuSamples(s.t, s.acc * 1.001, s.gyr * 0.999, s.mag)


def test_four_sensors_write_sided_roles_side_both_and_check_each_leg(tmp_path, reps, capsys):
    """Before: only --thigh/--shin; now each leg's shin is timed against its own thigh."""
    th, sh = reps["thigh"], reps["shin"]
    files = {
        "lt": th,
        "ls": sh,
        "rt": _other_leg(th),
        "rs": ImuSamples(sh.t + 5.0, sh.acc * 1.001, sh.gyr * 0.999, sh.mag),  # 5 s late
        "pv": make_samples(len(th), t0=float(th.t[0]), seed=5),
    }
    for name, s in files.items():
        write_imu_csv(tmp_path / f"{name}.csv", s)
    argv = ["import", "--left-thigh", "lt.csv", "--left-shin", "ls.csv", "--pelvis", "pv.csv"]
    argv += ["--right-thigh", "rt.csv", "--right-shin", "rs.csv", "--exercise", "prone"]
    argv = [str(tmp_path / a) if a.endswith(".csv") else a for a in argv]
    assert main([*argv, "-o", str(tmp_path / "both.imuhip")]) == 0
    out = capsys.readouterr().out
    assert "left_thigh and left_shin agree in time" in out
    assert re.search(
        r"the right_shin's times ran (4\.99\d|5\.00\d) s ahead of the right_thigh", out
    )
    s = read_session(tmp_path / "both.imuhip")
    assert s.header.side == "both"
    assert s.header.roles == ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis")
    assert s.header.layout.describe() == "both legs (thigh + shin) with pelvis"
    np.testing.assert_allclose(s.samples["right_shin"].t, sh.t, atol=0.005)
    corrected = s.header.extra["time_alignment"]["signal_offset_corrected_s"]
    assert corrected["left_shin"] == 0.0 and corrected["right_shin"] == pytest.approx(
        5.0, abs=0.005
    )

    assert main(["info", str(tmp_path / "both.imuhip")]) == 0
    text = capsys.readouterr().out
    assert "layout     both legs (thigh + shin) with pelvis" in text
    for role in s.header.roles:
        assert any(line.split()[:1] == [role] for line in text.splitlines()), role


def test_shin_only_import_warns_that_the_angle_holds_only_prone(tmp_path, reps, capsys):
    write_imu_csv(tmp_path / "ls.csv", reps["shin"])
    write_imu_csv(tmp_path / "rs.csv", _other_leg(reps["shin"]))
    argv = ["import", "--left-shin", str(tmp_path / "ls.csv"), "--right-shin"]
    assert main([*argv, str(tmp_path / "rs.csv"), "-o", str(tmp_path / "s.imuhip")]) == 0
    assert "warning: no thigh sensor" in capsys.readouterr().out
    h = read_session(tmp_path / "s.imuhip").header
    assert h.side == "both" and h.layout.shin_only
    res = import_files({"right_shin": [tmp_path / "rs.csv"]}, tmp_path / "r.imuhip")
    assert res.header.side == "right" and "holds only prone" in res.notes[0]


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--left-thigh", "a", "--right-shin", "b"], "--left-thigh, --right-shin: the left leg"),
        (["--thigh", "a", "--right-shin", "b"], "--thigh cannot be combined with --right-shin"),
        (["--left-thigh", "a", "--left-shin", "b", "--side", "right"], "--side right disagrees"),
        (["--thigh", "a", "--shin", "b"], "--thigh, --shin need --side"),
        (["--pelvis", "a", "--trunk", "b"], "no leg sensor given"),
        (
            ["--thigh", "a", "--side", "left"],
            "--thigh: the left leg has a thigh sensor but no shin",
        ),
    ],
)
def test_invalid_flag_sets_are_refused_naming_the_flags(tmp_path, capsys, flags, words):
    """Refused before any file is read (the files named here do not exist)."""
    assert main(["import", *flags, "-o", str(tmp_path / "x.imuhip")]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "x.imuhip").exists()


def test_the_library_refuses_an_invalid_layout_before_reading(tmp_path):
    with pytest.raises(LayoutError, match="cannot be mixed"):
        import_files(
            {"thigh": ["nowhere.csv"], "left_shin": ["nowhere.csv"]}, tmp_path / "x", side="left"
        )
    with pytest.raises(LayoutError, match="need the side"):
        import_files({"thigh": ["nowhere.csv"], "shin": ["nowhere.csv"]}, tmp_path / "x")
