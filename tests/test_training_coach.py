"""The coach's prompts and events under a fake clock, driven by synthetic pipeline state."""

from __future__ import annotations

from itertools import pairwise

from imuhip.analysis.events import AnalysisEvent, Hold, PartialRep, Rep
from imuhip.pipeline import LiveState, Status
from imuhip.training.coach import Coach, Priority, PromptKind
from imuhip.training.program import LastTime, parse_program, plan

HOLDS = """
name = "holds"
[[exercise]]
technique = "prone-active-ir"
side = "both"
[exercise.sets]
kind = "hold"
count = 3
hold_s = 20
rest_s = 60
"""

REPS = """
[[exercise]]
technique = "prone-active-ir"
side = "left"
[exercise.sets]
kind = "reps"
count = 1
reps = 3
range_deg = 30
"""

STEP_S = 0.5  # the fake clock's tick (exact in binary: times compare exactly)


def drive(coach, person, *, ready_at=10.0, until=400.0, step_s=STEP_S):
    """Step the coach every STEP_S; ``person(prompt)`` returns (delivery time, event) pairs
    the detector would report in answer to a prompt. Returns all prompts and events."""
    prompts, events, pending = [], [], []
    t = 0.0
    while t <= until:
        state = LiveState(t=t, status=Status.READY if t >= ready_at else Status.CALIBRATING)
        due = [e for d, e in pending if d <= t]
        pending = [(d, e) for d, e in pending if d > t]
        step = coach.update(t, state, due)
        for p in step.prompts:
            pending += person(p)
        prompts += step.prompts
        events += step.events
        t += step_s
    return prompts, events


def holder(length_s=21.0, delay_s=2.0, lag_s=1.0):
    """Starts a hold ``delay_s`` after each cue and holds ``length_s``; the detector reports
    the start ``lag_s`` late and the end 0.5 s late."""

    def person(p):
        if p.kind is not PromptKind.SET_START:
            return []
        h = p.t + delay_s
        hold = Hold(h, h + length_s, 12.0, 0.4, 30.0)
        return [(h + lag_s, AnalysisEvent("hold_started", h)),
                (h + length_s + 0.5, AnalysisEvent("hold_ended", h + length_s, hold))]  # fmt: skip

    return person


def expected_side(side):
    """The exact prompts of one side of the 20 s x 3 program with 60 s rests, for a person
    who starts each hold 2 s after the cue and holds 21 s (ends seen at +23.5 s)."""
    first = f"first: prone active ir, {side} leg, set 1 of 3, hold 20 seconds"
    out = [(0.0, "wait", "calibrate first: follow the calibration steps"), (10.0, "next", first)]
    start = 15.0
    for n in (1, 2, 3):
        h = start + 2.0
        out += [(start, "set_start", "push"), (h + 17, "countdown", "3"),
                (h + 18, "countdown", "2"), (h + 19, "countdown", "1"),
                (h + 20, "relax", "relax"),
                (h + 21.5, "result", "held 21 seconds, target reached")]  # fmt: skip
        end = h + 21.5
        if n < 3:
            out += [(end, "rest", "rest 60 seconds"),
                    (end + 50, "next", f"next: prone active ir, {side} leg, set {n + 1} of 3, "
                     "hold 20 seconds")]  # fmt: skip
            start = end + 60
        else:
            out += [(end, "summary", f"prone active ir, {side} leg: 3 sets, 3 on target, "
                     "longest hold 21 seconds"), (end, "done", "done")]  # fmt: skip
    return out


def test_holds_20s_x3_per_side_with_60s_rests_give_exactly_these_prompts():
    prog = parse_program(HOLDS)
    for side in ("left", "right"):
        coach = Coach(prog, plan(prog, side, "prone"))
        prompts, events = drive(coach, holder())
        assert [(p.t, str(p.kind), p.text) for p in prompts] == expected_side(side)
        assert coach.done
        # the structure is recorded: program, 3 set starts/ends, 2 rests, every prompt
        kinds = [e.kind for e in events if e.kind != "prompt"]
        assert kinds == ["program"] + ["set_start", "set_end", "rest_start"] * 2 + [
            "set_start", "set_end",
        ]  # fmt: skip
        assert sum(e.kind == "prompt" for e in events) == len(prompts)
        starts = [e for e in events if e.kind == "set_start"]
        assert [e.t for e in starts] == [15.0, 98.5, 182.0]
        assert starts[0].data["targets"] == {"hold_s": 20.0} and starts[0].data["side"] == side
        ends = [e for e in events if e.kind == "set_end"]
        assert [e.data["hold_s"] for e in ends] == [21.0] * 3 and all(e.data["met"] for e in ends)
        rests = [e for e in events if e.kind == "rest_start"]
        assert [e.data["duration_s"] for e in rests] == [60.0, 60.0]


