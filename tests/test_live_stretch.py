"""The live stretch timer: a simulated stretch session replayed through the pipeline and the
live view (SIMULATED data), the timer kept on LiveState from the detector's stretch events."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from imuhip.analysis.events import EventKind, Stretch
from imuhip.files.session_file import read_session
from imuhip.live.commands import replay_command
from imuhip.live.replay import replay
from imuhip.pipeline import make_pipeline
from imuhip.session import session_inputs
from imuhip.sim.simulate import SimConfig, simulate, write_simulation

#: one stretch with overpressure: arrives at 34.6 s, overpressure from 57.3 s, back at 75.8 s
CFG = SimConfig(exercise="prone", content="stretch", duration_s=140.0, seed=1, marks=True)


@pytest.fixture(scope="module")
def stretch_file(tmp_path_factory):
    sim = simulate(CFG)
    path = tmp_path_factory.mktemp("stretch") / "stretch.imuhip"
    write_simulation(sim, path)
    (truth,) = sim.truth.events["stretches"]
    assert truth["overpressure_start_s"] is not None
    return path, truth


def test_live_state_times_the_stretch_from_its_events(stretch_file):
    """Between stretch_started and stretch_ended LiveState carries the running stretch; at the
    end its figures are the detector's finished stretch's."""
    path, truth = stretch_file
    session = read_session(path)
    pipe = make_pipeline(session.header, aligner="causal", saved=True)
    seen: list[tuple] = []  # (t, stretch_s, at end range, overpressure gain) while it runs
    ended: list[tuple[Stretch, tuple]] = []

    def on_step(t, evs, events):
        st = pipe.state
        for e in evs:
            if e.kind == EventKind.STRETCH_ENDED and isinstance(e.item, Stretch):
                ended.append((e.item, seen[-1]))
        if st.stretch_start_s is not None:
            seen.append((t, st.stretch_s, st.stretch_at_end_range_s, st.overpressure_deg))

    replay(session_inputs(session), pipe, on_step=on_step)
    pipe.finish()
    st = pipe.state
    assert len(ended) == 1 and st.stretches == 1 and st.stretch_start_s is None
    stretch, last = ended[0]
    # announced once the leg was still (under 4 deg/s) for stretch_min_s (8 s): its slowing
    # approach is still before it arrives, so the timer from the arrival reads 6-8 s then
    assert 6.0 <= seen[0][1] <= 8.0
    times = [s[1] for s in seen]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert stretch.start_s == pytest.approx(truth["end_range_s"], abs=1.0)
    # the last step before the end: the running figures are the finished stretch's
    assert last[1] == pytest.approx(stretch.duration_s, abs=2.0)
    assert last[2] == pytest.approx(stretch.time_at_end_range_s, abs=1.0)
    assert stretch.overpressure_gain_deg is not None
    assert last[3] == pytest.approx(stretch.overpressure_gain_deg, abs=0.5)
    # no overpressure figure before it started, one after
    op = stretch.overpressure_start_s
    assert op is not None
    assert all(s[3] is None for s in seen if s[0] < op - 0.2)
    assert all(s[3] is not None for s in seen if s[0] > op + 3.0)
    assert st.last_stretch_s == stretch.duration_s
    assert st.last_stretch_at_end_range_s == stretch.time_at_end_range_s
    assert st.last_overpressure_deg == stretch.overpressure_gain_deg


def test_replay_view_shows_a_running_stretch_timer(stretch_file):
    """``imuhip replay --plain``: the status lines show the stretch's time, its time at end
    range and, once it began, the overpressure's gain; the end line the finished figures."""
    path, _ = stretch_file
    out = io.StringIO()
    assert replay_command(str(path), speed="max", plain=True, out=out) == 0
    lines = out.getvalue().splitlines()
    timer = re.compile(
        r"stretch ([\d.]+) s, ([\d.]+) s at end range(?:, overpressure ([+-][\d.]+)°)?$"
    )
    shown = [m.groups() for ln in lines if (m := timer.search(ln))]
    assert len(shown) >= 5  # a status line every 5 s over a 40 s stretch
    elapsed = [float(g[0]) for g in shown]
    assert elapsed == sorted(elapsed) and elapsed[-1] > 30.0
    assert all(float(g[1]) <= float(g[0]) + 1e-9 for g in shown)
    gains = [float(g[2]) for g in shown if g[2] is not None]
    assert gains and gains[-1] > 2.0  # overpressure of 4-8° (SIMULATED)
    assert shown[0][2] is None  # before it
    i_start = next(k for k, ln in enumerate(lines) if ln.startswith("stretch started at"))
    i_over = next(k for k, ln in enumerate(lines) if ln.startswith("overpressure at"))
    i_end = next(k for k, ln in enumerate(lines) if ln.startswith("stretch ended: "))
    assert i_start < i_over < i_end
    assert not any(timer.search(ln) for ln in lines[i_end:])  # the timer stops with it
    end = re.search(r"overpressure \+([\d.]+)°$", lines[i_end])
    assert end is not None and float(end.group(1)) == pytest.approx(gains[-1], abs=1.0)
