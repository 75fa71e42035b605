"""The asked-for hold windows as prior (``imuhip.analysis.hold_prior``) on weak pushes
(SIMULATED data only; real-leg figures are NOT measured here).

Per seed and effort level, a prone session of :class:`imuhip.sim.person.VirtualPerson`: one
asked-for hold set with a push of that level 2.5 s after its cue, one asked-for set in which
the person does nothing, and one push of the same level that nobody asked for. Each session is
analysed without and with its set events. Prints, per level: the asked-for pushes found by the
detector alone and with the prior, the largest edge errors against the push, holds found in
the empty windows (invented) and unasked pushes found (full evidence only).

    python bench/hold_prior.py                      # 12 seeds, levels 0.2 0.24 0.28 0.35
    python bench/hold_prior.py --seeds 20 --levels 0.24
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from imuhip.files.session_file import read_session, write_session
from imuhip.pipeline import analyze_session
from imuhip.session import Event, SensorInfo, SessionHeader
from imuhip.sim.person import ROLES, VirtualPerson

SET = {"exercise": 0, "technique": "prone-active-ir", "side": "left", "kind": "hold", "set": 1,
       "of": 2, "targets": {"hold_s": 12.0}}  # fmt: skip


def one(seed: int, level: float, folder: Path) -> dict:
    """The figures of one session (see the module docstring)."""
    p = VirtualPerson("prone", "left", seed=seed)
    cue1 = p.calibration_end_s + 35.0
    end1 = p.push(cue1 + 2.5, 12.0, level) + 6.0
    cue2 = end1 + 35.0
    unasked = p.push(cue2 + 60.0, 12.0, level)
    windows = ((cue1 - 2.0, end1), (cue2 - 2.0, cue2 + 30.0))
    samples = {r: p.samples(r, unasked + 10.0) for r in ROLES}
    header = SessionHeader(side="left", exercise="prone", time_base="simulated",
                           sensors=tuple(SensorInfo(r, rate_hz=100.0) for r in ROLES))  # fmt: skip
    marks = [Event(t, "phase", None, {"phase": ph}) for ph, t in p.script.phase_starts.items()]
    edges = ((cue1, "set_start"), (end1, "set_end"), (cue2, "set_start"), (cue2 + 30, "set_end"))
    asked = [Event(t, k, None, SET) for t, k in edges]
    out = {}
    for name, events in (("alone", marks), ("prior", sorted(marks + asked, key=lambda e: e.t))):
        path = folder / f"{seed}-{level}-{name}.imuhip"
        write_session(path, header, samples=samples, events=events, overwrite=True)
        holds = analyze_session(read_session(path)).exercise.holds
        truth = p.script.holds[0]
        hit = [h for h in holds if h.start_s < truth.end_s and h.end_s > truth.start_s]
        out[name] = {
            "found": bool(hit),
            "edge": max(abs(hit[0].start_s - truth.start_s), abs(hit[0].end_s - truth.end_s))
            if hit
            else None,
            "invented": sum(windows[1][0] <= h.start_s <= windows[1][1] for h in holds),
            "unasked": sum(h.start_s > windows[1][1] for h in holds),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=12, help="sessions per level (seeds 2…)")
    ap.add_argument("--levels", default="0.2,0.24,0.28,0.35", help="push efforts, comma list")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp())
    print("SIMULATED. level: asked-for pushes found alone / with the prior (of n), edge error "
          "with the prior (median), holds in the empty window, unasked pushes found")  # fmt: skip
    for level in (float(x) for x in args.levels.split(",")):
        rows = [one(seed, level, folder) for seed in range(2, 2 + args.seeds)]
        alone = sum(r["alone"]["found"] for r in rows)
        prior = sum(r["prior"]["found"] for r in rows)
        edges = [r["prior"]["edge"] for r in rows if r["prior"]["edge"] is not None]
        edge = f"{np.median(edges):.2f} s (largest {max(edges):.2f} s)" if edges else "-"
        invented = sum(r["prior"]["invented"] for r in rows)
        unasked = sum(r["prior"]["unasked"] for r in rows)
        print(f"  {level:.2f}: {alone}/{len(rows)} alone, {prior}/{len(rows)} with the prior, "
              f"edge error {edge}, {invented} invented, {unasked} unasked found")  # fmt: skip


if __name__ == "__main__":
    main()