def test_short_hold_is_reported_against_target_and_last_time():
    prog = parse_program(HOLDS)
    coach = Coach(prog, plan(prog, "left", "prone"), last=LastTime(longest_hold_s=18.0))
    prompts, _ = drive(coach, holder(length_s=14.0), until=40.0)
    texts = [(p.t, p.text) for p in prompts if p.t >= 15.0]
    # hold 17..31: ended before the countdown: no countdown, no relax; the result says so
    assert texts[:3] == [(15.0, "push"), (31.5, "held 14 seconds, 6 short of 20; last time 18"),
                         (31.5, "rest 60 seconds")]  # fmt: skip
    assert not coach.results[0].met


def test_no_hold_gets_a_reminder_and_the_set_times_out():
    prog = parse_program(HOLDS)
    coach = Coach(prog, plan(prog, "left", "prone"))
    prompts, _ = drive(coach, lambda p: [], until=60.0)
    got = [(p.t, str(p.kind), p.text) for p in prompts if p.t >= 15.0][:3]
    assert got == [(15.0, "set_start", "push"), (23.0, "reminder", "push: no hold yet"),
                   (55.0, "result", "no hold found")]  # fmt: skip


def test_reps_are_counted_and_short_of_range_said():
    prog = parse_program(REPS)

    def swinger(p):
        if p.kind is not PromptKind.SET_START:
            return []
        t = p.t
        peaks = [(3.0, 32.0), (6.0, 25.0), (9.0, 35.0)]
        out = [(t + 4.5, AnalysisEvent("partial_rep", t + 4.5,
                                       PartialRep(t + 4, t + 4.2, t + 4.5, 3.0, 3.0,
                                                  "below threshold")))]  # fmt: skip
        for dt, peak in peaks:
            rep = Rep(t + dt - 1.0, t + dt - 0.5, t + dt, peak, peak)
            out.append((t + dt, AnalysisEvent("rep_counted", t + dt, rep)))
        return sorted(out, key=lambda x: x[0])

    coach = Coach(prog, plan(prog, "left", "prone"))
    prompts, events = drive(coach, swinger, until=60.0)
    got = [(p.t, str(p.kind), p.text) for p in prompts if p.t >= 15.0]
    assert got == [
        (15.0, "set_start", "swing"),
        (18.0, "rep", "1"),
        (19.5, "short_of_range", "short of range"),
        (21.0, "short_of_range", "2, short of range"),
        (24.0, "rep", "3"),
        (24.0, "relax", "relax"),
        (24.0, "result", "3 reps of 3, best 35 degrees, range reached"),
        (24.0, "summary", "prone active ir, left leg: 1 set, 1 on target, 3 reps, best 35 degrees"),
        (24.0, "done", "done"),
    ]
    end = next(e for e in events if e.kind == "set_end")
    assert end.data["reps"] == 3 and end.data["short_of_range"] == 2
    assert end.data["best_deg"] == 35.0


def test_reps_set_ends_when_the_leg_stops():
    prog = parse_program(REPS)
    coach = Coach(prog, plan(prog, "left", "prone"))
    prompts, _ = drive(coach, lambda p: [], until=60.0)
    result = next(p for p in prompts if p.kind is PromptKind.RESULT)
    assert (result.t, result.text) == (45.0, "0 reps of 3")  # cue at 15, REP_START_S 30
    assert result.priority is Priority.INFO


def test_session_ending_mid_set_closes_it():
    prog = parse_program(HOLDS)
    coach = Coach(prog, plan(prog, "left", "prone"))
    drive(coach, holder(), until=20.0)
    step = coach.finish(20.5)
    assert [e.kind for e in step.events if e.kind != "prompt"] == ["set_end"]
    assert step.prompts[-1].text == "stopped before the end of the program"
    assert coach.done and len(coach.results) == 1


def test_same_inputs_same_prompts_whatever_the_tick():
    """A finer clock gives the same prompts at the same times (scheduled cues are stamped
    with their due time, not the tick that gave them)."""
    prog = parse_program(HOLDS)
    a, _ = drive(Coach(prog, plan(prog, "left", "prone")), holder())
    b, _ = drive(Coach(prog, plan(prog, "left", "prone")), holder(), step_s=0.125)
    assert [(p.t, p.text) for p in a] == [(p.t, p.text) for p in b]


