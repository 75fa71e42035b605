"""End to end: ``imuhip demo`` on the virtual radio, ``imuhip replay``, the recorder loop with a
vanishing sensor, pairing."""

from __future__ import annotations

import asyncio
import json
import re

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.config import load_pairing
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.live.commands import assignments_for, output_path, pair_command, session_filename
from imuhip.live.runner import RunOptions, run_session
from imuhip.session import SessionHeader, input_time, session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sinks.live_view import PlainView
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import Assignment, ManagerSettings
from imuhip.sources.ble.edge import LinkThread
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion
from tests.ble_testkit import FakeImuEmulation

FAST = ManagerSettings(
    scan_timeout_s=1.0, connect_timeout_s=2.0, op_timeout_s=1.0,
    backoff_initial_s=0.1, backoff_max_s=0.4, stall_timeout_s=1.0, stop_timeout_s=1.0,
)  # fmt: skip
LIVE_RESULT = re.compile(r"live result: reps (\d+)\s+max rotation ([\d.]+|-)")


def _analyze(path, capsys) -> dict:
    assert main(["analyze", "--json", str(path)]) == 0
    return json.loads(capsys.readouterr().out)


def _replay_json(path, capsys, *extra: str) -> dict:
    """``replay --json``: the analysis document alone on standard output."""
    assert main(["replay", "--speed", "max", "--plain", "--json", *extra, str(path)]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """``imuhip demo --speed 10``: virtual WitMotion sensors on bumble, the whole live path."""
    path = tmp_path_factory.mktemp("demo") / "demo.imuhip"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["demo", "--speed", "10", "--plain", "--duration", "60", "-o", str(path),
                     "--exercise", "prone active IR"])  # fmt: skip
    return path, code, out.getvalue()


def test_demo_end_to_end_matches_truth_and_analysis(demo_file, capsys):
    path, code, out = demo_file
    assert code == 0
    assert "calibration 1/4" in out and "calibration 4/4" in out and "calibrated" in out
    # the bumble backend asked for a short interval and got it: no slow-link warning
    assert out.count("interval 7.5 ms") == 2 and "warning:" not in out, out
    m = LIVE_RESULT.search(out)
    assert m, out
    live_reps, live_max = int(m.group(1)), float(m.group(2))
    truth = re.search(r"simulator truth: (\d+) reps", out)
    doc = _analyze(path, capsys)
    # the recorded file analyses to the simulator's truth, and the live screen agrees with it
    assert doc["summary"]["rep_count"] == int(truth.group(1)) == live_reps, out
    assert live_max == pytest.approx(doc["summary"]["max_rotation_deg"], abs=0.5)
    s = read_session(path)
    assert [e.data["phase"] for e in s.events if e.kind == "calibration_phase"] == [
        "still_start", "bends", "rocks", "still_end",
    ]  # fmt: skip
    assert s.header.sensors[0].profile == "witmotion-ble5" and s.report.ok
    # a perfect virtual link loses nothing: the frames the sensors sent at their saved 10 Hz
    # before the rate write took are left out and counted, not reported missing (issue 21)
    assert re.findall(r"missing samples (\d+)", out) == ["0", "0"], out
    assert " drops " not in out, out
    assert doc["sensor_health"] == {r: {"dropped": 0, "lost_samples": 0} for r in ("thigh", "shin")}
    applied = [e for e in s.events if e.kind == "config_applied"]
    assert sorted(e.sensor for e in applied) == ["shin", "thigh"]
    assert all(e.data["confirmed"] and e.data["left_out"] > 0 for e in applied)
    # the technique name given is stored as its pose, the technique kept in the header
    assert s.header.exercise == "prone" and s.header.extra["technique"] == "prone-active-ir"


