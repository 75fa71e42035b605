"""The analysis document's ``sets``: set windows from the events, reps and holds inside."""

from __future__ import annotations

from imuhip.analysis.events import Hold, Rep
from imuhip.analysis.exercise import ExerciseResult
from imuhip.session import Event
from imuhip.sinks.training_sets import sets_text, training_sets


def set_event(kind, t, n, set_kind="hold", targets=None, side="left"):
    targets = targets if targets is not None else {"hold_s": 20.0}
    data = {"exercise": 0, "technique": "prone-active-ir", "side": side, "kind": set_kind,
            "set": n, "of": 2, "targets": targets}  # fmt: skip
    return Event(t, kind, None, data)


def result(reps=(), holds=()):
    return ExerciseResult(tuple(reps), (), tuple(holds), ())


def test_holds_and_reps_are_assigned_to_their_set_windows():
    holds = [Hold(11.0, 32.0, 12.0, 0.3, 30.0), Hold(41.0, 50.0, 9.0, 0.3, 30.0),
             Hold(100.0, 130.0, 9.0, 0.3, 30.0)]  # fmt: skip
    reps = [Rep(60.0, 61.0, 62.0, 33.0, 33.0), Rep(63.0, 64.0, 65.5, 22.0, 22.0)]
    events = [
        set_event("set_start", 12.0, 1), Event(13.0, "prompt", None, {"text": "push"}),
        set_event("set_end", 35.0, 1),
        set_event("set_start", 40.0, 2), set_event("set_end", 55.0, 2),
        set_event("set_start", 58.0, 1, "reps", {"reps": 3.0, "range_deg": 30.0}),
        set_event("set_end", 65.2, 1, "reps", {"reps": 3.0, "range_deg": 30.0}),
    ]  # fmt: skip
    sets, warnings = training_sets(events, result(reps, holds), 140.0)
    assert warnings == []
    assert [(s["start_s"], s["end_s"], s["complete"]) for s in sets] == [
        (12.0, 35.0, True), (40.0, 55.0, True), (58.0, 65.2, True),
    ]  # fmt: skip
    # a hold starting just before the cue counts for the set (HOLD_EARLY_S); the hold long
    # after every set belongs to none
    assert [len(s["result"]["holds"]) for s in sets] == [1, 1, 0]
    assert sets[0]["result"]["longest_hold_s"] == 21.0 and sets[0]["result"]["met"]
    assert sets[1]["result"]["longest_hold_s"] == 9.0 and not sets[1]["result"]["met"]
    # the second rep ended 0.3 s after the set's end: counted with it (the live coach ended
    # the set the step after); 2 of 3 reps: not met
    r = sets[2]["result"]
    assert r["reps"] == 2 and r["rep_peaks_deg"] == [33.0, 22.0] and r["best_deg"] == 33.0
    assert not r["met"] and sets[2]["targets"] == {"reps": 3.0, "range_deg": 30.0}
    text = "\n".join(sets_text(sets))
    assert "✓ prone-active-ir left hold set 1/2" in text and "hold 9.0 s / 20 s" in text
    assert "2 reps / 3, best 33.0° / 30°" in text


def test_cut_off_file_leaves_the_last_set_open_until_the_end():
    events = [set_event("set_start", 12.0, 1), set_event("set_start", 50.0, 2)]
    sets, _ = training_sets(events, result(), 70.0)
    assert [(s["start_s"], s["end_s"], s["complete"]) for s in sets] == [
        (12.0, 50.0, False), (50.0, 70.0, False),
    ]  # fmt: skip
    assert "(not finished)" in sets_text(sets)[-1]