def test_hold_still_going_after_relax_counts_as_far_as_it_went():
    prog = parse_program(HOLDS)
    coach = Coach(prog, plan(prog, "left", "prone"))

    def keeps_holding(p):  # starts 2 s after the cue and never lets go (no hold_ended)
        if p.kind is not PromptKind.SET_START or p.t > 20:
            return []
        return [(p.t + 3.0, AnalysisEvent("hold_started", p.t + 2.0))]

    prompts, events = drive(coach, keeps_holding, until=50.0)
    # relax at 17 + 20 = 37; the detector has not seen the end 5 s later: the set ends
    result = next(p for p in prompts if p.kind is PromptKind.RESULT)
    assert (result.t, result.text) == (42.0, "held 25 seconds, target reached")
    end = next(e for e in events if e.kind == "set_end")
    assert end.data["hold_s"] == 25.0 and end.data["met"]


def test_hold_begun_just_before_the_cue_counts_for_the_set():
    prog = parse_program(HOLDS)
    coach = Coach(prog, plan(prog, "left", "prone"))

    def eager(p):  # starts 1.5 s before the cue, reported 1 s later (before the cue)
        if p.kind is not PromptKind.NEXT:
            return []
        h = p.t + 5.0 - 1.5  # "first: …" comes LEAD_IN_S (5 s) before the cue
        hold = Hold(h, h + 22.0, 12.0, 0.4, 30.0)
        return [(h + 1.0, AnalysisEvent("hold_started", h)),
                (h + 22.5, AnalysisEvent("hold_ended", h + 22.0, hold))]  # fmt: skip

    prompts, _ = drive(coach, eager, until=60.0)
    got = [(p.t, p.text) for p in prompts if 15.0 <= p.t <= 40.0]
    # hold from 13.5: countdown at 30.5, 31.5, 32.5, relax 33.5, ended (seen) at 36
    result = "held 22 seconds, target reached"
    assert got == [(15.0, "push"), (30.5, "3"), (31.5, "2"), (32.5, "1"), (33.5, "relax"),
                   (36.0, result), (36.0, "rest 60 seconds")]  # fmt: skip


STRETCH = """
[[exercise]]
technique = "knee-to-floor"
side = "left"
[exercise.sets]
kind = "stretch"
count = 1
hold_s = 30
"""


def test_a_stretch_set_is_timed_from_the_detectors_stretch_events():
    """The detector reports a passive end-range hold as a stretch (with overpressure inside
    it), not as a hold: a timed set counts it the same way."""
    from imuhip.analysis.events import EventKind, Stretch

    def stretcher(p):
        if p.kind is not PromptKind.SET_START:
            return []
        s = p.t + 2.0
        x = Stretch(s, s + 31.0, 40.0, 44.0, 12.0, s + 10.0, 3.0)
        return [(s + 1.0, AnalysisEvent(EventKind.STRETCH_STARTED, s)),
                (s + 10.5, AnalysisEvent(EventKind.OVERPRESSURE_STARTED, s + 10.0)),
                (s + 31.5, AnalysisEvent(EventKind.STRETCH_ENDED, s + 31.0, x))]  # fmt: skip

    program = parse_program(STRETCH)
    coach = Coach(program, plan(program, "left", "seated"))
    prompts, _ = drive(coach, stretcher, until=120.0)
    said = [(p.t, str(p.kind), p.text) for p in prompts]
    h = 15.0 + 2.0  # the stretch's start: the set's cue at 15 s, 2 s later
    assert (h + 27, "countdown", "3") in said and (h + 30, "relax", "relax") in said
    assert (h + 31.5, "result", "held 31 seconds, target reached") in said
    assert not any(p.kind is PromptKind.REMINDER for p in prompts)
    (r,) = coach.results
    assert r.met and r.holds == () and len(r.stretches) == 1 and r.best_peak_deg == 40.0


PRONE_SWING = """
[[exercise]]
technique = "prone-active-ir"
side = "left"
[exercise.sets]
kind = "reps"
reps = 5
"""


