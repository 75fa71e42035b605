"""Both legs in one session: one leg chain per leg on one grid, each calibrated, tracked and
detected on its own sensors (SIMULATED sessions: two one-leg simulations put side by side)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from imuhip.errors import LayoutError
from imuhip.pipeline import SessionPipeline, analyze_session
from imuhip.session import (
    ReadReport,
    SensorInfo,
    Session,
    SessionHeader,
    input_time,
    session_inputs,
)
from imuhip.sim.simulate import SimConfig, simulate


def _both(seed_left: int = 3, seed_right: int = 4, content: str = "reps"):
    sims = {
        side: simulate(
            SimConfig(side=side, content=content, duration_s=75.0, seed=seed, exercise="prone")
        )
        for side, seed in (("left", seed_left), ("right", seed_right))
    }
    samples, sensors = {}, []
    for side, sim in sims.items():
        for seg in ("thigh", "shin"):
            role = f"{side}_{seg}"
            samples[role] = sim.samples[seg]
            info = sim.header.sensor(seg)
            sensors.append(SensorInfo(role, rate_hz=info.rate_hz, config=info.config))
    header = SessionHeader(side="both", exercise="prone", sensors=tuple(sensors))
    session = Session(header, samples, {}, (), ReadReport(file_size=0, records=0))
    return session, sims


@pytest.fixture(scope="module")
def both():
    session, sims = _both()
    return session, sims, analyze_session(session)


def test_each_leg_gets_its_own_analysis(both):
    _, sims, result = both
    assert [leg.side for leg in result.legs] == ["left", "right"]
    assert result.side == "left" and result.hip_rotation_deg is result.legs[0].hip_rotation_deg
    for leg in result.legs:
        truth = sims[leg.side].truth
        true_reps = truth.events["reps"]
        assert len(leg.exercise.reps) == len(true_reps)
        for rep, want in zip(leg.exercise.reps, true_reps, strict=True):
            assert abs(rep.peak_deg - want["peak_deg"]) <= 1.5
        t = leg.grid.t
        ok = np.isfinite(leg.hip_rotation_deg)
        err = leg.hip_rotation_deg[ok] - truth.hip_rotation_at(t[ok])
        assert np.sqrt(np.mean(err**2)) < 1.5
        assert set(leg.orientations) == {f"{leg.side}_thigh", f"{leg.side}_shin"}


def test_one_legs_result_does_not_depend_on_the_other_leg(both):
    """The left leg's reps are the same whatever the right leg did (another seed)."""
    _, _, result = both
    other, _ = _both(seed_right=9)
    again = analyze_session(other)
    a, b = result.legs[0].exercise.reps, again.legs[0].exercise.reps
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert abs(x.peak_deg - y.peak_deg) < 0.05 and abs(x.peak_s - y.peak_s) < 0.05


def test_live_events_carry_their_leg(both):
    session, _, result = both
    pipe = SessionPipeline(session.header)
    events = []
    for item in session_inputs(session, as_arrived=True):
        pipe.feed(item)
        events += pipe.advance()
    pipe.finish()
    counted = [e for e in pipe.events if e.kind == "rep_counted"]
    assert {e.side for e in counted} == {"left", "right"}
    for leg in result.legs:
        mine = [e for e in counted if e.side == leg.side]
        assert len(mine) == len(leg.exercise.reps)
        assert pipe.leg_state(leg.side).reps == len(leg.exercise.reps)
    calibrations = [e for e in pipe.outbox if e.kind == "calibration"]
    assert sorted(e.data["side"] for e in calibrations) == ["left", "right"]


def _shin_only(sim, side: str) -> Session:
    info = sim.header.sensor("shin")
    sensors = (SensorInfo(f"{side}_shin", rate_hz=info.rate_hz, config=info.config),)
    header = SessionHeader(side=side, exercise=sim.header.exercise, sensors=sensors)
    return Session(
        header, {f"{side}_shin": sim.samples["shin"]}, {}, (), ReadReport(file_size=0, records=0)
    )


