"""The per-sensor exports (``export --samples``, ``--dot``) stream the file through the aligner
the analysis uses and write each piece as it comes: the same bytes as the files written whole,
the sample times of ``analyze``, nothing left behind on an error. SIMULATED sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import pytest

from imuhip.align.aligner import feed_aligner
from imuhip.align.offline import CONTEXT_S, WINDOW_S, OfflineAligner
from imuhip.cli import main
from imuhip.files.csv_samples import ImuCsvWriter, read_imu_csv, write_imu_csv
from imuhip.files.session_file import stream_session
from imuhip.pipeline.analyze import aligned_samples
from imuhip.samples import ImuSamples
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.field_export import DotCsvWriter, write_dot_csv

from .conftest import make_samples


def _pieces(s: ImuSamples, cuts: list[int]) -> list[ImuSamples]:
    edges = [0, *cuts, len(s)]
    return [s.slice(a, b) for a, b in pairwise(edges)]


def _no_mag(s: ImuSamples) -> ImuSamples:
    return ImuSamples(s.t, s.acc, s.gyr, None)


@pytest.mark.parametrize("mags", ["all", "none", "not-in-the-middle", "not-at-the-start"])
def test_a_csv_written_in_pieces_is_the_csv_of_the_pieces_joined(tmp_path, mags):
    parts = _pieces(make_samples(500, mag=True, seed=4), [120, 121, 300])
    if mags == "none":
        parts = [_no_mag(p) for p in parts]
    elif mags == "not-in-the-middle":
        parts[2] = _no_mag(parts[2])
    elif mags == "not-at-the-start":
        parts[0] = _no_mag(parts[0])
    whole = write_imu_csv(tmp_path / "whole.csv", ImuSamples.concatenate(parts))
    with ImuCsvWriter(tmp_path / "pieces.csv") as w:
        for p in [ImuSamples.concatenate([]), *parts]:
            w.write(p)
    assert w.path.read_bytes() == whole.read_bytes()
    has_mag = mags == "all"
    assert ("mag_x" in whole.read_text().splitlines()[0]) == has_mag
    back = read_imu_csv(w.path).samples
    assert len(back) == 500 and (back.mag is not None) == has_mag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pieces.csv", "whole.csv"]


def test_a_csv_of_no_samples_is_its_header(tmp_path):
    with ImuCsvWriter(tmp_path / "empty.csv") as w:
        w.write(ImuSamples.concatenate([]))
    assert w.path.read_text() == "time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n"


@pytest.mark.parametrize("writer", ["csv", "dot"])
def test_an_error_while_writing_leaves_no_file_and_the_old_one_untouched(tmp_path, writer):
    out = tmp_path / "out.csv"
    out.write_text("the export before")
    s = make_samples(50)
    w = ImuCsvWriter(out) if writer == "csv" else DotCsvWriter(out, tag="thigh", start=None)
    with pytest.raises(RuntimeError), w:
        w.write(s)
        raise RuntimeError("the session stopped being readable")
    assert out.read_text() == "the export before"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize("start", [None, datetime(2026, 3, 1, 9, 30, 5, 250000, tzinfo=UTC)])
def test_a_dot_csv_written_in_pieces_is_the_dot_csv_of_the_pieces_joined(tmp_path, start):
    s = make_samples(400, t0=12.5, mag=False, seed=2)
    whole = write_dot_csv(tmp_path / "whole.csv", s, tag="shin", start=start)
    with DotCsvWriter(tmp_path / "pieces.csv", tag="shin", start=start) as w:
        for p in _pieces(s, [1, 200, 201]):
            w.write(p)
    assert w.path.read_bytes() == whole.read_bytes()
    with DotCsvWriter(tmp_path / "empty.csv", tag="shin", start=start) as e:
        pass
    lines = e.path.read_text().splitlines()
    assert lines[4] == "StartTime: ,"  # no first sample: no start
    assert lines[-1].startswith("PacketCounter,") and len(lines) == 8


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    """A session long enough for the offline aligner to work in rounds."""
    duration = WINDOW_S + 2 * CONTEXT_S + 180.0
    sim = simulate(SimConfig(content="reps", duration_s=duration, seed=5, profile="witmotion-ble5"))
    path = tmp_path_factory.mktemp("long") / "long.imuhip"
    write_simulation(sim, path)
    return path


def _analysis_streams(path) -> dict[str, ImuSamples]:
    """Each sensor's samples as the analysis of ``path`` aligns them (kept whole)."""
    stream = stream_session(path)
    al = OfflineAligner(stream.header, keep_samples=True)
    for item in stream:
        feed_aligner(al, item)
    al.flush()
    return {role: st.samples for role, st in al.streams().items()}