def _pelvis_session_events(lift_deg):
    """The analysis events of a SIMULATED prone reps session with a pelvis sensor whose hip
    rises ``lift_deg`` at each rep's peak, in the order the pipeline gave them."""
    import tempfile
    from pathlib import Path

    from imuhip.files.session_file import read_session
    from imuhip.pipeline.analyze import make_pipeline, session_inputs
    from imuhip.sim.simulate import SimConfig, simulate, write_simulation

    cfg = SimConfig(duration_s=60.0, seed=5, exercise="prone", side="left", content="reps",
                    pelvis=True, pelvic_lift_deg=lift_deg, marks=True)  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "pelvis.imuhip"
    write_simulation(simulate(cfg), path)
    session = read_session(path)
    pipe = make_pipeline(session.header, None, "offline", saved=True)
    pipe.feed_all(session_inputs(session, as_arrived=False))
    pipe.finish()
    return list(pipe.events)


def test_a_flagged_pelvic_lift_gets_a_rate_limited_cue_shown_and_recorded():
    from imuhip.analysis.events import EventKind
    from imuhip.live.train import Trainer
    from imuhip.sinks.sound import make_sound
    from imuhip.training.coach import COMPENSATION_GAP_S

    events = _pelvis_session_events(8.0)
    flagged = [e.t for e in events if e.kind == EventKind.COMPENSATION]
    assert len(flagged) >= 3  # every rep lifts the hip (SIMULATED)
    prog = parse_program(PRONE_SWING)
    trainer = Trainer(Coach(prog, plan(prog, "left", "prone")), make_sound("none"), lambda _: None)
    shown, t = [], 0.0
    while t <= 120.0:  # the fake clock: the detector's events delivered at their times
        state = LiveState(t=t, status=Status.READY if t >= 30.0 else Status.CALIBRATING)
        due = [e for e in events if t - STEP_S < e.t <= t]
        trainer.step(t, state, due)
        shown.append(trainer.prompt)
        t += STEP_S
    cues = [p for p in trainer.coach.prompts if p.kind is PromptKind.COMPENSATION]
    assert cues and all(p.text == "keep your hip down" for p in cues)
    # rate-limited: not one per rep, never two within the gap, each at a flagged rep
    assert len(cues) < len(flagged)
    assert all(b.t - a.t >= COMPENSATION_GAP_S for a, b in pairwise(cues))
    assert all(any(abs(p.t - f) <= STEP_S for f in flagged) for p in cues)
    assert "keep your hip down" in shown  # on screen
    recorded = [e.data["text"] for e in trainer.events if e.kind == "prompt"]
    assert recorded.count("keep your hip down") == len(cues)


def test_compensation_under_its_thresholds_or_outside_a_set_gets_no_cue():
    from imuhip.analysis.events import Compensation, EventKind

    prog = parse_program(PRONE_SWING)
    coach = Coach(prog, plan(prog, "left", "prone"))
    small = Rep(20.0, 21.0, 22.0, 30.0, 30.0, compensation=Compensation(3.0, 4.0, 2.0))
    lean = Rep(28.0, 29.0, 30.0, 30.0, 30.0, compensation=Compensation(1.0, None, 12.0))
    early = AnalysisEvent(EventKind.COMPENSATION, 2.0, lean)  # before the program starts
    ready = LiveState(t=0.0, status=Status.READY)
    texts = [p.text for p in coach.update(2.0, ready, [early]).prompts]
    for t, item in ((22.0, small), (30.0, lean)):
        texts += [p.text for p in coach.update(t, ready, [
            AnalysisEvent(EventKind.REP_COUNTED, t, item),
            AnalysisEvent(EventKind.COMPENSATION, t, item)]).prompts]  # fmt: skip
    assert texts.count("don't lean") == 1 and "keep your hip down" not in texts


def test_a_hold_reported_only_once_over_still_counts_for_its_set():
    # a weak hold let through by the asked-for window is reported when decided, after it
    # ended: its start and end in one step, before the set's time-out
    from imuhip.analysis.events import EventKind

    coach = Coach(parse_program(HOLDS), plan(parse_program(HOLDS), "left", "prone"))
    ready = LiveState(t=0.0, status=Status.READY)
    coach.update(0.0, ready)
    assert coach.update(5.0, ready).prompts[0].text == "push"  # the first set's cue at 5 s
    hold = Hold(7.0, 28.0, 0.5, 0.1, 3.5)
    late = [
        AnalysisEvent(EventKind.HOLD_STARTED, 7.0),
        AnalysisEvent(EventKind.HOLD_ENDED, 28.0, hold),
    ]
    texts = [p.text for p in coach.update(32.0, ready, late).prompts]
    assert texts[:2] == ["held 21 seconds, target reached", "rest 60 seconds"]
    assert coach.results[0].holds == (hold,) and coach.results[0].met
