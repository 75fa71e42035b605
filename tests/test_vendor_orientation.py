"""Orientation-only imports (Movella DOT "Extended" modes): the vendor's orientation in place of
the fusion filter, the rates derived from it, the session file's orientation record."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from imuhip import quaternion as Q
from imuhip.errors import CsvImportError, SessionFormatVersionError
from imuhip.files.convert import import_files
from imuhip.files.importers import read_file
from imuhip.files.session_file import read_session, write_session
from imuhip.fusion.vendor import (
    VendorOrientation,
    VendorTrack,
    body_rate,
    clean_orientation,
    euler_zyx_deg_to_quat,
    slerp,
    vendor_orientation_note,
    vendor_samples,
)
from imuhip.pipeline.analyze import analyze_session
from imuhip.samples import OrientationSamples
from imuhip.session import SensorInfo, SessionHeader
from imuhip.sim.kinematics import pose, segments
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

G = 9.80665
VENDOR_DOT = Path(__file__).resolve().parents[1].parent / "shared/data/vendor_files/movella_dot"
DOT_FILES = sorted(VENDOR_DOT.glob("*.csv")) if VENDOR_DOT.is_dir() else []


def write_dot_extended(
    path: Path,
    t: np.ndarray,
    quat: np.ndarray | None = None,
    free_acc: np.ndarray | None = None,
    *,
    euler_deg: np.ndarray | None = None,
    tag: str = "a",
    start_ticks: int = 1_000_000,
) -> Path:
    """A DOT app CSV export in an "Extended" mode (the layout of the real exports: preamble,
    ``PacketCounter,SampleTimeFine`` then ``Quat_*`` or ``Euler_*``, ``FreeAcc_*``, ``Status``)."""
    cols = ["Quat_W", "Quat_X", "Quat_Y", "Quat_Z"] if euler_deg is None else ["Euler_X",
            "Euler_Y", "Euler_Z"]  # fmt: skip
    vals = quat if euler_deg is None else euler_deg
    assert vals is not None
    if free_acc is None:
        free_acc = np.zeros((len(t), 3))
    ticks = start_ticks + np.rint(np.asarray(t) * 1e6).astype(np.int64)
    mode = "Extended (Quaternion)" if euler_deg is None else "Extended (Euler)"
    lines = [
        "sep=,", f"DeviceTag:,{tag}", "FirmwareVersion:,2.0.0", "AppVersion:,2022.0",
        f"Measurement Mode:,{mode}", "StartTime: ,2024-03-01_10:00:00_000 GMT+1",
        "© Movella 2022", "",
        "PacketCounter,SampleTimeFine," + ",".join(cols) + ",FreeAcc_X,FreeAcc_Y,FreeAcc_Z,Status",
    ]  # fmt: skip
    for i in range(len(t)):
        v = ",".join(f"{x:.9f}" for x in vals[i])
        fa = ",".join(f"{x:.6f}" for x in free_acc[i])
        lines.append(f"{i % 65536},{ticks[i] % (1 << 32)},{v},{fa},0")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rz(angle: np.ndarray) -> np.ndarray:
    return Q.from_axis_angle(np.array([0.0, 0.0, 1.0]), angle)


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    return Q.normalize(rng.normal(size=(n, 4)))


# --------------------------------------------------------------------------- maths


def test_euler_zyx_matches_the_rotation_sequence():
    rng = np.random.default_rng(1)
    e = rng.uniform([-180, -85, -180], [180, 85, 180], size=(50, 3))
    r = np.radians(e)
    x, y, z = (np.eye(3)[k] for k in range(3))
    expected = Q.multiply(
        Q.from_axis_angle(z, r[:, 2]),
        Q.multiply(Q.from_axis_angle(y, r[:, 1]), Q.from_axis_angle(x, r[:, 0])),
    )
    got = euler_zyx_deg_to_quat(e)
    assert np.allclose(np.abs(np.einsum("ij,ij->i", got, expected)), 1.0, atol=1e-12)


def test_derived_body_rate_equals_the_true_rate():
    """A sensor turning at a known, changing body rate: the rate derived from its quaternions
    (2·q⁻¹ dq/dt) matches it in the sensor frame."""
    rate = 120.0
    t = np.arange(0, 5, 1 / rate)
    w_true = np.column_stack([np.sin(t), 0.5 * np.cos(2 * t), 0.3 + 0 * t]) * 2.0  # rad/s
    q = np.empty((len(t), 4))
    q[0] = Q.normalize(np.array([0.9, 0.1, -0.3, 0.2]))
    m = 16  # fine integration of the true rate (midpoint steps)
    h = 1 / rate / m
    mid = (np.arange(len(t) * m) + 0.5) * h
    steps = Q.from_rotvec(np.column_stack([np.sin(mid), 0.5 * np.cos(2 * mid), 0.3 + 0 * mid])
                          * 2.0 * h)  # fmt: skip
    for k in range(1, len(t)):
        qq = q[k - 1]
        for j in range((k - 1) * m, k * m):
            qq = Q.multiply(qq, steps[j])
        q[k] = qq
    got = body_rate(t, q)
    err = np.abs(got - w_true)[1:-1]
    assert err.max() < 0.01  # rad/s (central difference at 120 Hz)
    # in the world frame it would be wrong: the frame matters
    world = Q.rotate(q, w_true)
    assert np.abs(got - world)[1:-1].max() > 0.5


def test_derived_rate_and_acc_agree_with_a_real_dot_gyroscope():
    """The real DOT export (Euler angles with Acc and Gyr): the rate derived from its Euler
    angles matches its own gyroscope, and gravity turned into the sensor frame its
    accelerometer at rest, which pins the Euler sequence and the sensor-to-ENU frame."""
    if not DOT_FILES:
        pytest.skip(f"vendor files not available ({VENDOR_DOT} missing)")
    for path in DOT_FILES:
        a = np.genfromtxt(path, delimiter=",", skip_header=8)[1:]  # first row zeroed by the app
        t = (a[:, 1] - a[0, 1]) / 1e6
        o, dropped = clean_orientation(OrientationSamples(t, euler_zyx_deg_to_quat(a[:, 2:5])))
        s = vendor_samples(o)
        gyr = np.radians(a[:, 8:11])
        err = np.sqrt(np.mean((s.gyr - gyr) ** 2))
        assert dropped == 0 and err < 0.2 * np.sqrt(np.mean(gyr**2)) + 0.02
        acc = a[:, 5:8]
        slow = np.linalg.norm(gyr, axis=1) < np.radians(5)
        assert np.median(np.linalg.norm(s.acc[slow] - acc[slow], axis=1)) < 1.0  # m/s²


def test_malformed_quaternions_are_dropped_and_counted():
    t = np.arange(6) / 60.0
    q = np.tile([1.0, 0.0, 0.0, 0.0], (6, 1))
    q[2] = 0.0
    q[4] = np.nan
    q[5] *= -2.0  # another sign and norm: the same orientation
    o, dropped = clean_orientation(OrientationSamples(t, q))
    assert dropped == 2 and len(o) == 4
    assert np.allclose(o.quat, [1.0, 0, 0, 0])


def test_vendor_orientation_slerps_onto_the_grid_like_a_filter():
    rng = np.random.default_rng(3)
    t = np.arange(0, 2, 1 / 60)
    q = Q.normalize(np.cumsum(rng.normal(scale=0.02, size=(len(t), 4)), axis=0) + [1, 0, 0, 0])
    track = VendorTrack()
    for a in range(0, len(t), 7):  # arrives in pieces, one sign flipped
        track.add(t[a : a + 7], q[a : a + 7] * (-1 if a == 14 else 1))
    f = VendorOrientation(track, t0=0.005, rate_hz=100.0)
    got = np.concatenate([f.update(np.zeros((30, 3)), np.zeros((30, 3))), f.hold(5)])
    got = np.concatenate([got, f.update(np.zeros((40, 3)), np.zeros((40, 3)))])
    tg = 0.005 + np.arange(75) / 100
    i = np.searchsorted(t, tg, side="right")
    u = (tg - t[i - 1]) / (t[i] - t[i - 1])
    want = slerp(q[i - 1], q[i], u)
    sel = np.r_[0:30, 35:75]
    assert np.allclose(np.abs(np.einsum("ij,ij->i", got[sel], want[sel])), 1.0, atol=1e-9)
    assert np.allclose(got[30:35], got[29])  # held through a lost stretch


# --------------------------------------------------------------------------- session file


def _vendor_header(roles=("thigh", "shin")) -> SessionHeader:
    sensors = tuple(
        SensorInfo(r, rate_hz=60.0, config={"orientation_source": "vendor"}) for r in roles
    )
    return SessionHeader(side="left", exercise="prone", sensors=sensors)


def test_orientation_records_round_trip_and_give_the_derived_samples(tmp_path):
    rng = np.random.default_rng(4)
    t = np.arange(0, 3, 1 / 60)
    q = _random_rotations(rng, 1)[0] * np.ones((len(t), 1))
    q = Q.multiply(q, Q.from_rotvec(np.outer(t, [0.0, 0.0, 0.5])))  # 0.5 rad/s about z
    fa = rng.normal(scale=0.1, size=(len(t), 3))
    o = {"thigh": OrientationSamples(t, q, fa), "shin": OrientationSamples(t, q)}
    path = write_session(tmp_path / "v.imuhip", _vendor_header(), orientation=o)
    s = read_session(path)
    assert b'"format_version":2' in path.read_bytes()[:200]
    for role in ("thigh", "shin"):
        got = s.samples[role]
        assert np.array_equal(got.t, t) and got.quat is not None
        assert np.allclose(np.abs(np.einsum("ij,ij->i", got.quat, q)), 1.0)
        assert np.allclose(got.gyr, [0.0, 0.0, 0.5], atol=1e-9)
    up = Q.rotate(Q.conjugate(q), np.broadcast_to([0.0, 0.0, G], (len(t), 3)))
    assert np.allclose(s.samples["shin"].acc, up)
    assert np.allclose(s.samples["thigh"].acc, up + Q.rotate(Q.conjugate(q), fa))
    assert s.report.ok


def test_plain_files_stay_version_1(tmp_path):
    sim = simulate(SimConfig(duration_s=40.0, content="rest"))
    path = tmp_path / "s.imuhip"
    write_simulation(sim, path)
    assert b'"format_version":1' in path.read_bytes()[:200]


def test_an_older_reader_refuses_a_vendor_orientation_file(tmp_path, monkeypatch):
    """A reader of format version 1 meets a file with orientation records: it refuses it
    (newer version) instead of skipping the records and losing the sensor."""
    from imuhip.files import session_file

    t = np.arange(0, 2, 1 / 60)
    q = np.tile([1.0, 0, 0, 0], (len(t), 1))
    path = write_session(
        tmp_path / "v.imuhip",
        _vendor_header(),
        orientation={"thigh": OrientationSamples(t, q), "shin": OrientationSamples(t, q)},
    )
    monkeypatch.setattr(session_file, "FORMAT_VERSION", 1)
    with pytest.raises(SessionFormatVersionError, match="newer than this imuhip supports"):
        read_session(path)


def test_a_damaged_orientation_record_is_reported_not_a_crash(tmp_path):
    """An orientation record whose quaternions are NaN (with a valid checksum): skipped and
    reported as damaged, the rest of the sensor read."""
    from imuhip.files import records

    t = np.arange(0, 3, 1 / 60)
    q = np.tile([1.0, 0, 0, 0], (len(t), 1))
    o = OrientationSamples(t, q)
    path = write_session(tmp_path / "v.imuhip", _vendor_header(), orientation={"thigh": o,
                         "shin": o})  # fmt: skip
    data = bytearray(path.read_bytes())
    recs = [r for r in records.scan(bytes(data)) if isinstance(r, records.Record) and r.kind == 5]
    r = recs[1]
    start = r.offset + records.HEAD_SIZE
    n = struct.unpack_from("<I", data, start + 2)[0]
    struct.pack_into("<d", data, start + 6 + 8 * n, float("nan"))  # first quaternion's w
    payload = bytes(data[start : start + len(r.payload)])
    crc = zlib.crc32(payload, zlib.crc32(bytes(data[r.offset + 2 : start])))
    struct.pack_into("<I", data, start + len(r.payload), crc)
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning):
        s = read_session(path)
    assert len(s.report.damaged) == 1 and "quaternions" in s.report.damaged[0].reason
    assert sum(len(x) for x in s.samples.values()) == 2 * len(t) - n


# --------------------------------------------------------------------------- import


def test_extended_csv_with_bad_rows_imports_with_them_counted(tmp_path):
    t = np.arange(0, 3, 1 / 60)
    q = Q.multiply(
        _random_rotations(np.random.default_rng(5), 1)[0],
        Q.from_rotvec(np.outer(t, [0.3, 0.0, 0.0])),
    )
    q[10] = 0.0
    q[20] = np.nan
    p = write_dot_extended(tmp_path / "a.csv", t, q)
    f = read_file(p)
    assert not f.channels and f.orientation is not None and len(f.orientation.t) == len(t) - 2
    assert any("2 row(s) with an unusable orientation" in n and "line 20, 30" in n for n in f.notes)


def test_an_extended_csv_with_text_in_a_quaternion_names_the_line(tmp_path):
    t = np.arange(0, 1, 1 / 60)
    p = write_dot_extended(tmp_path / "a.csv", t, np.tile([1.0, 0, 0, 0], (len(t), 1)))
    lines = p.read_text().splitlines()
    lines[12] = lines[12].replace("1.000000000", "one", 1)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(CsvImportError, match="line 13: Quat_W is 'one'"):
        read_file(p)


def _true_orientation(sim, role: str, t: np.ndarray) -> np.ndarray:
    segs = segments(pose(sim.header.exercise), sim.header.side, sim.script.angles(t))
    seg = segs.thigh_skin if role == "thigh" else segs.shank
    return Q.multiply(seg, np.asarray(sim.truth.mounts[role]))


def _euler_zyx_deg(q: np.ndarray) -> np.ndarray:
    """ZYX Euler angles (x roll, y pitch, z yaw), degrees, of sensor-to-earth quaternions."""
    r = Q.to_matrix(q)
    roll = np.arctan2(r[:, 2, 1], r[:, 2, 2])
    pitch = np.arcsin(-np.clip(r[:, 2, 0], -1.0, 1.0))
    yaw = np.arctan2(r[:, 1, 0], r[:, 0, 0])
    return np.degrees(np.column_stack([roll, pitch, yaw]))


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, std_deg: float) -> np.ndarray:
    """(n, 3) rotation-vector errors, rad, wandering slowly (sums of 0.05-0.3 Hz waves of
    random phase) with ``std_deg`` per axis: a fused orientation's error is smooth (the real
    DOT exports' derived rate at rest is under 0.4 °/s, 90th percentile)."""
    f = rng.uniform(0.05, 0.3, size=(4, 3))
    ph = rng.uniform(0, 2 * np.pi, size=(4, 3))
    x = np.sin(2 * np.pi * f[None] * t[:, None, None] + ph[None]).sum(axis=1)
    return np.radians(std_deg) * x / x.std(axis=0)