@pytest.mark.parametrize("side", ["left", "right"])
def test_shin_only_prone_follows_the_true_angle(side):
    """SIMULATED: prone, the shin alone gives the hip's rotation within 1.5° RMSE of truth, with
    the same reps as both sensors."""
    sim = simulate(SimConfig(side=side, content="reps", duration_s=75.0, seed=5))
    result = analyze_session(_shin_only(sim, side))
    assert result.calibration.summary()["method"] == "shin only"
    assert set(result.orientations) == {f"{side}_shin"} and result.grid.thigh is None
    ok = np.isfinite(result.hip_rotation_deg)
    err = result.hip_rotation_deg[ok] - sim.truth.hip_rotation_at(result.grid.t[ok])
    assert np.sqrt(np.mean(err**2)) < 1.5
    true_reps = sim.truth.events["reps"]
    assert len(result.exercise.reps) == len(true_reps)
    for rep, want in zip(result.exercise.reps, true_reps, strict=True):
        assert abs(rep.peak_deg - want["peak_deg"]) <= 1.5


def test_shin_only_outside_prone_is_refused_with_a_reason():
    sensors = (SensorInfo("shin", rate_hz=100.0),)
    header = SessionHeader(side="left", exercise="seated", sensors=sensors)
    with pytest.raises(LayoutError, match="holds only prone"):
        SessionPipeline(header)


def test_a_silent_sensor_of_one_leg_does_not_hold_up_the_other_leg():
    """Live: the right shin goes silent for 25 s (out of range); the left leg's reps are still
    counted as they happen, and the right leg's gap is its own."""
    session, sims = _both(content="reps")
    shin = session.samples["right_shin"]
    cut = (shin.t > 30.0) & (shin.t < 55.0)
    gone = dataclasses.replace(
        shin, t=shin.t[~cut], acc=shin.acc[~cut], gyr=shin.gyr[~cut],
        mag=None if shin.mag is None else shin.mag[~cut],
    )  # fmt: skip
    session = dataclasses.replace(session, samples={**session.samples, "right_shin": gone})
    pipe = SessionPipeline(session.header)
    late = []
    for item in session_inputs(session, as_arrived=True):
        pipe.feed(item)
        now = input_time(item)
        for e in pipe.advance():
            if e.kind == "rep_counted" and e.side == "left":
                late.append(now - e.t)
    pipe.finish()
    left_truth = [r for r in sims["left"].truth.events["reps"] if 30.0 < r["end_s"] < 55.0]
    assert left_truth and len(late) == len(sims["left"].truth.events["reps"])
    assert max(late) < 2.0  # not held until the right shin came back
    right = pipe.legs[1]
    assert right.state.reps < len(sims["right"].truth.events["reps"])  # it lost some


def _simulated(**kw) -> tuple[Session, object]:
    sim = simulate(SimConfig(**{"content": "reps", "duration_s": 80.0, "seed": 3, **kw}))
    return Session(
        sim.header, sim.samples, {}, tuple(sim.events), ReadReport(file_size=0, records=0)
    ), sim


@pytest.mark.parametrize(("layout", "asym"), [("both-legs", -6.0), ("both-shins", 4.0)])
def test_both_legs_moving_together_give_their_asymmetry(layout, asym):
    """SIMULATED: both legs swing together, the right hip ``asym`` degrees further (negative:
    stiffer) in every rep: per-leg reps exact, peaks within 1.5°, the in-session asymmetry
    within 1.5° of truth, in the document and its text."""
    from imuhip.sinks.analysis_text import analysis_document, analysis_text

    session, sim = _simulated(layout=layout, asymmetry_deg=asym)
    result = analyze_session(session)
    for leg in result.legs:
        want = sim.truth.leg(leg.side).events["reps"]
        assert len(leg.exercise.reps) == len(want)
        for rep, w in zip(leg.exercise.reps, want, strict=True):
            assert abs(rep.peak_deg - w["peak_deg"]) <= 1.5
    doc = analysis_document(session, result)
    assert doc["side"] == "both" and [leg["side"] for leg in doc["legs"]] == ["left", "right"]
    assert "reps" not in doc and all("calibration" in leg for leg in doc["legs"])
    a = doc["asymmetry"]
    assert len(a["rep_pairs"]) == len(doc["legs"][0]["reps"])
    assert abs(a["mean_range_diff_deg"] - (-asym)) <= 1.5  # left minus right
    text = analysis_text(Path("both.imuhip"), doc)
    assert "== left leg ==" in text and "== right leg ==" in text and "asymmetry" in text


def test_report_and_history_of_both_legs(tmp_path):
    """The report shows each leg and their asymmetry; history lists the session."""
    from imuhip.cli import main
    from imuhip.sim.simulate import write_simulation

    _, sim = _simulated(layout="both-legs", asymmetry_deg=-6.0)
    path = tmp_path / "both.imuhip"
    write_simulation(sim, path)
    out = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Left leg</h2>" in page and "Right leg</h2>" in page
    assert "Left / right asymmetry" in page and "data-k='mean_range_diff_deg'" in page
    assert ">both legs<" in page
    assert main(["history", str(tmp_path), "--no-cache", "--jobs", "1"]) == 0