def test_aligned_samples_are_the_analysis_samples_in_pieces(long_file):
    ref = _analysis_streams(long_file)
    got: dict[str, list[ImuSamples]] = {r: [] for r in ref}
    for block in aligned_samples(stream_session(long_file)):
        got[block.role].append(block.samples)
    for role, s in ref.items():
        assert len(got[role]) > 1  # released in pieces, not at the end at once
        joined = ImuSamples.concatenate(got[role])
        assert len(s) > 100_000
        for name in ("t", "acc", "gyr"):
            np.testing.assert_array_equal(getattr(joined, name), getattr(s, name))


def test_export_samples_and_dot_write_the_analysis_samples(long_file, tmp_path, capsys):
    ref = _analysis_streams(long_file)
    csv, dot = tmp_path / "csv", tmp_path / "dot"
    assert main(["export", str(long_file), "--samples", str(csv), "--dot", str(dot)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"wrote {d / f'{r}.csv'}" for d in (csv, dot) for r in ("thigh", "shin")]
    for role, s in ref.items():
        back = read_imu_csv(csv / f"{role}.csv").samples
        for name in ("t", "acc", "gyr"):
            np.testing.assert_array_equal(getattr(back, name), getattr(s, name))
        expected = write_dot_csv(tmp_path / f"{role}-whole.csv", s, tag=role, start=None)
        assert (dot / f"{role}.csv").read_bytes() == expected.read_bytes()


@pytest.mark.parametrize("damage", ["cut off", "overwritten in the middle"])
def test_export_of_a_damaged_file_writes_what_is_readable_and_says_so(
    long_file, tmp_path, capsys, damage
):
    data = bytearray(long_file.read_bytes())
    half = len(data) // 2
    if damage == "cut off":
        data = data[: half + 17]
    else:
        data[half : half + 40_000] = bytes(40_000)
    bad = tmp_path / "bad.imuhip"
    bad.write_bytes(bytes(data))
    assert main(["export", str(bad), "--samples", str(tmp_path / "csv")]) == 0
    captured = capsys.readouterr()
    assert "bad.imuhip" in captured.err and "warning" in captured.err
    ref = _analysis_streams(bad)
    for role in ("thigh", "shin"):
        back = read_imu_csv(tmp_path / "csv" / f"{role}.csv").samples
        np.testing.assert_array_equal(back.t, ref[role].t)
        assert len(back) > 40_000


def test_export_of_a_session_with_a_silent_sensor_says_so(tmp_path, header, capsys):
    """The thigh's stored samples (with magnetometer) are written exactly; the shin, which
    sent nothing, gets a file of the header alone and a note."""
    from imuhip.files.session_file import write_session

    thigh = make_samples(700, t0=3.0, mag=True, seed=8)
    path = tmp_path / "one.imuhip"
    write_session(path, header, {"thigh": thigh})
    assert main(["export", str(path), "--samples", str(tmp_path / "csv")]) == 0
    out = capsys.readouterr().out
    assert "note: the shin sensor has no samples in this session" in out
    back = read_imu_csv(tmp_path / "csv" / "thigh.csv").samples
    for name in ("t", "acc", "gyr", "mag"):
        np.testing.assert_array_equal(getattr(back, name), getattr(thigh, name))
    assert (tmp_path / "csv" / "shin.csv").read_text().count("\n") == 1