@pytest.fixture(scope="module")
def vendor_session(tmp_path_factory):
    """SIMULATED: one session as raw samples and as two DOT "Extended" exports of its true
    orientations with a vendor filter's errors (0.3° of slowly wandering error, a 2°/min heading
    drift of its own per sensor, a fixed tilt error of 0.2-0.4°), both analysed."""
    tmp = tmp_path_factory.mktemp("vendor")
    sim = simulate(SimConfig(exercise="prone", side="left", content="reps", duration_s=150,
                             seed=11, rate_hz=60.0, mount_cone_deg=25.0))  # fmt: skip
    raw_path = tmp / "raw.imuhip"
    write_simulation(sim, raw_path)
    rng = np.random.default_rng(12)
    files = {}
    for k, role in enumerate(("thigh", "shin")):
        s = sim.samples[role]
        q = _true_orientation(sim, role, s.t)
        drift = _rz(np.radians(2.0 / 60.0) * (1 - 2 * k) * s.t + rng.uniform(-3, 3))
        tilt = Q.from_rotvec(np.radians(0.2) * np.array([1.0, -0.5, 0.0]) * (k + 1))
        noise = Q.from_rotvec(_smooth_noise(rng, s.t, 0.3) + rng.normal(
            scale=np.radians(0.002), size=(len(s.t), 3)))  # fmt: skip
        q_vendor = Q.multiply(Q.multiply(drift, Q.multiply(tilt, q)), noise)
        free_acc = Q.rotate(q, s.acc) - [0.0, 0.0, G]
        if k == 1:  # the shin as Euler angles (the other Extended mode)
            e = _euler_zyx_deg(q_vendor)
            files[role] = write_dot_extended(tmp / f"{role}.csv", s.t, None, free_acc,
                                             euler_deg=e, tag=role)  # fmt: skip
        else:
            files[role] = write_dot_extended(tmp / f"{role}.csv", s.t, q_vendor, free_acc,
                                             tag=role)  # fmt: skip
    out = tmp / "vendor.imuhip"
    res = import_files({r: [p] for r, p in files.items()}, out, side="left", exercise="prone")
    ven = analyze_session(read_session(out))
    return sim, res, analyze_session(read_session(raw_path)), ven, files