def test_live_lines_and_the_analysis_below_name_the_same_times(demo_file):
    """One time base: the live event lines, the recording's length in the summary, and the
    analysis printed right below them (issue 18: "hold started at 28.9 s" over "hold
    35.85-64.37", "93.1 s" over "98.8 s")."""
    out = demo_file[2]
    live, analysis = out.split("simulator truth:")
    span = re.search(r"wrote .* \(([\d.]+ s of data \([\d.]+-[\d.]+ s\)),", live).group(1)
    header = re.search(r"left leg, prone, [^\n]*", analysis)
    assert f"left leg, prone, {span}" in analysis, (span, header and header.group(0))
    rows = re.findall(r"^\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+$",
                      analysis.split("\nholds")[0], re.M)  # fmt: skip
    counted = [float(t) for t in re.findall(r"rep counted at ([\d.]+) s", live)]
    assert len(counted) == len(rows) >= 2, out
    for t, (_, _, end) in zip(counted, rows, strict=True):
        assert t == pytest.approx(float(end), abs=0.15)  # counted at the rep's end
    # the same words and figures in the live lines and the summary: samples found missing
    # and notifications the decoder rejected, never summed into one "drops" figure
    for role in ("thigh", "shin"):
        missing, rejected = re.search(
            rf"{role} .*, missing samples (\d+), rejected notifications (\d+)", live
        ).groups()
        last = re.findall(rf"\| {role} streaming 1\d\d Hz([^|]*)", live)[-1]
        assert last.strip() == " ".join(
            f"{w} {n}" for w, n in (("missing", missing), ("rejected", rejected)) if n != "0"
        )
    assert "drops" not in live and "dropped" not in live
    started = [float(t) for t in re.findall(r"hold started at ([\d.]+) s", live)]
    holds = re.findall(r"^\s+\d+\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+  ",
                       analysis.split("\nholds")[1], re.M)  # fmt: skip
    assert len(started) == len(holds), out
    for t, (start, _) in zip(started, holds, strict=True):
        assert t == pytest.approx(float(start), abs=0.15)


def test_replay_of_demo_file_matches_analyze(demo_file, capsys):
    path = demo_file[0]
    doc = _analyze(path, capsys)
    got = _replay_json(path, capsys)  # timed as live timed it
    assert got["schema"] == doc["schema"] and len(got["reps"]) == len(doc["reps"])
    assert got["summary"]["rep_count"] == doc["summary"]["rep_count"]
    assert got["summary"]["max_rotation_deg"] == pytest.approx(
        doc["summary"]["max_rotation_deg"], abs=0.5
    )
    assert _replay_json(path, capsys, "--aligner", "offline") == doc  # timed as analyze does


