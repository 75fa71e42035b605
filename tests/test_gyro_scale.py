"""Gyro scale calibration from whole turns on a table (SIMULATED turns with known errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imuhip.cli import main
from imuhip.config import ConfigError, load_gyro_scales, save_gyro_scale
from imuhip.files.session_file import read_session, write_session
from imuhip.fusion.gyro_scale import (
    CONFIG_KEY,
    GyroScaleError,
    estimate_gyro_scale,
    find_turns,
    scale_from_config,
)
from imuhip.live.replay import replay
from imuhip.pipeline import SessionPipeline, analyze_session
from imuhip.samples import ImuSamples
from imuhip.session import SensorInfo, SessionHeader, session_inputs
from imuhip.sim.sensor_model import ImuErrorModel, draw_errors
from imuhip.sim.simulate import SimConfig, simulate, write_simulation
from imuhip.sim.table_turns import table_turns

MODEL = ImuErrorModel()


def _turns(seed: int, **kw):
    rng = np.random.default_rng(seed)
    errors = draw_errors(MODEL, rng)
    return errors, table_turns(errors, MODEL, rng, **kw)


@pytest.mark.parametrize("seed", range(6))
def test_scales_recovered_from_two_turns_per_face(seed):
    errors, s = _turns(seed)  # put back within 1° (1 sigma) of where each turn began
    cal = estimate_gyro_scale(s.t, s.gyr)
    assert len(cal.turns) == 3 and all(t.turns == 2 for t in cal.turns)
    assert cal.axes_turned.all() and not cal.warnings()
    np.testing.assert_allclose(cal.scale, errors.gyro_scale, atol=0.004)


def test_face_changes_are_not_turns():
    _, s = _turns(1, turns=1)
    turns = find_turns(s.t, s.gyr)
    # three faces, one whole turn each; the two 90° lifts onto the next face are left out
    assert [t.turns for t in turns] == [1, 1, 1]
    axes = np.abs(np.array([t.axis for t in turns]))
    np.testing.assert_array_equal(axes.argmax(axis=1), [0, 1, 2])


def test_an_axis_never_turned_keeps_scale_one_and_says_so():
    errors, s = _turns(2)
    keep = s.t >= s.t[-1] - 10.5  # only the last face (z up): its still, turns and still
    cal = estimate_gyro_scale(s.t[keep] - s.t[keep][0], s.gyr[keep])
    assert cal.axes_turned.tolist() == [False, False, True]
    assert cal.scale[:2].tolist() == [1.0, 1.0]
    assert cal.scale[2] == pytest.approx(errors.gyro_scale[2], abs=0.004)
    assert any("x, y axis" in w for w in cal.warnings())


def test_non_finite_samples_are_left_out_and_counted_or_refused():
    errors, s = _turns(3)
    gyr, t = s.gyr.copy(), s.t.copy()
    rng = np.random.default_rng(0)
    bad = rng.choice(len(t), size=len(t) // 200, replace=False)  # 0.5 %, in turns and at rest
    gyr[bad[::2], 1] = np.nan
    gyr[bad[1::3], 0] = np.inf
    t[bad[2::5]] = np.nan
    cal = estimate_gyro_scale(t, gyr)
    n_bad = len(set(bad[::2]) | set(bad[1::3]) | set(bad[2::5]))
    assert cal.left_out == n_bad > 0 and len(cal.turns) == 3
    assert any(f"{n_bad} samples with a non-finite" in w for w in cal.warnings())
    np.testing.assert_allclose(cal.scale, errors.gyro_scale, atol=0.004)
    gyr[: len(t) // 50] = np.nan  # 2 %: refused
    with pytest.raises(GyroScaleError, match="non-finite time or gyro value"):
        estimate_gyro_scale(t, gyr)


def test_no_turns_is_a_clear_error():
    t = np.arange(1000) / 100.0
    with pytest.raises(GyroScaleError, match="no whole turns"):
        estimate_gyro_scale(t, np.zeros((1000, 3)))


@pytest.mark.parametrize(
    "raw", [[1.0, 1.0], [1.0, "x", 1.0], [1.0, 1.0, 1.3], "1.0", [1.0, float("nan"), 1.0]]
)
def test_malformed_config_entry_is_an_error(raw):
    with pytest.raises(GyroScaleError, match=CONFIG_KEY):
        scale_from_config({CONFIG_KEY: raw})


def test_config_entry_read():
    assert scale_from_config({}) is None
    np.testing.assert_array_equal(
        scale_from_config({CONFIG_KEY: [1.01, 0.99, 1.0]}), [1.01, 0.99, 1]
    )


def test_saved_scales_round_trip_and_damage_is_reported(tmp_path):
    path = tmp_path / "sensor-calibration.json"
    assert load_gyro_scales(path) == {}
    save_gyro_scale("aa:bb", [1.01, 0.99, 1.0], path)
    save_gyro_scale("CC:DD", [1.0, 1.0, 1.02], path)
    save_gyro_scale("AA:BB", [1.002, 0.999, 1.0], path)  # replaced, the other kept
    assert load_gyro_scales(path) == {"AA:BB": [1.002, 0.999, 1.0], "CC:DD": [1.0, 1.0, 1.02]}
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="unreadable"):
        load_gyro_scales(path)
    path.write_text(json.dumps({"sensors": {"AA": {}}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="not a valid"):
        load_gyro_scales(path)
    with pytest.raises(ConfigError, match="no address"):
        save_gyro_scale("", [1.0, 1.0, 1.0], path)


def test_sensor_cal_command_saves_each_sensors_scale(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    truth, samples = {}, {}
    for k, role in enumerate(("thigh", "shin")):
        truth[role], samples[role] = _turns(10 + k)
    header = SessionHeader(
        side="left",
        exercise="sensor-cal",
        sensors=tuple(
            SensorInfo(r, address=f"AA:0{k}", rate_hz=100.0) for k, r in enumerate(samples)
        ),
    )
    path = tmp_path / "turns.imuhip"
    write_session(path, header, samples=samples)
    assert main(["sensor-cal", str(path)]) == 0
    out = capsys.readouterr().out
    assert "thigh (AA:00): 3 turn(s)" in out and "saved to" in out
    saved = load_gyro_scales(tmp_path / "sensor-calibration.json")
    for k, role in enumerate(("thigh", "shin")):
        np.testing.assert_allclose(saved[f"AA:0{k}"], truth[role].gyro_scale, atol=0.004)


def test_sensor_cal_command_without_turns_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    t = np.arange(500) / 100.0
    still = ImuSamples(t, np.tile([0.0, 0.0, 9.81], (500, 1)), np.zeros((500, 3)))
    header = SessionHeader(side="left", exercise="sensor-cal", sensors=(SensorInfo("thigh"),))
    path = tmp_path / "still.imuhip"
    write_session(path, header, samples={"thigh": still})
    assert main(["sensor-cal", str(path), "--no-save"]) == 1
    assert "no whole turns" in capsys.readouterr().out


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    cfg = SimConfig(duration_s=90.0, content="mixed", marks=True, seed=3, table_calibration=True)
    sim = simulate(cfg)
    path = tmp_path_factory.mktemp("tc") / "s.imuhip"
    write_simulation(sim, path)
    return path, read_session(path)


def test_header_scales_are_applied_live_and_batch_alike(calibrated):
    _, session = calibrated
    for info in session.header.sensors:
        assert scale_from_config(info.config) is not None
    batch = analyze_session(session)
    lp = SessionPipeline(session.header)
    replay(session_inputs(session), lp, step_s=0.25)
    lp.finish()
    assert lp.calibration.phase_times == batch.calibration.phase_times
    assert lp.result.reps == batch.exercise.reps and lp.result.holds == batch.exercise.holds
    # the scales are really taken out: without them the same data gives other angles
    bare = analyze_session(
        session.with_header(
            sensors=tuple(SensorInfo(s.role, rate_hz=s.rate_hz) for s in session.header.sensors)
        )
    )
    diff = np.nanmax(np.abs(bare.hip_rotation_deg - batch.hip_rotation_deg))
    assert diff > 0.05


def test_info_shows_the_scales(calibrated, capsys):
    path, _ = calibrated
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "thigh gyro scales (table calibration, taken out): x " in out


def test_record_writes_saved_scales_into_the_header_and_skips_prompts(tmp_path, monkeypatch):
    import imuhip.cli.options as cli_options
    import imuhip.live.commands as commands
    from imuhip.sources.ble.connection import Assignment

    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    save_gyro_scale("AA:BB:CC:DD:EE:01", [1.012, 0.995, 1.003])
    sensors = [
        Assignment("thigh", "aa:bb:cc:dd:ee:01", "witmotion-ble5", 100),
        Assignment("shin", "AA:BB:CC:DD:EE:02", "witmotion-ble5", 100),
    ]
    header = commands.live_header(sensors, "left", "prone")
    assert header.sensors[0].config[CONFIG_KEY] == [1.012, 0.995, 1.003]
    assert CONFIG_KEY not in header.sensors[1].config
    seen = {}
    monkeypatch.setattr(cli_options, "live_sensors", lambda args: (sensors, "left"))
    monkeypatch.setattr(commands, "live_command", lambda *a, **kw: seen.update(kw) or 0)
    assert main(["record", "--exercise", "sensor-cal", "-o", str(tmp_path / "t.imuhip")]) == 0
    assert seen["guidance"] is False
    assert main(["record", "--exercise", "prone", "-o", str(tmp_path / "p.imuhip")]) == 0
    assert seen["guidance"] is True


def test_an_implausible_saved_scale_stops_a_recording_before_it_starts(tmp_path, monkeypatch):
    import imuhip.live.commands as commands
    from imuhip.sources.ble.connection import Assignment

    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    save_gyro_scale("AA:BB:CC:DD:EE:01", [1.5, 1.0, 1.0])  # edited by hand
    sensors = [Assignment("thigh", "AA:BB:CC:DD:EE:01", "witmotion-ble5", 100)]
    with pytest.raises(ConfigError, match=r"sensor-calibration\.json: AA:BB:CC:DD:EE:01"):
        commands.live_header(sensors, "left", "prone")


def test_a_turn_and_a_half_is_not_a_whole_turn():
    # flat on the table and back on the same face, but 540° is no whole number of turns
    rng = np.random.default_rng(20)
    errors = draw_errors(MODEL, rng)
    s = table_turns(errors, MODEL, rng, turns=1, put_back_deg=0.0)
    n = len(s.t)
    t = np.arange(n + 600) / 100.0
    gyr = np.vstack([s.gyr, np.zeros((600, 3))])
    k = np.arange(300)  # then a turn and a half about z (540° in 3 s), then still again
    gyr[n + k, 2] += 2 * np.pi * np.sin(np.pi * k / 300) ** 2
    turns = find_turns(t, gyr)
    assert [tr.turns for tr in turns] == [1, 1, 1]


def test_a_turns_recording_ends_by_naming_the_next_command(tmp_path):
    import io

    from imuhip.live.commands import print_result
    from imuhip.live.runner import RunResult

    header = SessionHeader(
        side="left",
        exercise="sensor-cal",
        sensors=(SensorInfo("thigh", rate_hz=100.0), SensorInfo("shin", rate_hz=100.0)),
    )
    out = io.StringIO()
    print_result(RunResult(SessionPipeline(header), 60.0, {}, 0), tmp_path / "t.imuhip", out)
    text = out.getvalue()
    assert f"next, imuhip sensor-cal {tmp_path / 't.imuhip'}" in text
    assert "not calibrated" not in text


def test_sensor_cal_says_which_sensor_has_no_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    _, turned = _turns(10)
    header = SessionHeader(
        side="left",
        exercise="sensor-cal",
        sensors=(SensorInfo("thigh", address="AA:00"), SensorInfo("shin", address="AA:01")),
    )
    path = tmp_path / "one.imuhip"
    write_session(path, header, samples={"thigh": turned})
    assert main(["sensor-cal", str(path), "--no-save"]) == 0
    out = capsys.readouterr().out
    assert "thigh (AA:00): 3 turn(s)" in out and "shin (AA:01): no data in this session" in out
