"""Guided calibration state machine and the live view's plain rendering."""

from __future__ import annotations

import io

import pytest

from imuhip.analysis.events import AnalysisEvent, Hold, Rep
from imuhip.calibration_protocol import PHASE_EVENT, PHASES, STEPS
from imuhip.live.guidance import Guidance
from imuhip.pipeline import LiveState
from imuhip.sinks.live_view import (
    KeyReader,
    PlainView,
    RichView,
    SensorLine,
    Snapshot,
    big_text,
    summary_line,
)


def _drive(g: Guidance, still, until: float, dt: float = 0.1):
    t = 0.0
    st = g.start(0.0)
    while t < until and not (st.done or st.abandoned):
        t = round(t + dt, 6)
        st = g.update(t, still(t))
    return st, t


def test_guidance_writes_the_four_phase_events_in_order():
    events = []
    g = Guidance(events.append)
    # moving for 2 s, then still: still_start may only end after 3 s of stillness
    st, t_end = _drive(g, lambda t: max(0.0, t - 2.0) if t < 20 else 99.0, 60.0)
    assert st.done and not st.abandoned
    assert [e.kind for e in events] == [PHASE_EVENT] * 4
    assert [e.data["phase"] for e in events] == list(PHASES)
    times = [e.t for e in events]
    assert times == sorted(times) and times[0] == 0.0
    assert times[1] >= 5.0 - 1e-9  # 2 s moving + 3 s still
    assert times[2] - times[1] >= STEPS[1].duration_s - 1e-9
    assert times[3] - times[2] >= STEPS[2].duration_s - 1e-9
    assert t_end - times[3] >= STEPS[3].duration_s - 1e-9


def test_guidance_refuses_to_advance_without_stillness_then_gives_up():
    events = []
    g = Guidance(events.append, still_timeout_s=8.0)
    st = g.start(0.0)
    assert st.phase == "still_start" and "still" in st.prompt.lower()
    st = g.update(5.0, 0.0)
    assert st.phase == "still_start" and st.detail == "waiting for the leg to be still"
    st = g.update(6.0, 1.5)
    assert st.phase == "still_start" and st.detail.startswith("still 1.5 / 3")
    st = g.update(8.5, 0.0)
    assert st.abandoned and "never still" in st.detail
    assert [e.data["phase"] for e in events] == ["still_start"]


def test_guidance_starts_over_after_a_refusal_up_to_max_attempts():
    events = []
    g = Guidance(events.append, max_attempts=2)
    st, t = _drive(g, lambda t: 99.0, 60.0)
    assert st.done
    assert g.retry(t, "too early")  # done: starting over is allowed now
    assert g.attempts == 2
    assert [e.data["phase"] for e in events] == [*PHASES, "still_start"]
    assert events[-1].t == t
    st = g.update(t + 0.1, 0.0)
    assert st.phase == "still_start" and "attempt 2 of 2" in st.prompt
    assert "too early" in st.detail
    while not st.done:
        t = round(t + 0.1, 6)
        st = g.update(t, 99.0)
    assert [e.data["phase"] for e in events] == [*PHASES, *PHASES]
    # the last attempt refused too: the guidance stops and says why
    assert not g.retry(t, "no knee bends found")
    st = g.update(t + 0.1, 99.0)
    assert st.abandoned and "refused 2 times" in st.detail and "no knee bends" in st.detail
    assert len(events) == 8


def test_guidance_retry_only_after_the_protocol_is_done():
    events = []
    g = Guidance(events.append)
    g.start(0.0)
    assert not g.retry(1.0, "refused")
    assert [e.data["phase"] for e in events] == ["still_start"]


def test_guidance_without_data_advances_on_time_and_follows_a_schedule():
    events = []
    g = Guidance(events.append)
    st, _ = _drive(g, lambda t: None, 60.0)
    assert st.done and len(events) == 4
    sched = {"still_start": 0.0, "bends": 4.2, "rocks": 13.7, "still_end": 21.9}
    events2 = []
    g2 = Guidance(events2.append, schedule=sched)
    g2.start(100.0)
    g2.update(130.0, None)
    assert [(e.data["phase"], e.t) for e in events2] == [(p, 100.0 + v) for p, v in sched.items()]
    assert g2.done


def _snap(**kw):
    live = LiveState(
        t=10.0, status="ready", angle_deg=21.43, best_rep_deg=30.0, reps=2,
        last_rep_peak_deg=28.0, hold_start_s=5.0, hold_s=5.0,
    )  # fmt: skip
    base = dict(
        title="t", elapsed_s=10.0, live=live,
        sensors=(SensorLine("thigh", "streaming", 100.0), SensorLine("shin", "lost", None, 2, 3)),
        hold_target_s=5.0,
    )  # fmt: skip
    base.update(kw)
    return Snapshot(**base)


