"""The asked-for hold windows as prior knowledge: a weak push inside a prompted hold window is
a hold (timed from the signal), outside one it needs the detector's full evidence, and a
prompted hold that was not done is not invented; live and offline agree (SIMULATED)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from imuhip.files.session_file import read_session, write_session
from imuhip.pipeline import analyze_session
from imuhip.session import Event, SensorInfo, SessionHeader
from imuhip.sim.person import ROLES, VirtualPerson

WEAK = 0.24  # a quarter of the simulator's push: 3-5 dB over rest, the detector wants 6
SET = {"exercise": 0, "technique": "prone-active-ir", "side": "left", "kind": "hold", "set": 1,
       "of": 2, "targets": {"hold_s": 12.0}}  # fmt: skip


@functools.cache
def _session(level: float = WEAK, seed: int = 9):
    """A prone session: set 1 asks for a hold and gets a push of ``level`` 2.5 s after its
    cue; set 2 asks and gets nothing; later an unasked push of the same level. Returns the
    person, the set windows (cue, end) and the file without and with the set events."""
    p = VirtualPerson("prone", "left", seed=seed)
    cue1 = p.calibration_end_s + 35.0
    end1 = p.push(cue1 + 2.5, 12.0, level) + 6.0
    cue2 = end1 + 35.0
    unasked = p.push(cue2 + 60.0, 12.0, level)
    sets = ((cue1, end1), (cue2, cue2 + 30.0))
    samples = {r: p.samples(r, unasked + 10.0) for r in ROLES}
    header = SessionHeader(side="left", exercise="prone", time_base="simulated",
                           sensors=tuple(SensorInfo(r, rate_hz=100.0) for r in ROLES))  # fmt: skip
    marks = [Event(t, "phase", None, {"phase": ph}) for ph, t in p.script.phase_starts.items()]
    asked = [Event(t, k, None, SET) for a, z in sets for t, k in ((a, "set_start"), (z, "set_end"))]
    folder = Path(tempfile.mkdtemp())
    files = []
    for name, events in (("plain", marks), ("trained", sorted(marks + asked, key=lambda e: e.t))):
        write_session(folder / f"{name}.imuhip", header, samples=samples, events=events)
        files.append(read_session(folder / f"{name}.imuhip"))
    return p, sets, files[0], files[1]


def test_a_weak_push_in_an_asked_for_window_is_a_hold_timed_from_the_signal():
    person, sets, plain, trained = _session()
    truth = person.script.holds
    assert analyze_session(plain).exercise.holds == ()  # the detector alone misses both
    holds = analyze_session(trained).exercise.holds
    assert len(holds) == 1  # the asked-for one only: not the unasked one, none in set 2
    (h,) = holds
    (cue, end) = sets[0]
    assert abs(h.start_s - truth[0].start_s) < 1.0 and abs(h.end_s - truth[0].end_s) < 1.0
    assert h.start_s - cue > 1.5 and end - h.end_s > 5.0  # the signal's edges, not the prompt's
    assert 1.5 < h.effort_index < 6.0  # under the detector's 6 dB


def test_a_strong_push_is_the_detectors_and_is_not_found_twice():
    _, _, plain, trained = _session(level=1.0, seed=4)
    alone = analyze_session(plain).exercise.holds
    assert len(alone) == 2  # the asked-for and the unasked push, both at full evidence
    assert analyze_session(trained).exercise.holds == alone


def test_live_with_the_cues_arriving_late_gives_the_analysis_holds():
    from imuhip.pipeline.analyze import make_pipeline
    from imuhip.session import input_time, session_inputs

    _, _, _, trained = _session()
    items = session_inputs(trained)
    # live, a set's event is written when the coach's clock reaches it: it reaches the
    # pipeline after the data up to 1.5 s past its time
    late = [it for it in items if isinstance(it, Event) and it.kind.startswith("set_")]
    order = sorted(
        (it for it in items if it not in late), key=input_time
    )  # fmt: skip
    for e in late:
        k = next(i for i, it in enumerate(order) if input_time(it) > e.t + 1.5)
        order.insert(k, e)
    pipe = make_pipeline(trained.header, aligner="causal")
    for a in range(0, len(order), 25):
        pipe.feed_all(order[a : a + 25])
    pipe.finish()
    (leg,) = pipe.legs
    (cue1, end1), (cue2, end2) = _session()[1]
    assert [(w.start_s, w.end_s) for w in leg.prior.windows()] == [
        (pytest.approx(cue1 - 2.0), pytest.approx(end1)),
        (pytest.approx(cue2 - 2.0), pytest.approx(end2)),
    ]  # fmt: skip
    live = pipe.analysis().exercise.holds
    offline = analyze_session(trained).exercise.holds
    assert len(live) == len(offline) == 1
    assert live[0].start_s == pytest.approx(offline[0].start_s, abs=0.02)
    assert live[0].end_s == pytest.approx(offline[0].end_s, abs=0.02)


def test_the_window_starts_as_early_as_the_coach_counts_a_hold():
    from imuhip.analysis.hold_prior import WINDOW_EARLY_S
    from imuhip.training.coach import HOLD_EARLY_S

    assert WINDOW_EARLY_S == HOLD_EARLY_S


def test_damaged_or_unpaired_set_events_ask_for_nothing():
    from imuhip.analysis.hold_prior import HoldPrior, HoldWindow

    prior = HoldPrior(100.0)
    prior.close(10.0)  # an end without its start
    prior.open(float("nan"))
    prior.open(20.0)
    prior.close(float("inf"))
    assert prior.windows() == [HoldWindow(18.0, None)]
    prior.close(35.0)
    assert prior.windows() == [HoldWindow(18.0, 35.0)]