def test_malformed_set_events_are_skipped_and_counted():
    bad = [
        Event(5.0, "set_start", None, {"exercise": "x"}),
        set_event("set_start", 6.0, 1, targets={"hold_s": "long"}),
        set_event("set_start", 7.0, 1, set_kind="dance"),
        Event(8.0, "set_end", None, []),  # type: ignore[arg-type]
        set_event("set_end", 9.0, 1),  # an end without its start
    ]
    sets, warnings = training_sets(bad, result(), 20.0)
    assert sets == []
    assert warnings == ["5 training set event(s) with unexpected data were ignored"]


def test_no_training_events_no_sets():
    sets, warnings = training_sets([Event(1.0, "mark", None, {"label": "m"})], result(), 9.0)
    assert sets == [] and warnings == [] and sets_text(sets) == []


def test_a_timed_set_counts_the_stretches_in_its_window():
    """The detector reports a passive end-range hold as a stretch: a stretch set gets it."""
    from imuhip.analysis.events import Stretch

    x = Stretch(11.0, 42.0, 38.0, 44.0, 12.0, 30.0, 3.0)
    res = ExerciseResult((), (), (), (), stretches=(x, Stretch(90.0, 99.0, 5.0, 6.0, 1.0)))
    events = [set_event("set_start", 12.0, 1, "stretch", {"hold_s": 30.0}),
              set_event("set_end", 43.0, 1, "stretch", {"hold_s": 30.0})]  # fmt: skip
    (s,), warnings = training_sets(events, res, 140.0)
    assert warnings == [] and s["result"]["holds"] == []
    assert s["result"]["stretches"] == [
        {"start_s": 11.0, "duration_s": 31.0, "mean_deg": 38.0, "max_deg": 44.0}
    ]
    assert s["result"]["longest_hold_s"] == 31.0 and s["result"]["best_deg"] == 38.0
    assert s["result"]["met"]


def test_a_together_set_of_both_legs_lists_each_legs_result_and_their_asymmetry():
    from imuhip.sinks.legs_document import together_sets_text
    from imuhip.sinks.training_sets import both_legs_sets

    targets = {"reps": 2.0, "range_deg": 30.0}
    events = [
        set_event("set_start", 10.0, 1, "reps", targets, side="both"),
        set_event("set_end", 20.0, 1, "reps", targets, side="both"),
        set_event("set_start", 30.0, 2, "hold", side="both"),
        set_event("set_end", 55.0, 2, "hold", side="both"),
    ]
    left = result(
        [Rep(11.0, 12.0, 13.0, 36.0, 36.0), Rep(14.0, 15.0, 16.0, 34.0, 34.0)],
        [Hold(31.0, 52.0, 3.0, 0.3, 30.0)],
    )
    right = result(
        [Rep(11.2, 12.2, 13.2, 29.0, 29.0), Rep(14.2, 15.2, 16.2, 28.0, 28.0)],
        [Hold(31.5, 50.0, 3.0, 0.3, 24.0)],
    )
    sets, warnings = both_legs_sets(events, {"left": left, "right": right}, 60.0)
    assert warnings == [] and [s["side"] for s in sets] == ["both", "both"]
    reps, hold = sets
    assert reps["per_leg"]["left"]["met"] and not reps["per_leg"]["right"]["met"]  # 29° < 30°
    assert reps["result"] == {"reps": 2, "longest_hold_s": None, "best_deg": 29.0, "met": False}
    assert reps["asymmetry"]["mean_range_diff_deg"] == 6.5
    assert hold["result"]["longest_hold_s"] == 18.5 and not hold["result"]["met"]
    assert hold["asymmetry"]["mean_effort_diff_db"] == 6.0
    # each leg's own list has its part of the together set
    one, _ = training_sets(events, right, 60.0)
    assert one[0]["side"] == "both" and one[0]["result"]["rep_peaks_deg"] == [29.0, 28.0]
    text = "\n".join(together_sets_text({"sets": sets}))
    assert "✗ prone-active-ir both legs reps set 1/2  left 2 reps best 36.0°" in text
    assert "range L-R +6.5°" in text and "effort L-R +6.0 dB" in text