def test_plain_view_prints_status_events_and_hold_target_once():
    out = io.StringIO()
    v = PlainView(out, every_s=1.0)
    v.origin = 100.0
    v.start("title")
    v.update(_snap())
    v.update(_snap(elapsed_s=10.2))
    rep = Rep(101.0, 102.0, 103.0, 28.0, 27.0)
    hold = Hold(104.0, 109.0, 12.0, 0.3, None)
    v.analysis([AnalysisEvent("rep_counted", 103.0, rep), AnalysisEvent("hold_ended", 109, hold)])
    text = out.getvalue()
    assert text.count("hold target 5 s reached") == 1
    assert "angle 21.4° max 30.0° reps 2" in text and "shin lost missing 3 rejected 2" in text
    assert "rep counted at 3.0 s: peak 28.0°" in text and "hold ended: 5.0 s at 12.0°" in text


def test_rich_view_renders_and_keys_are_inert_without_tty():
    from rich.console import Console

    buf = io.StringIO()
    v = RichView(Console(file=buf, width=100, force_terminal=False))
    v.console.print(v.render(_snap()))
    text = buf.getvalue()
    assert "TARGET" in text and "reps 2" in text and "streaming" in text
    assert big_text("21.4°").count("\n") == 4
    with KeyReader(io.StringIO()) as keys:
        assert not keys.enabled and keys.read() == ""


def test_summary_line_uses_analyze_figures():
    s = {"rep_count": 3, "max_rotation_deg": 31.29, "hold_count": 1, "total_hold_s": 5.06,
         "longest_hold_s": 5.06, "mean_peak_deg": 30.0}  # fmt: skip
    assert summary_line(s) == (
        "reps 3   max rotation 31.29°   holds 1   total hold 5.06 s   longest hold 5.06 s"
    )


def test_views_ask_for_a_rest_once_after_a_minute_without_one():
    from dataclasses import replace

    out = io.StringIO()
    v = PlainView(out, every_s=100.0)
    v.start("title")
    rested = _snap()
    unrested = _snap(live=replace(rested.live, unrested_s=75.0))
    for snap in (rested, unrested, unrested, rested, unrested):
        v.update(snap)
    assert out.getvalue().count("rest a moment between movements: no rest for 75 s") == 2

    from rich.console import Console

    buf = io.StringIO()
    r = RichView(Console(file=buf, width=120, force_terminal=False))
    r.console.print(r.render(unrested))
    r.console.print(r.render(rested))
    assert buf.getvalue().count("rest a moment") == 1


def test_guidance_waits_for_a_slow_movement_to_finish():
    """A person still rocking when the rocks step's time is up gets the next prompt only once
    the leg is still (or at the latest after 1.6 times the step's time)."""
    from imuhip.live.guidance import MOVEMENT_PATIENCE

    events = []
    g = Guidance(events.append)
    rocks_end = {}

    def still(t):
        starts = {e.data["phase"]: e.t for e in events}
        if "rocks" in starts:  # rocks last 2.5 s longer than the prompt allows
            end = starts["rocks"] + STEPS[2].duration_s + 2.5
            rocks_end["t"] = end
            return max(0.0, t - end)
        if "bends" in starts:
            return 0.0 if t < starts["bends"] + STEPS[1].duration_s else 99.0
        return t

    st, _ = _drive(g, still, 80.0)
    assert st.done
    starts = {e.data["phase"]: e.t for e in events}
    assert starts["still_end"] >= rocks_end["t"] + 0.3 - 1e-9
    # a leg that never stops moving: on at 1.6 times the step's time
    events.clear()
    g = Guidance(events.append)
    st, _ = _drive(g, lambda t: 10.0 if t < 4 else 0.0, 80.0)
    starts = {e.data["phase"]: e.t for e in events}
    gap = starts["rocks"] - starts["bends"]
    assert gap == pytest.approx(MOVEMENT_PATIENCE * STEPS[1].duration_s, abs=0.2)


def _stretch_events():
    from imuhip.analysis.events import Direction, EventKind, Stretch

    stretch = Stretch(20.0, 32.5, 30.0, 34.5, 6.0, 26.0, 4.25)
    ext = Rep(40.0, 41.0, 42.5, -25.0, 25.0, 0.25, Direction.EXTERNAL)
    started = [AnalysisEvent(EventKind.STRETCH_STARTED, 20.0)]
    pressed = [AnalysisEvent(EventKind.OVERPRESSURE_STARTED, 26.0)]
    ended = [AnalysisEvent(EventKind.STRETCH_ENDED, 32.5, stretch),
             AnalysisEvent(EventKind.REP_COUNTED, 42.5, ext)]  # fmt: skip
    return started, pressed, ended


def _ready(t: float, angle: float, reps: int = 0, **kw) -> LiveState:
    return LiveState(t=t, status="ready", angle_deg=angle, reps=reps, **kw)