def test_replay_max_speed_prints_analyze_figures_exactly(tmp_path, capsys):
    sim = simulate(SimConfig(duration_s=90.0, content="mixed", marks=True, seed=0))
    path = tmp_path / "s.imuhip"
    write_simulation(sim, path)
    doc = _analyze(path, capsys)
    assert _replay_json(path, capsys) == doc
    assert main(["replay", "--speed", "max", "--plain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "calibration 1/4" in out and "rep counted" in out and "hold ended" in out
    assert out.strip().splitlines()[-1].startswith(f"result: reps {doc['summary']['rep_count']}")


def test_replay_of_a_refused_then_repeated_calibration(tmp_path, capsys):
    """The file holds two calibration attempts (the first without knee bends): the replay
    shows the refusal, the protocol's steps again from the first, then the same figures as
    analyze."""
    from imuhip.sim.scripts import ScriptOptions

    cfg = SimConfig(duration_s=100.0, marks=True, seed=4, script=ScriptOptions(failed_attempt=True))
    path = tmp_path / "again.imuhip"
    write_simulation(simulate(cfg), path)
    doc = _analyze(path, capsys)
    assert any("was refused" in w for w in doc["warnings"])
    assert main(["replay", "--speed", "max", "--plain", str(path)]) == 0
    out = capsys.readouterr().out
    steps = re.findall(r"calibration (\d)/4", out)
    assert steps == ["1", "2", "3", "4", "1", "2", "3", "4"]
    assert out.index("calibration failed: no knee bends found") < out.rindex("calibration 1/4")
    assert out.strip().splitlines()[-1].startswith(f"result: reps {doc['summary']['rep_count']}")


def test_replay_is_paced(tmp_path, capsys, monkeypatch):
    sim = simulate(SimConfig(duration_s=40.0, content="rest", seed=3))
    path = tmp_path / "r.imuhip"
    write_simulation(sim, path)
    # a clock that only moves while asleep: the pacing, not this machine's speed, is tested
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    monkeypatch.setattr("time.sleep", sleep)
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    assert main(["replay", "--speed", "10", "--plain", str(path)]) == 0
    items = session_inputs(read_session(path))
    span = input_time(items[-1]) - input_time(items[0])  # the session's length, s
    assert span > 40.0
    assert sum(slept) == pytest.approx(span / 10, abs=0.02)  # paced at 10x
    assert max(slept) <= 0.1 / 10 + 1e-9  # one 0.1 s step at a time


def test_record_loop_with_vanishing_sensor_keeps_the_other_and_marks_the_gap(tmp_path):
    path = tmp_path / "rec.imuhip"
    sensors: dict[str, VirtualSensor] = {}

    def make():
        sensors["thigh"] = VirtualSensor(FakeImuEmulation(), synthetic_motion(0.5, 30, 0))
        sensors["shin"] = VirtualSensor(FakeImuEmulation(), synthetic_motion(0.3, 20, 1))
        return list(sensors.values())

    async def trouble():
        shin = sensors["shin"]
        while shin.stats.samples_sent < 50:
            await asyncio.sleep(0.02)
        await shin.vanish(duration_s=1.5)

    with LinkThread(ble_backend("bumble:virtual")) as link:
        link.power_on(make)
        assignments = [
            Assignment("thigh", sensors["thigh"].address, "test-imu", 100),
            Assignment("shin", sensors["shin"].address, "test-imu", 100),
        ]
        header = SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))
        view = PlainView(every_s=0.5, angles=False)
        with SessionWriter(path, header) as writer:
            task = link.submit(trouble())  # on the link's loop, beside the sensors
            res = run_session(
                assignments, header, view, writer=writer, settings=FAST, link=link,
                options=RunOptions(duration_s=4.0, guidance=False),
            )  # fmt: skip
            task.result(timeout=30)
    s = read_session(path)
    gaps = [e for e in s.events if e.kind != "link_parameters"]  # one of those per connection
    assert [(e.kind, e.sensor) for e in gaps] == [
        ("connection_lost", "shin"),
        ("connection_restored", "shin"),
    ]
    assert sorted(e.sensor for e in s.events if e.kind == "link_parameters") == [
        "shin", "shin", "thigh",
    ]  # fmt: skip
    lost, back = (e.t for e in gaps)
    assert back - lost > 1.0
    t_thigh = s.notifications["thigh"].t
    t_shin = s.notifications["shin"].t
    # the thigh streamed on through the shin's absence; the shin has a gap
    assert np.sum((t_thigh > lost + 0.1) & (t_thigh < back - 0.1)) > 50
    assert not np.any((t_shin > lost + 0.01) & (t_shin < back))
    assert res.status["shin"].losses == 1 and res.status["thigh"].losses == 0
    assert res.notifications_written == len(t_thigh) + len(t_shin)
    assert res.pipeline.state.sensors["thigh"].samples > 200


def test_pair_saves_and_live_uses_the_pairing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    code = pair_command(
        {"thigh": "aa:bb:cc:dd:ee:01", "shin": "AA:BB:CC:DD:EE:02"}, "right", ["witmotion-ble5"],
        spec="bumble:virtual", timeout=0.1,
    )  # fmt: skip
    assert code == 0 and "saved the pairing" in capsys.readouterr().out
    p = load_pairing()
    assert p.side == "right" and p.sensors["thigh"].address == "AA:BB:CC:DD:EE:01"
    a, side = assignments_for(addresses=None, side=None, profiles=None, spec=None)
    assert side == "right" and [x.profile for x in a] == ["witmotion-ble5"] * 2
    with pytest.raises(Exception, match="unknown sensor profile"):
        pair_command({"thigh": "A", "shin": "B"}, "left", ["thigh=nope"], spec=None, timeout=0.1)


