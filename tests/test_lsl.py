"""Lab Streaming Layer output: an inlet in the same process receives the angle stream and the
event markers of a replayed recording, with the documented channels, the analysis's values and
time stamps mapped from the session clock."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from imuhip.analysis.events import AnalysisEvent, Direction, EventKind, Hold, Rep, Stretch
from imuhip.cli import main
from imuhip.files.session_file import read_session
from imuhip.live.replay import replay
from imuhip.pipeline import Status, TrackedAngles, analyze_session, make_pipeline
from imuhip.session import session_inputs
from imuhip.sinks.lsl import (
    ANGLE_CHANNELS,
    ANGLES_STREAM,
    EVENTS_STREAM,
    LslClock,
    LslPublisher,
    LslUnavailableError,
    load_pylsl,
    marker_text,
    source_id,
)

try:
    pylsl = load_pylsl()
except LslUnavailableError as exc:  # skipped only where liblsl truly cannot load; CI has it
    if os.environ.get("IMUHIP_REQUIRE_LSL"):
        raise
    pytest.skip(str(exc), allow_module_level=True)

RECORDINGS = Path(__file__).parent.parent / "recordings"
HOLDS = RECORDINGS / "prone-left-holds-polar-simulated.imuhip"
TIMEOUT_S = 10.0


def _inlet(sid: str):
    found = pylsl.resolve_byprop("source_id", sid, 1, TIMEOUT_S)
    assert found, f"no LSL stream {sid} within {TIMEOUT_S} s"
    # no recovery: a lost outlet fails the pull at once (a recovering inlet can block in it)
    inlet = pylsl.StreamInlet(found[0], max_buflen=3600, recover=False)
    inlet.open_stream(timeout=TIMEOUT_S)
    return inlet


def _pull(inlet, n: int) -> tuple[list, list]:
    """Everything the inlet receives until ``n`` samples came (or the timeout)."""
    data: list = []
    stamps: list = []
    end = time.monotonic() + TIMEOUT_S
    while len(data) < n and time.monotonic() < end:
        d, t = inlet.pull_chunk(timeout=0.0, max_samples=100_000)
        if d:
            data += d
            stamps += t
        else:
            time.sleep(0.01)
    return data, stamps


def _channels(inlet) -> list[dict[str, str]]:
    root = ET.fromstring(inlet.info(timeout=TIMEOUT_S).as_xml())
    return [
        {c.tag: c.text or "" for c in ch} for ch in root.find("desc/channels").iter("channel")
    ], root


def test_marker_text_is_compact_json_of_the_event():
    rep = Rep(1.0, 1.5, 2.25, 30.1234, 28.0, 0.4)
    assert json.loads(marker_text(AnalysisEvent("rep_counted", 2.25, rep))) == {
        "kind": "rep_counted", "t": 2.25, "start_s": 1.0, "peak_s": 1.5, "end_s": 2.25,
        "peak_deg": 30.123, "range_deg": 28.0, "dwell_s": 0.4, "direction": "internal",
        "duration_s": 1.25,
    }  # fmt: skip
    hold = Hold(3.0, 13.5, 20.0, 0.5, None)
    doc = json.loads(marker_text(AnalysisEvent("hold_ended", 13.5, hold)))
    assert doc["kind"] == "hold_ended" and doc["duration_s"] == 10.5 and doc["t"] == 13.5
    assert marker_text(AnalysisEvent("hold_started", 3.0)) == '{"kind":"hold_started","t":3.0}'


def test_clock_maps_session_time_at_the_given_speed():
    c = LslClock(10.0, 1000.0, 4.0)
    np.testing.assert_allclose(c.to_lsl([10.0, 14.0, 6.0]), [1000.0, 1001.0, 999.0])
    live = LslClock.now(time.monotonic)
    # on Linux both are the monotonic clock: the mapping is (near) the identity
    assert abs(live.lsl_s - live.session_s - (pylsl.local_clock() - time.monotonic())) < 0.01


def test_replay_published_to_an_inlet_equals_the_analysis():
    session = read_session(HOLDS)
    pipe = make_pipeline(session.header, aligner="causal", saved=True, angle_feed=True)
    pub = LslPublisher(pipe, "replay")
    angles = _inlet(source_id(session.header, "replay", "angles"))
    events = _inlet(source_id(session.header, "replay", "events"))
    assert pub.wait_for_consumers(TIMEOUT_S)
    items = session_inputs(session)
    t0 = items[0].t
    clock = pub.anchor(lambda: t0)
    chans, root = _channels(angles)
    _, eroot = _channels(events)
    try:
        replay(items, pipe, step_s=0.5, on_step=lambda *_: pub.step())
        pipe.finish()
        pub.step()
        a = pipe.analysis()
        k0 = pipe.calibration_index()
        n = len(a.grid.t) - k0
        data, stamps = _pull(angles, n)
        n_markers = len(pipe.events) + 1  # and "calibrated"
        markers, marker_stamps = _pull(events, n_markers)
    finally:
        pub.close()
    assert pub.samples_sent == n and pub.markers_sent == n_markers + 1  # and session_end
    x = np.asarray(data)
    assert x.shape == (n, 3)
    np.testing.assert_array_equal(x[:, 0], a.hip_rotation_deg[k0:])
    np.testing.assert_array_equal(x[:, 1], a.knee_flexion_deg[k0:])
    np.testing.assert_array_equal(x[:, 2], np.isfinite(a.hip_rotation_deg[k0:]))
    np.testing.assert_allclose(stamps, clock.to_lsl(a.grid.t[k0:]), rtol=0, atol=1e-9)
    # the markers: calibrated first, then every exercise event in order, as compact JSON
    docs = [json.loads(m[0]) for m in markers]
    assert docs[0] == {"kind": "calibrated", "t": round(a.calibration.end_s, 3)}
    assert [d["kind"] for d in docs[1:]] == [e.kind for e in pipe.events]
    ended = [d for d in docs if d["kind"] == "hold_ended"]
    assert [d["duration_s"] for d in ended] == [round(h.duration_s, 3) for h in a.exercise.holds]
    assert len(ended) == 2
    want = clock.to_lsl([a.calibration.end_s, *(e.t for e in pipe.events)])
    np.testing.assert_allclose(marker_stamps, want, rtol=0, atol=1e-9)
    # the metadata
    assert [c["label"] for c in chans] == [c.label for c in ANGLE_CHANNELS]
    assert [c["unit"] for c in chans] == ["degrees", "degrees", "boolean"]
    assert {c["side"] for c in chans} == {"left"}
    assert root.findtext("name") == ANGLES_STREAM
    assert root.findtext("channel_count") == "3"
    assert root.findtext("channel_format") == "double64"
    assert float(root.findtext("nominal_srate")) == pipe.rate
    assert root.findtext("desc/side") == "left"
    assert root.findtext("desc/exercise") == session.header.exercise
    assert root.findtext("desc/imuhip_version")
    assert eroot.findtext("name") == EVENTS_STREAM
    assert eroot.findtext("type") == "Markers"
    assert float(eroot.findtext("nominal_srate")) == 0.0
    assert eroot.findtext("channel_format") == "string"


def test_replay_command_publishes_the_analysis_to_a_recorder(capsys):
    """``imuhip replay --speed max --lsl --lsl-wait S`` of a shipped recording, the recorder
    an inlet in this process: it gets every angle of ``analyze`` (the offline aligner) and
    every event."""
    session = read_session(HOLDS)
    a = analyze_session(session)
    k0 = int(np.flatnonzero(np.isfinite(a.heading_offset_deg))[0])
    n = len(a.grid.t) - k0
    rc: list[int] = []
    args = ["replay", "--speed", "max", "--plain", "--aligner", "offline", "--lsl",
            "--lsl-wait", str(TIMEOUT_S), str(HOLDS)]  # fmt: skip
    th = threading.Thread(target=lambda: rc.append(main(args)), daemon=True)
    th.start()
    try:
        angles = _inlet(source_id(session.header, "replay", "angles"))
        events = _inlet(source_id(session.header, "replay", "events"))
        data, _ = _pull(angles, n)
        markers, _ = _pull(events, 2 + len(a.exercise.events))
        angles.close_stream()  # the recorder stops: the replay ends
        events.close_stream()
    finally:
        th.join(60)
    assert not th.is_alive()
    assert rc == [0]
    x = np.asarray(data)
    assert x.shape == (n, 3)
    np.testing.assert_array_equal(x[:, 0], a.hip_rotation_deg[k0:])
    kinds = [json.loads(m[0])["kind"] for m in markers]
    assert kinds == ["calibrated", *(e.kind for e in a.exercise.events), "session_end"]
    end = json.loads(markers[-1][0])
    assert end == {"kind": "session_end", "t": round(float(a.grid.t[-1]), 3), "samples": n,
                   "markers": len(markers) - 1}  # fmt: skip
    err = capsys.readouterr().err
    assert "publishing LSL streams imuhip-angles and imuhip-events" in err


def test_lsl_without_pylsl_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl raises ImportError
    assert main(["replay", "--speed", "max", "--plain", "--lsl", str(HOLDS)]) == 2
    err = capsys.readouterr().err
    assert "needs pylsl" in err and "pip install 'imuhip[lsl]'" in err


def test_demo_publishes_the_live_angles_and_events(tmp_path, capsys):
    """``imuhip demo --lsl``: the live path (virtual sensors, the session runner) publishes as
    it goes; the stream ends with ``session_end`` counting what was sent, the angles come at
    the grid rate stamped at the demo's speed, and the reps are the live result's."""
    path = tmp_path / "demo.imuhip"
    speed, rate = 10.0, 100.0  # as the demo tests of test_live_commands.py
    args = ["demo", "--speed", str(speed), "--plain", "--duration", "50", "--content", "reps",
            "-o", str(path), "--lsl", "--lsl-wait", str(TIMEOUT_S)]  # fmt: skip
    rc: list[int] = []
    th = threading.Thread(target=lambda: rc.append(main(args)), daemon=True)
    th.start()
    try:
        found = pylsl.resolve_byprop("name", EVENTS_STREAM, 1, TIMEOUT_S)
        assert found
        sid = found[0].source_id()
        assert sid.startswith("imuhip:demo:left:")
        events = _inlet(sid)
        angles = _inlet(sid.removesuffix("events") + "angles")
        markers: list = []
        end = time.monotonic() + 60.0
        while time.monotonic() < end and not (markers and "session_end" in markers[-1][0]):
            markers += _pull(events, 1)[0]
        docs = [json.loads(m[0]) for m in markers]
        assert docs and docs[-1]["kind"] == "session_end", docs
        data, stamps = _pull(angles, docs[-1]["samples"])
        angles.close_stream()
        events.close_stream()
    finally:
        th.join(60)
    assert rc == [0] and not th.is_alive()
    out = capsys.readouterr().out
    reps = int(re.search(r"live result: reps (\d+)", out).group(1))
    assert reps > 0
    assert len(data) == docs[-1]["samples"] > 10 * rate  # from the final still pose to the end
    assert len(docs) - 1 == docs[-1]["markers"]
    assert [d["kind"] for d in docs].count("rep_counted") == reps
    assert docs[0]["kind"] == "calibrated"
    np.testing.assert_allclose(np.diff(stamps), 1 / rate / speed, rtol=1e-6)
    x = np.asarray(data)
    assert np.mean(x[:, 2]) > 0.95 and np.isfinite(x[x[:, 2] == 1, :2]).all()
    assert np.nanmax(x[:, 0]) > 20  # the reps' rotation


class _Pipeline:
    """What the publisher reads of a pipeline, set by hand: a refused then a good calibration."""

    def __init__(self, header) -> None:
        from imuhip.pipeline import LiveState

        self.header, self.rate, self.state, self.events = header, 50.0, LiveState(), []
        self.fresh = TrackedAngles(np.empty(0), np.empty(0), np.empty(0))

    def new_angles(self) -> TrackedAngles:
        out, self.fresh = self.fresh, TrackedAngles(np.empty(0), np.empty(0), np.empty(0))
        return out


def test_calibration_status_markers_and_lost_data_as_invalid():
    header = read_session(HOLDS).header
    pipe = _Pipeline(header)
    pub = LslPublisher(pipe, "test")  # type: ignore[arg-type]
    sid = source_id(header, "test", "events")
    events, angles = _inlet(sid), _inlet(sid.removesuffix("events") + "angles")
    assert pub.wait_for_consumers(TIMEOUT_S)
    clock = pub.anchor(lambda: 0.0)
    assert clock.speed == 1.0
    pipe.state.t, pipe.state.status, pipe.state.message = 20.0, Status.FAILED, "no knee bends"
    pub.step()
    pipe.state.status, pipe.state.calibrated_at_s, pipe.state.t = Status.READY, 45.5, 46.0
    rot = np.array([1.0, np.nan, 3.0])
    pipe.fresh = TrackedAngles(np.array([44.0, 44.02, 44.04]), rot, np.array([90.0, np.nan, 91]))
    pub.step()
    pub.step()  # nothing new: nothing sent
    try:
        markers, stamps = _pull(events, 2)
        data, _ = _pull(angles, 3)
    finally:
        pub.close()
    docs = [json.loads(m[0]) for m in markers]
    assert docs == [
        {"kind": "calibration_refused", "t": 20.0, "message": "no knee bends"},
        {"kind": "calibrated", "t": 45.5},
    ]
    np.testing.assert_allclose(stamps, clock.to_lsl([20.0, 45.5]), rtol=0, atol=1e-9)
    x = np.asarray(data)
    np.testing.assert_array_equal(x[:, 0], rot)
    np.testing.assert_array_equal(x[:, 2], [1.0, 0.0, 1.0])  # lost: NaN and not valid
    assert pub.samples_sent == 3 and pub.markers_sent == 3  # and session_end


def test_stretch_events_are_markers_with_the_stretch_figures():
    """stretch_started and overpressure_started carry their time; stretch_ended the stretch's
    figures as ``imuhip analyze --json`` writes them; an external rep says its direction.
    Published through a real outlet, stamped at their session times."""
    stretch = Stretch(10.0, 22.5, -30.25, -34.5, 6.0, 18.0, 4.25, Direction.EXTERNAL)
    rep = Rep(30.0, 31.0, 32.5, -25.0, 25.0, 0.25, Direction.EXTERNAL)
    sent = [
        AnalysisEvent(EventKind.STRETCH_STARTED, 10.0),
        AnalysisEvent(EventKind.OVERPRESSURE_STARTED, 18.0),
        AnalysisEvent(EventKind.STRETCH_ENDED, 22.5, stretch),
        AnalysisEvent(EventKind.REP_COUNTED, 32.5, rep),
    ]
    header = read_session(HOLDS).header
    pipe = _Pipeline(header)
    pub = LslPublisher(pipe, "test")  # type: ignore[arg-type]
    sid = source_id(header, "test", "events")
    events, _angles = _inlet(sid), _inlet(sid.removesuffix("events") + "angles")
    assert pub.wait_for_consumers(TIMEOUT_S)
    clock = pub.anchor(lambda: 0.0)
    pipe.events.extend(sent)
    pub.step()
    try:
        markers, stamps = _pull(events, 4)
    finally:
        pub.close()
    docs = [json.loads(m[0]) for m in markers]
    assert docs[:2] == [
        {"kind": "stretch_started", "t": 10.0},
        {"kind": "overpressure_started", "t": 18.0},
    ]
    assert docs[2] == {"kind": "stretch_ended", "t": 22.5, **stretch.as_dict()}
    assert docs[2]["overpressure_start_s"] == 18.0 and docs[2]["direction"] == "external"
    assert docs[2]["time_at_end_range_s"] == 6.0 and docs[2]["duration_s"] == 12.5
    assert docs[3]["kind"] == "rep_counted" and docs[3]["direction"] == "external"
    np.testing.assert_allclose(stamps, clock.to_lsl([10.0, 18.0, 22.5, 32.5]), rtol=0, atol=1e-9)