def _stretching(t: float, angle: float, at_end: float, gain: float | None = None) -> LiveState:
    """A LiveState during a stretch begun at 20 s, as the pipeline keeps it."""
    return _ready(
        t, angle, stretch_start_s=20.0, stretch_s=t - 20.0, stretch_at_end_range_s=at_end,
        stretch_max_deg=angle, overpressure_start_s=None if gain is None else 26.0,
        overpressure_deg=gain,
    )  # fmt: skip


def _after_stretch(t: float) -> LiveState:
    return _ready(
        t, 0.0, reps=1, external_reps=1, stretches=1, last_stretch_s=12.5,
        last_stretch_at_end_range_s=6.0, last_overpressure_deg=4.25,
    )  # fmt: skip


def test_stretch_status_shows_the_time_end_range_and_overpressure_gain():
    from imuhip.sinks.live_view import stretch_status

    assert stretch_status(_ready(19.0, 0.0)) == ""
    assert stretch_status(_stretching(24.0, 30.0, 4.0)) == "stretch 4.0 s, 4.0 s at end range"
    assert (
        stretch_status(_stretching(27.0, 34.0, 1.5, gain=3.96))
        == "stretch 7.0 s, 1.5 s at end range, overpressure +4.0°"
    )


def test_plain_view_prints_stretch_lines_and_external_reps():
    out = io.StringIO()
    v = PlainView(out, every_s=1.0)
    started, pressed, ended = _stretch_events()
    v.update(_snap(elapsed_s=19.0, live=_ready(19.0, 0.0)))
    v.analysis(started)
    v.update(_snap(elapsed_s=21.0, live=_stretching(21.0, 30.0, 1.0)))
    v.update(_snap(elapsed_s=23.0, live=_stretching(23.0, 30.5, 3.0)))
    v.analysis(pressed)
    v.update(_snap(elapsed_s=27.0, live=_stretching(27.0, 34.0, 1.0, gain=3.5)))
    v.analysis(ended)
    v.update(_snap(elapsed_s=43.0, live=_after_stretch(43.0)))
    lines = out.getvalue().splitlines()
    assert "stretch started at 20.0 s" in lines and "overpressure at 26.0 s" in lines
    assert "stretch ended: 12.5 s, max 34.5°, 6.0 s at end range, overpressure +4.2°" in lines
    assert "rep counted (external) at 42.5 s: peak -25.0°" in lines
    status = [ln for ln in lines if ln.lstrip().startswith(("21.0 s", "23.0 s", "27.0 s"))]
    assert status[0].endswith("stretch 1.0 s, 1.0 s at end range")
    assert status[1].endswith("stretch 3.0 s, 3.0 s at end range")
    assert status[2].endswith("stretch 7.0 s, 1.0 s at end range, overpressure +3.5°")
    assert lines[-1].endswith("reps 1 (1 external)")  # the stretch is over: no timer


def test_rich_view_shows_the_stretch_timer_and_overpressure():
    from rich.console import Console

    started, pressed, ended = _stretch_events()
    v = RichView(Console(width=80, record=True, force_terminal=False, color_system=None))

    def screen(live: LiveState) -> str:
        snap = _snap(elapsed_s=live.t, live=live)
        v.update(snap)
        v.console.print(v.render(snap))
        return v.console.export_text(clear=True)

    assert "stretch" not in screen(_ready(19.0, 0.0))
    v.analysis(started)
    during = screen(_stretching(24.0, 30.0, 4.0))
    assert "stretch   4.0 s   end range 4.0 s" in during and "OVERPRESSURE" not in during
    v.analysis(pressed)
    assert "OVERPRESSURE +0.4°" in screen(_stretching(27.0, 30.5, 1.0, gain=0.4))
    v.analysis(ended)
    after = screen(_after_stretch(43.0))
    assert "OVERPRESSURE" not in after and "stretch ended" in after
    assert "stretches 1   last 12.5 s, 6.0 s at end range" in after
    assert "last overpressure +4.2°" in after
    assert "reps 1 (1 external)" in after


def test_summary_line_adds_stretches_and_external_reps_when_there_are_any():
    s = {"rep_count": 3, "max_rotation_deg": 31.29, "hold_count": 0, "total_hold_s": 0.0,
         "longest_hold_s": None, "mean_peak_deg": 30.0, "stretch_count": 2,
         "longest_stretch_s": 12.5, "max_stretch_deg": -24.5, "external_rep_count": 1}  # fmt: skip
    assert summary_line(s) == (
        "reps 3 (1 external)   max rotation 31.29°   holds 0   total hold 0.00 s   "
        "longest hold -   stretches 2   longest stretch 12.50 s   farthest -24.50°"
    )
    none = {**s, "stretch_count": 0, "external_rep_count": 0}
    assert "stretch" not in summary_line(none) and "external" not in summary_line(none)