def test_session_file_naming(tmp_path):
    from datetime import datetime

    name = session_filename("left", "prone hold", datetime(2025, 3, 1, 9, 5, 7))
    assert name == "2025-03-01_090507_left_prone-hold.imuhip"
    p = output_path(None, str(tmp_path / "sessions"), "left", "prone")
    assert p.parent.is_dir() and p.name.endswith("_left_prone.imuhip")
    assert output_path("x.imuhip", None, "left", "prone").name == "x.imuhip"


def test_scan_on_an_empty_virtual_radio_and_missing_pairing(tmp_path, monkeypatch, capsys):
    assert main(["scan", "--ble", "bumble:virtual", "--timeout", "0.2"]) == 0
    assert "no Bluetooth LE devices found" in capsys.readouterr().out
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "none.json"))
    assert main(["live", "--no-record", "--plain"]) == 2
    assert "run 'imuhip pair' first" in capsys.readouterr().err
    assert main(["record", "--thigh", "A"]) == 2
    assert "--thigh: the left leg has a thigh sensor but no shin sensor" in capsys.readouterr().err


def test_a_live_session_of_both_legs_records_every_sensor_and_analyses_both_legs(tmp_path):
    """Six sensors recorded under their roles; the one session pipeline takes the layout (a
    chain per leg), its state naming every sensor by its session role."""
    from imuhip.live.commands import live_header
    from imuhip.pipeline import SessionPipeline

    roles = ("left_thigh", "left_shin", "right_thigh", "right_shin", "pelvis", "trunk")
    path = tmp_path / "both.imuhip"
    sensors: list[VirtualSensor] = []

    def make():
        sensors.extend(
            VirtualSensor(FakeImuEmulation(), synthetic_motion(0.3 + 0.1 * i, 20, i % 3))
            for i in range(len(roles))
        )
        return sensors

    with LinkThread(ble_backend("bumble:virtual")) as link:
        link.power_on(make)
        assignments = [
            Assignment(r, s.address, "test-imu", 100) for r, s in zip(roles, sensors, strict=True)
        ]
        header = live_header(assignments, "both", "prone")
        pipe = SessionPipeline(header)
        with SessionWriter(path, header) as writer:
            res = run_session(
                assignments, header, PlainView(every_s=0.5, angles=False), writer=writer,
                settings=FAST, link=link, options=RunOptions(duration_s=2.5, guidance=False),
                pipeline=pipe,
            )  # fmt: skip
    assert [leg.leg.side for leg in pipe.legs] == ["left", "right"]
    s = read_session(path)
    assert s.header.side == "both" and s.header.roles == roles
    assert all(len(s.notifications[r].t) > 20 for r in roles)
    assert set(res.status) == set(roles)
    for side in ("left", "right"):
        assert pipe.leg_state(side).sensors[f"{side}_thigh"].samples > 100


def test_pair_both_legs_then_record_all_or_one_leg(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    flags = ["--left-thigh", "A1", "--left-shin", "A2", "--right-thigh", "A3"]
    argv = ["pair", *flags, "--right-shin", "A4", "--trunk", "A5", "--profile", "test-imu"]
    assert main(argv) == 0
    assert "saved the pairing (both legs (thigh + shin) with trunk)" in capsys.readouterr().out
    a, side = assignments_for(addresses=None, side=None, profiles=None, spec=None)
    assert side == "both"
    assert [x.role for x in a] == ["left_thigh", "left_shin", "right_thigh", "right_shin", "trunk"]
    a, side = assignments_for(addresses=None, side="right", profiles=None, spec=None)
    assert side == "right" and [(x.role, x.address) for x in a] == [
        ("thigh", "A3"), ("shin", "A4"), ("trunk", "A5"),
    ]  # fmt: skip
    assert main(["pair", *flags, "--profile", "test-imu"]) == 2  # no right shin
    assert "--right-thigh: the right leg has a thigh sensor but no shin" in capsys.readouterr().err