def test_simulated_vendor_orientation_session_matches_truth_and_the_raw_session(vendor_session):
    """SIMULATED: the session imported from the vendor's orientations analyses to the true hip
    rotation within 1.5° RMSE and the same reps as the raw-sample session."""
    sim, res, raw, ven, _ = vendor_session
    assert res.header.sensors[0].config == {"orientation_source": "vendor"}
    t = ven.grid.t
    after = t > sim.truth.events["calibration_end_s"] + 1.0
    err = ven.hip_rotation_deg[after] - sim.truth.hip_rotation_at(t[after])
    ok = np.isfinite(err)
    assert ok.mean() > 0.95
    assert np.sqrt(np.mean(err[ok] ** 2)) < 1.5
    print(f"SIMULATED vendor-orientation RMSE {np.sqrt(np.mean(err[ok] ** 2)):.2f} deg, "
          f"{len(ven.exercise.reps)} reps")  # fmt: skip
    assert len(ven.exercise.reps) == len(raw.exercise.reps) > 3
    for a, b in zip(ven.exercise.reps, raw.exercise.reps, strict=True):
        assert abs(a.peak_s - b.peak_s) < 1.0
    said = [w for w in ven.warnings if "the vendor's orientation was used" in w]
    assert len(said) == 2 and not any("vendor" in w for w in raw.warnings)


