"""Temporary files are created safely: a symlink planted at the old predictable name
(``.NAME.partial``) or at the target is never written through (issue 21, part 3)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from imuhip.atomic import FILE_MODE, atomic_write
from imuhip.config import PairedSensor, Pairing, save_pairing
from imuhip.files.csv_samples import write_imu_csv
from imuhip.files.session_file import read_session, write_session
from imuhip.sinks.field_export import write_dot_csv, write_mot, write_sto
from imuhip.sinks.history import HistoryRow, write_csv
from imuhip.sinks.report import write_report

from .conftest import make_samples

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")


@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "victim.txt"
    v.write_text("precious")
    return v


def _plant(target, victim) -> None:
    os.symlink(victim, target.with_name(f".{target.name}.partial"))


WRITERS = {
    "session": lambda p, header: write_session(p, header, {"thigh": make_samples(50)}),
    "csv": lambda p, header: write_imu_csv(p, make_samples(20)),
    "report": lambda p, header: write_report(p, "<html></html>"),
    "history-csv": lambda p, header: write_csv(p, [HistoryRow("a", "", "")]),
    "dot-csv": lambda p, header: write_dot_csv(p, make_samples(20), tag="thigh", start=None),
    "mot": lambda p, header: write_mot(p, np.arange(3.0), {"left": np.zeros(3)}, start=None),
    "sto": lambda p, header: write_sto(
        p,
        np.arange(3.0),
        {"thigh": np.tile([1.0, 0, 0, 0], (3, 1))},
        side="left",
        rate_hz=100.0,
        start=None,
    ),
    "pairing": lambda p, header: save_pairing(
        Pairing("left", {"thigh": PairedSensor("AA:BB", "witmotion-ble5")}), p
    ),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_a_symlink_at_the_old_temporary_name_is_not_followed(tmp_path, victim, header, kind):
    out = tmp_path / f"out.{kind}"
    _plant(out, victim)
    WRITERS[kind](out, header)
    assert victim.read_text() == "precious"
    assert out.is_file() and not out.is_symlink() and out.stat().st_size > 0
    planted = f".{out.name}.partial"
    leftovers = {p.name for p in tmp_path.iterdir()} - {"victim.txt", out.name, planted}
    assert not leftovers  # the random temporary name is gone too


def test_a_symlink_at_the_target_is_replaced_not_written_through(tmp_path, victim, header):
    out = tmp_path / "s.imuhip"
    os.symlink(victim, out)
    write_session(out, header, {"thigh": make_samples(50)}, overwrite=True)
    assert victim.read_text() == "precious" and not out.is_symlink()
    assert read_session(out).report.ok
    with pytest.raises(FileExistsError):  # a dangling link is "there" too
        os.symlink(tmp_path / "nowhere", tmp_path / "t.imuhip")
        write_session(tmp_path / "t.imuhip", header, {"thigh": make_samples(5)})


def test_atomic_write_leaves_nothing_on_error_and_refuses_to_clobber(tmp_path):
    out = tmp_path / "a.txt"
    with pytest.raises(RuntimeError), atomic_write(out) as f:
        f.write("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_write(out, "wb") as f:
        f.write(b"one")
    assert out.read_bytes() == b"one" and (out.stat().st_mode & 0o777) == FILE_MODE
    with pytest.raises(FileExistsError), atomic_write(out, overwrite=False) as f:
        f.write("two")
    assert out.read_bytes() == b"one" and len(list(tmp_path.iterdir())) == 1