def test_live_view_shows_both_angles_and_their_difference(tmp_path, capsys):
    """Replay of a both-legs session (the live path): each line shows both legs' angles side
    by side, their difference and each leg's reps."""
    from imuhip.cli import main
    from imuhip.pipeline import LiveState
    from imuhip.sim.simulate import write_simulation
    from imuhip.sinks.live_view import legs_text

    left = LiveState(angle_deg=23.4, reps=3)
    right = LiveState(angle_deg=18.1, reps=2)
    assert legs_text((("left", left), ("right", right))) == (
        "L 23.4° R 18.1° L-R +5.3° | reps L 3 R 2"
    )
    assert "L-R -" in legs_text((("left", LiveState()), ("right", right)))
    _, sim = _simulated(layout="both-legs", asymmetry_deg=-6.0)
    path = tmp_path / "both.imuhip"
    write_simulation(sim, path)
    assert main(["replay", "--speed", "max", "--plain", str(path)]) == 0
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if "L-R" in x]
    assert lines and any("reps L 7 R 7" in x for x in lines)


@pytest.mark.parametrize(
    ("flags", "roles"),
    [
        (["--layout", "both-legs"], ("left_thigh", "left_shin", "right_thigh", "right_shin")),
        (["--pelvis", "--exercise", "seated"], ("thigh", "shin", "pelvis")),
    ],
)
def test_demo_runs_the_layouts_on_virtual_sensors(tmp_path, capsys, flags, roles):
    """The whole live path (virtual WitMotion sensors over bumble, one per role) for both legs
    and for a leg with a pelvis sensor (its step guided); the file analyses per leg, the pelvis
    session relative to the pelvis (SIMULATED)."""
    from imuhip.cli import main
    from imuhip.files.session_file import read_session
    from imuhip.sinks.analysis_text import analysis_document

    path = tmp_path / "demo.imuhip"
    argv = ["demo", *flags, "--content", "reps", "--duration", "70", "--speed", "10"]
    assert main([*argv, "--plain", "-o", str(path)]) == 0
    capsys.readouterr()
    session = read_session(path)
    assert session.header.roles == roles
    doc = analysis_document(session, analyze_session(session))
    legs = doc.get("legs") or [doc]
    assert len(legs) == (2 if "--layout" in flags else 1)
    assert all(leg["reps"] for leg in legs)
    if "--pelvis" in flags:
        assert doc["hip_reference"] == "pelvis sensor"
        assert all("compensation" in r for r in doc["reps"])


def test_exports_of_both_legs_have_a_column_per_leg(tmp_path):
    """export --angles: hip_rotation_left_deg and _right_deg on one time axis, equal to each
    leg's angles; --mot: hip_rotation_l and hip_rotation_r; --sto: every leg's IMU."""
    import csv

    from imuhip.cli import main
    from imuhip.files.session_file import read_session

    rec = Path(__file__).resolve().parents[1] / "recordings" / "prone-both-reps-simulated.imuhip"
    a, mot, sto = tmp_path / "a.csv", tmp_path / "a.mot", tmp_path / "a.sto"
    argv = ["export", str(rec), "--angles", str(a), "--mot", str(mot), "--sto", str(sto)]
    assert main(argv) == 0
    rows = list(csv.DictReader(a.open()))
    assert {"hip_rotation_left_deg", "hip_rotation_right_deg"} <= set(rows[0])
    result = analyze_session(read_session(rec))
    for leg in result.legs:
        got = {round(float(r["time_s"]), 6): r[f"hip_rotation_{leg.side}_deg"] for r in rows}
        ok = np.isfinite(leg.hip_rotation_deg)
        k = int(np.flatnonzero(ok)[len(np.flatnonzero(ok)) // 2])
        want = leg.hip_rotation_deg[k]
        assert float(got[round(float(leg.grid.t[k]), 6)]) == pytest.approx(want, abs=1e-4)
    header = next(ln for ln in mot.read_text().splitlines() if ln.startswith("time"))
    assert header.split("\t") == ["time", "hip_rotation_l", "hip_rotation_r"]
    names = next(ln for ln in sto.read_text().splitlines() if ln.startswith("time")).split("\t")
    assert names == ["time", "femur_l_imu", "tibia_l_imu", "femur_r_imu", "tibia_r_imu"]