def test_derived_shin_rate_follows_the_true_body_rate(vendor_session):
    """SIMULATED: the shin's angular rate derived from the vendor's quaternions (what the
    calibration's phase finding and the detector see), against the true body rate."""
    sim, res, _, _, _ = vendor_session
    derived = read_session(res.path).samples["shin"]
    t = sim.samples["shin"].t
    assert len(derived) == len(t)  # one derived sample per row of the export
    h = 1e-4
    q0, q1 = _true_orientation(sim, "shin", t - h), _true_orientation(sim, "shin", t + h)
    true = Q.to_rotvec(Q.multiply(Q.conjugate(q0), q1)) / (2 * h)
    d = np.linalg.norm(derived.gyr - true, axis=1)
    size = np.sqrt(np.mean(np.sum(true**2, axis=1)))
    assert size > 0.2 and np.sqrt(np.mean(d**2)) < 0.03  # rad/s (measured 0.013)


def test_analyze_info_report_and_export_say_the_vendors_orientation_was_used(
    vendor_session, tmp_path, capsys
):
    from imuhip.cli import main

    _, res, _, _, _ = vendor_session
    path = str(res.path)
    said = "the vendor's orientation was used for the"
    assert main(["analyze", "--json", path]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["orientation_source"] == {"thigh": "vendor", "shin": "vendor"}
    assert sum(said in w for w in doc["warnings"]) == 2
    assert main(["analyze", path]) == 0
    assert capsys.readouterr().out.count(said) == 2
    assert main(["info", path]) == 0
    assert capsys.readouterr().out.count(said) == 2
    out = tmp_path / "r.html"
    assert main(["report", path, "-o", str(out)]) == 0
    assert out.read_text().count("The vendor&#x27;s orientation was used for the") == 2
    capsys.readouterr()
    assert main(["export", path, "--samples", str(tmp_path / "csv")]) == 0
    assert capsys.readouterr().out.count(said) == 2


def test_a_raw_session_says_fused(tmp_path, capsys):
    from imuhip.cli import main

    sim = simulate(SimConfig(duration_s=60.0, content="reps", seed=3))
    path = tmp_path / "s.imuhip"
    write_simulation(sim, path)
    assert main(["analyze", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["orientation_source"] == {"thigh": "fused", "shin": "fused"}
    assert not any("vendor" in w for w in doc["warnings"])


def test_the_causal_replay_gives_the_offline_angles(vendor_session):
    """One pipeline: the vendor session fed as it arrived (small sample blocks, causal aligner)
    gives the same angles and reps as the offline analysis."""
    _, res, _, ven, _ = vendor_session
    causal = analyze_session(read_session(res.path), aligner="causal")
    n = min(len(causal.grid.t), len(ven.grid.t))
    assert np.allclose(causal.grid.t[:n], ven.grid.t[:n])
    a, b = causal.hip_rotation_deg[:n], ven.hip_rotation_deg[:n]
    both = np.isfinite(a) & np.isfinite(b)
    assert np.array_equal(np.isfinite(a), np.isfinite(b)) and both.mean() > 0.8
    assert np.abs(a[both] - b[both]).max() < 1e-6
    assert [r.peak_s for r in causal.exercise.reps] == [r.peak_s for r in ven.exercise.reps]


def test_rewriting_a_read_session_keeps_the_vendors_orientation(tmp_path):
    """Tools that rewrite a session from what they read (reblock, train --replay -o) store a
    vendor sensor's samples as its orientation again, free acceleration only where there was."""
    rng = np.random.default_rng(8)
    t = np.arange(0, 3, 1 / 60)
    q = Q.multiply(_random_rotations(rng, 1)[0], Q.from_rotvec(np.outer(t, [0.2, -0.4, 0.1])))
    fa = rng.normal(scale=0.2, size=(len(t), 3))
    o = {"thigh": OrientationSamples(t, q, fa), "shin": OrientationSamples(t, q)}
    first = read_session(write_session(tmp_path / "a.imuhip", _vendor_header(), orientation=o))
    path = write_session(tmp_path / "b.imuhip", first.header, samples=first.samples)
    again = read_session(path)
    assert b'"format_version":2' in path.read_bytes()[:200]
    for role in ("thigh", "shin"):
        a, b = first.samples[role], again.samples[role]
        assert b.quat is not None and np.allclose(a.quat, b.quat)
        assert np.allclose(a.gyr, b.gyr) and np.allclose(a.acc, b.acc)
    from imuhip.fusion.vendor import orientation_of

    assert orientation_of(again.samples["shin"]).free_acc is None
    assert np.allclose(orientation_of(again.samples["thigh"]).free_acc, fa)


def test_a_vendor_thigh_with_a_raw_shin_partner_is_aligned_and_analysed(vendor_session, tmp_path):
    """SIMULATED: the thigh as a DOT Extended export, the shin as raw samples (imuhip CSV, its
    own clock): the import lines them up from the gyroscopes (the thigh's derived from its
    orientation), and the analysis, one sensor fused and one the vendor's, follows the truth."""
    from imuhip.files.csv_samples import write_imu_csv

    sim, _, raw, _, files = vendor_session
    sh = sim.samples["shin"]
    sh = sh.slice(int(np.searchsorted(sh.t, sh.t[0] + 0.5)), len(sh))  # starts 0.5 s later
    shin = write_imu_csv(tmp_path / "shin.csv", sh)
    res = import_files({"thigh": [files["thigh"]], "shin": [shin]}, tmp_path / "m.imuhip",
                       side="left", exercise="prone")  # fmt: skip
    assert res.header.sensor("shin").config == {}
    s = read_session(res.path)
    got = s.samples["shin"].t[0] - s.samples["thigh"].t[0]
    want = sh.t[0] - sim.samples["thigh"].t[0]  # about 0.5 s: found from the gyroscopes
    assert want > 0.4 and got == pytest.approx(want, abs=2 / 60)  # (under 2 periods: kept)
    mixed = analyze_session(s)
    t = mixed.grid.t + sim.samples["thigh"].t[0]  # back on the simulator's time base
    after = t > sim.truth.events["calibration_end_s"] + 1.0
    err = mixed.hip_rotation_deg[after] - sim.truth.hip_rotation_at(t[after])
    ok = np.isfinite(err)
    assert ok.mean() > 0.95 and np.sqrt(np.mean(err[ok] ** 2)) < 1.5
    assert len(mixed.exercise.reps) == len(raw.exercise.reps)
    assert [w for w in mixed.warnings if "vendor" in w] == [vendor_orientation_note("thigh")]


_VALUES = st.sampled_from([0.0, 1.0, -0.5, 0.3, 1e-9, 5.0, float("nan"), float("inf")])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_VALUES, _VALUES, _VALUES, _VALUES), max_size=30))
def test_any_quaternion_values_are_cleaned_or_dropped_never_a_crash(rows):
    n = len(rows)
    q = np.array(rows, dtype=float).reshape(n, 4)
    t = np.arange(n) / 60.0
    o, dropped = clean_orientation(OrientationSamples(t, q))
    assert dropped + len(o) == n
    s = vendor_samples(o)
    assert np.isfinite(s.gyr).all() and np.isfinite(s.acc).all() and np.isfinite(s.quat).all()
    assert np.allclose(np.linalg.norm(s.quat, axis=1), 1.0)


def test_export_samples_of_vendor_orientation_writes_the_derived_samples(vendor_session, tmp_path):
    """The streamed export (the analysis's aligner) of sensors given only as their vendor's
    orientation writes what a whole-session alignment derives: a short session is one fit."""
    from imuhip.align.streams import sensor_streams
    from imuhip.cli import main
    from imuhip.files.csv_samples import read_imu_csv

    _, res, _, _, _ = vendor_session
    assert main(["export", str(res.path), "--samples", str(tmp_path / "csv")]) == 0
    whole = sensor_streams(read_session(res.path))
    for role in ("thigh", "shin"):
        back = read_imu_csv(tmp_path / "csv" / f"{role}.csv").samples
        ref = whole[role].samples
        assert len(back) == len(ref) > 1000
        for name in ("t", "acc", "gyr"):
            np.testing.assert_array_equal(getattr(back, name), getattr(ref, name))
