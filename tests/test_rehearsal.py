"""``--ble virtual``: scan, pair and record without hardware (virtual sensors, simulated leg)."""

from __future__ import annotations

import json

import pytest

from imuhip.cli import main
from imuhip.errors import ImuhipError
from imuhip.files.session_file import read_session
from imuhip.live.rehearsal import Rehearsal, rehearsal_for, session_rig
from imuhip.sinks.analysis_text import data_span_text
from imuhip.sources.ble.connection import Assignment


def test_virtual_spec_options_and_stable_addresses(monkeypatch):
    monkeypatch.delenv("IMUHIP_BLE", raising=False)
    assert rehearsal_for(None) is None and rehearsal_for("bumble:virtual") is None
    assert rehearsal_for("virtual") == Rehearsal(0, 1.0)
    assert rehearsal_for("virtual:seed=3,speed=10") == Rehearsal(3, 10.0)
    monkeypatch.setenv("IMUHIP_BLE", "virtual:seed=3")
    assert rehearsal_for(None) == Rehearsal(3, 1.0)
    with pytest.raises(ImuhipError, match="seed=N and speed=X"):
        rehearsal_for("virtual:speed=0")
    with pytest.raises(ImuhipError, match="seed=N and speed=X"):
        rehearsal_for("virtual:colour=red")
    a = Rehearsal(3).addresses
    assert a == Rehearsal(3, 10.0).addresses  # the seed alone decides them
    assert a != Rehearsal(4).addresses and len(set(a.values())) == 2
    assert all(x.startswith("D4:CA:6E:") and len(x) == 17 for x in a.values())


def test_record_refuses_sensors_that_are_not_the_virtual_ones():
    r = Rehearsal(0)
    real = [Assignment("thigh", "AA:BB:CC:DD:EE:01", "witmotion-ble5", 100),
            Assignment("shin", r.addresses["shin"], "witmotion-ble5", 100)]  # fmt: skip
    with pytest.raises(ImuhipError, match=r"not virtual: thigh AA:BB:CC:DD:EE:01.*imuhip pair"):
        session_rig(r, real, "left", "prone", 60.0)


def test_scan_pair_record_analyze_with_virtual_sensors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMUHIP_CONFIG", str(tmp_path / "pairing.json"))
    monkeypatch.setenv("IMUHIP_BLE", "virtual")  # the environment variable works like --ble
    assert main(["scan", "--timeout", "0.5"]) == 0
    out = capsys.readouterr().out
    addresses = Rehearsal(0).addresses
    for a in addresses.values():
        assert f"{a}      -50  witmotion-ble5   WT901BLE68" in out, out
    assert f"--thigh {addresses['thigh']} --shin {addresses['shin']}" in out
    # pair scans again (another event loop: the sensors are back at the same addresses)
    pair = ["pair", "--ble", "virtual", "--thigh", addresses["thigh"].lower(),
            "--shin", addresses["shin"], "--side", "right", "--timeout", "0.5"]  # fmt: skip
    assert main(pair) == 0
    assert "saved the pairing (right leg)" in capsys.readouterr().out
    path = tmp_path / "r.imuhip"
    rec = ["record", "--ble", "virtual:speed=10", "--duration", "50", "--exercise", "seated",
           "-o", str(path)]  # fmt: skip
    assert main(rec) == 0
    out = capsys.readouterr().out
    assert "calibration 1/4" in out and "calibration 4/4" in out and "live result: reps" in out
    s = read_session(path)
    assert s.header.side == "right" and s.header.exercise == "seated"
    assert s.header.extra["simulated"] is True and s.header.extra["virtual"]["seed"] == 0
    phases = [e.data["phase"] for e in s.events if e.kind == "calibration_phase"]
    assert phases == ["still_start", "bends", "rocks", "still_end"]
    assert main(["analyze", "--json", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["calibration"]["phases"]) == set(phases) and doc["summary"]["rep_count"] >= 1
    # the file's length as the summary said it is the analysis's
    assert f"wrote {path} ({data_span_text(*doc['data_s'])}," in out


def test_no_bluetooth_advice_names_the_virtual_sensors():
    from imuhip.sources.ble.stack import unavailable

    assert "'--ble virtual'" in str(unavailable("no D-Bus")) and "'--ble virtual'" in str(
        unavailable("no dongle", "bumble:usb:0")
    )
