"""The one pipeline fed as live feeds it, with losses: shipped recordings in random chunks
(1 to 400 inputs) with random runs of notifications missing (a sensor out of range for a few
samples to several seconds). Whatever is lost, the pipeline never crashes: it analyses, or
refuses with a clear error (an :class:`ImuhipError`), and what it reports stays finite."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from imuhip.errors import ImuhipError
from imuhip.files.session_file import read_session
from imuhip.pipeline import make_pipeline
from imuhip.session import Event, session_inputs

RECORDINGS = Path(__file__).parent.parent / "recordings"
CASES = [
    ("prone-left-isometric-simulated", 11),
    ("prone-left-isometric-simulated", 12),
    ("seated-right-stretch-simulated", 13),
    ("prone-both-reps-simulated", 14),
]


def _lossy(items: list, rng: random.Random) -> list:
    """``items`` with random runs of notifications taken out (session events all kept)."""
    out, skip = [], 0
    for it in items:
        if isinstance(it, Event):
            out.append(it)
        elif skip:
            skip -= 1
        elif rng.random() < 0.003:
            skip = rng.choice([3, 10, 50, 200, 600])
        else:
            out.append(it)
    return out


@pytest.mark.parametrize("stem, seed", CASES, ids=lambda c: str(c))
def test_losses_in_any_chunking_never_crash(stem, seed):
    path = next(RECORDINGS.glob(f"{stem}*.imuhip"))
    session = read_session(path)
    rng = random.Random(seed)
    items = _lossy(list(session_inputs(session)), rng)
    pipe = make_pipeline(session.header, aligner="causal", saved=True)
    i = 0
    try:
        while i < len(items):
            k = rng.choice([1, 2, 5, 20, 100, 400])
            pipe.feed_all(items[i : i + k])
            i += k
        pipe.finish()
        analysis = pipe.analysis()
    except ImuhipError as exc:  # a clear refusal is an answer
        assert str(exc)
        return
    for leg in analysis.legs:
        for rep in leg.exercise.reps:
            assert math.isfinite(rep.peak_deg)
        for hold in leg.exercise.holds:
            assert hold.end_s >= hold.start_s and math.isfinite(hold.mean_deg)
