"""The coach of a set done by both legs together, under a fake clock: each leg's reps and holds
kept apart, the rep counted when both legs did it, a leg short of range named, the hold's
countdown from when both legs hold, the result per leg with the asymmetry."""

from __future__ import annotations

from imuhip.analysis.events import AnalysisEvent, Hold, Rep
from imuhip.pipeline import LiveState, Status
from imuhip.training.coach import Coach, PromptKind
from imuhip.training.program import parse_program, plan

TOGETHER = """
[[exercise]]
technique = "prone-active-ir"
side = "both"
legs = "together"
[exercise.sets]
kind = "{kind}"
count = 1
{target}
"""

STEP_S = 0.5


def coach_of(kind: str, target: str) -> Coach:
    prog = parse_program(TOGETHER.format(kind=kind, target=target))
    sets = plan(prog, "both", "prone")
    assert [s.legs for s in sets] == [("left", "right")]
    return Coach(prog, sets)


def drive(coach, person, *, ready=(10.0, 12.0), until=120.0):
    """Step the coach every STEP_S with both legs' states (left ready at ``ready[0]``, right
    at ``ready[1]``); ``person(prompt)`` gives (delivery time, event) pairs."""
    prompts, events, pending = [], [], []
    t = 0.0
    while t <= until:
        legs = [LiveState(t=t, status=Status.READY if t >= r else Status.CALIBRATING)
                for r in ready]  # fmt: skip
        due = [e for d, e in pending if d <= t]
        pending = [(d, e) for d, e in pending if d > t]
        step = coach.update(t, legs[0], due, legs=legs)
        for p in step.prompts:
            pending += person(p)
        prompts += step.prompts
        events += step.events
        t += STEP_S
    return prompts, events


def rep(side: str, t: float, peak: float) -> tuple[float, AnalysisEvent]:
    r = Rep(t - 2.0, t - 1.0, t, peak, peak)
    return t, AnalysisEvent("rep_counted", t, r, side=side)


def test_together_reps_count_when_both_legs_did_them_and_name_the_leg_short_of_range():
    coach = coach_of("reps", "reps = 3\nrange_deg = 30")

    def swing(p):
        if p.kind is not PromptKind.SET_START:
            return []
        t = p.t
        left = [rep("left", t + dt, 35.0) for dt in (3.0, 6.0, 9.0)]
        # the right leg lags half a second and misses the range on its 2nd and 3rd rep
        right = [rep("right", t + dt, pk) for dt, pk in ((3.5, 33.0), (6.5, 26.0), (9.5, 27.0))]
        return sorted(left + right, key=lambda x: x[0])

    prompts, events = drive(coach, swing)
    got = [(p.t, str(p.kind), p.text) for p in prompts if p.t >= 17.0]
    assert got[0] == (17.0, "set_start", "swing")  # both ready at 12, lead-in 5 s
    assert got[1:7] == [
        (20.5, "rep", "1"),  # counted when the right leg's first rep came
        (23.5, "short_of_range", "2, right short of range"),
        (26.0, "reminder", "right leg, 1 more"),  # the left leg has done its 3
        (26.5, "short_of_range", "3, right short of range"),
        (26.5, "relax", "relax"),
        (
            26.5,
            "result",
            "left: 3 reps of 3, best 35 degrees, range reached; right: 3 reps of 3, best 33 "
            "degrees, range reached; right 6 degrees less range",
        ),
    ]
    end = next(e for e in events if e.kind == "set_end")
    assert end.data["side"] == "both" and end.data["legs"] == ["left", "right"]
    assert end.data["reps"] == 3 and end.data["short_of_range"] == 2
    assert end.data["per_leg"]["left"]["short_of_range"] == 0
    assert end.data["per_leg"]["right"]["short_of_range"] == 2
    assert end.data["per_leg"]["right"]["best_deg"] == 33.0
    assert end.data["asymmetry"]["mean_range_diff_deg"] == 6.33
    result = coach.results[0]
    assert result.met and [r.set.side for r in result.legs] == ["left", "right"]


def test_together_reps_set_with_a_leg_that_stops_says_how_far_each_got():
    coach = coach_of("reps", "reps = 3")

    def swing(p):
        if p.kind is not PromptKind.SET_START:
            return []
        left = [rep("left", p.t + dt, 30.0) for dt in (3.0, 6.0, 9.0)]
        return [*left, rep("right", p.t + 3.2, 28.0)]  # the right leg stops after one

    prompts, events = drive(coach, swing)
    texts = [p.text for p in prompts]
    assert "right leg, 2 more" in texts and "2" not in texts
    end = next(e for e in events if e.kind == "set_end")
    assert end.t == 17.0 + 9.0 + 15.0  # REP_IDLE_S after the last rep
    assert end.data["reps"] == 1 and not end.data["met"]
    assert end.data["per_leg"]["left"]["met"] and not end.data["per_leg"]["right"]["met"]


def test_together_hold_counts_down_from_when_both_legs_hold_and_ends_when_both_let_go():
    coach = coach_of("hold", "hold_s = 10")

    def push(p):
        if p.kind is not PromptKind.SET_START:
            return []
        t = p.t
        left = Hold(t + 1.0, t + 12.5, 3.0, 0.3, 30.0)
        right = Hold(t + 2.0, t + 13.5, 2.5, 0.3, 20.0)  # later, and 10 dB less effort
        return [
            (t + 1.5, AnalysisEvent("hold_started", t + 1.0, side="left")),
            (t + 2.5, AnalysisEvent("hold_started", t + 2.0, side="right")),
            (t + 13.0, AnalysisEvent("hold_ended", t + 12.5, left, side="left")),
            (t + 14.0, AnalysisEvent("hold_ended", t + 13.5, right, side="right")),
        ]

    prompts, events = drive(coach, push)
    got = [(p.t, str(p.kind), p.text) for p in prompts if p.t >= 17.0]
    # both hold from 19.0 (the right leg's start): 3, 2, 1 at 26, 27, 28; relax at 29
    assert got[:6] == [
        (17.0, "set_start", "push"),
        (26.0, "countdown", "3"),
        (27.0, "countdown", "2"),
        (28.0, "countdown", "1"),
        (29.0, "relax", "relax"),
        (
            31.0,
            "result",
            "left: held 12 seconds, target reached; right: held 12 seconds, target reached; "
            "right pushed less hard",
        ),
    ]  # the set ended when the right leg let go (seen at 31.0), not at the left's end
    end = next(e for e in events if e.kind == "set_end")
    assert end.data["hold_s"] == 11.5 and end.data["met"]
    assert end.data["asymmetry"]["mean_effort_diff_db"] == 10.0


def test_together_hold_reminder_names_the_leg_that_has_not_started():
    coach = coach_of("hold", "hold_s = 10")

    def push(p):
        if p.kind is not PromptKind.SET_START:
            return []
        return [(p.t + 1.5, AnalysisEvent("hold_started", p.t + 1.0, side="left"))]

    prompts, _ = drive(coach, push, until=60.0)
    got = [(p.t, p.text) for p in prompts if p.kind is PromptKind.REMINDER]
    assert got == [(25.0, "push: no hold on the right yet")]
    assert not any(p.kind is PromptKind.COUNTDOWN for p in prompts)
    assert not coach.results[0].met


def test_the_program_waits_for_both_legs_calibration():
    coach = coach_of("hold", "hold_s = 10")
    prompts, _ = drive(coach, lambda p: [], ready=(10.0, 30.0), until=31.0)
    first = next(p for p in prompts if p.kind is PromptKind.NEXT)
    assert (first.t, first.text) == (30.0, "first: prone active ir, both legs, set 1 of 1, "
                                     "hold 10 seconds")  # fmt: skip


def test_events_of_a_leg_outside_a_one_leg_set_are_not_counted():
    """A separate exercise in a session of both legs: the left leg's set counts only its
    reps."""
    prog = parse_program(TOGETHER.format(kind="reps", target="reps = 2").replace(
        'legs = "together"\n', ""))  # fmt: skip
    sets = plan(prog, "both", "prone")
    assert [s.side for s in sets] == ["left", "right"]
    coach = Coach(prog, sets)

    def swing(p):
        if p.kind is not PromptKind.SET_START:
            return []
        return [rep("right", p.t + 3.0, 30.0), rep("left", p.t + 4.0, 30.0),
                rep("left", p.t + 7.0, 30.0)]  # fmt: skip

    drive(coach, swing, until=200.0)
    first = coach.results[0]
    assert first.set.side == "left" and len(first.reps) == 2
    assert [r.end_s - first.start_s for r in first.reps] == [4.0, 7.0]  # not the right's 3.0
