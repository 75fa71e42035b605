"""The asked-for hold windows as prior knowledge when timing holds.

A training program records when it asked for a hold (its ``set_start`` and ``set_end``
events). Within such a window a hold is expected, so weaker evidence is enough: an isometric
push whose shin tremor is only :attr:`PriorParams.on_db` over rest (the detector wants
``effort_on_db``, 6 dB) and lasts :attr:`PriorParams.min_hold_s` is accepted as a hold.
Outside the windows nothing changes: a hold needs the detector's full evidence. The hold is
still timed from the signal, not from the prompt: its edges are where the tremor power
changes level (the pulse that fits the raw power best), and it must begin inside the window
(from :data:`WINDOW_EARLY_S` before the cue). A window in which the person did not push gives
nothing.

:class:`HoldPrior` is streaming, beside the detector (:class:`~imuhip.analysis.detector.
ExerciseDetector`): fed the same samples (time s, hip angle degrees, shin rate rad/s, on the
grid), the windows as their events come and the detector's events. A run of effort is decided
:attr:`PriorParams.settle_s` after it ends (by then the detector has had its say on the same
data): it becomes a hold unless the detector found a hold, rep or stretch overlapping it. Every
decision depends on the data and the window edges only, so live use (windows known as they
are prompted) and the analysis of the file (all known at once) give the same holds.

Effort: the shin's tremor power (:func:`imuhip.analysis.effort.tremor_fir`, squared and
summed over the axes, rad²/s²) as a centred moving mean over :attr:`PriorParams.smooth_s`,
in dB against the rest before the window (the 25th percentile of 1 s means over
:attr:`PriorParams.baseline_s` before it). ``docs/detector.md`` has the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from imuhip.analysis.effort import tremor_fir
from imuhip.analysis.events import AnalysisEvent, EventKind, Hold

#: A window starts this long before its set's cue (a hold begun as the cue came counts; the
#: coach's ``HOLD_EARLY_S``).
WINDOW_EARLY_S = 2.0

#: Detector events that open what it found (a span the prior leaves alone), and the kinds of
#: span each closing event ends (a rep, counted or not, ends a hold inside it too).
_OPENS = (EventKind.HOLD_STARTED, EventKind.REP_STARTED, EventKind.STRETCH_STARTED)
_CLOSES: dict[str, tuple[str, ...]] = {
    EventKind.HOLD_ENDED: (EventKind.HOLD_STARTED,),
    EventKind.REP_COUNTED: (EventKind.REP_STARTED, EventKind.HOLD_STARTED),
    EventKind.PARTIAL_REP: (EventKind.REP_STARTED, EventKind.HOLD_STARTED),
    EventKind.STRETCH_ENDED: (EventKind.STRETCH_STARTED,),
}


@dataclass(frozen=True)
class PriorParams:
    """Thresholds of a hold inside an asked-for window (dB against rest, seconds, degrees).

    Attributes:
        on_db: the smoothed effort reaches this somewhere in the run.
        off_db: the run is where it stays at or above this.
        min_hold_s: shortest run accepted.
        still_deg: the hip angle stays within this of its median over the run.
        smooth_s: length of the centred moving mean of the tremor power.
        baseline_s: rest looked at before the window for the baseline.
        settle_s: a run is decided this long after its end.
    """

    on_db: float = 2.5
    off_db: float = 1.5
    min_hold_s: float = 4.0
    still_deg: float = 1.5
    smooth_s: float = 2.0
    baseline_s: float = 30.0
    settle_s: float = 4.0


@dataclass(frozen=True)
class HoldWindow:
    """Where the program asked for a hold: ``start_s`` to ``end_s`` (None: not ended yet),
    seconds on the session's time base."""

    start_s: float
    end_s: float | None = None


@dataclass
class _Window:
    start_s: float
    end_s: float | None = None
    searched_s: float = -math.inf  # runs ending before this are decided
    baseline: float | None = None  # rest tremor power: its 25th percentile (rad²/s²)
    skipped: bool = False  # no rest before it to compare with
    done: bool = False  # over and decided


@dataclass
class _Span:
    kind: str  # the event that opened it
    start_s: float
    end_s: float | None = None


@dataclass
class HoldPrior:
    """Holds found with the asked-for windows as prior (see the module docstring)."""

    rate_hz: float
    params: PriorParams = field(default_factory=PriorParams)

    def __post_init__(self) -> None:
        self._fir = tremor_fir(self.rate_hz)
        self._fd = (len(self._fir) - 1) // 2
        # the samples in reach (time s, hip angle degrees, shin rate rad/s), and while the
        # windows are searched, those whose tremor power is known (the filter's reach of
        # neighbours on both sides) with it: _vt, _va, _vp
        self._t = np.empty(0)
        self._ang = np.empty(0)
        self._gyr = np.empty((0, 3))
        self._vt = self._va = self._vp = np.empty(0)
        self._windows: list[_Window] = []
        self._spans: list[_Span] = []
        self.holds: list[Hold] = []

    # ------------------------------------------------------------------ inputs
    def open(self, t: float) -> None:
        """The program asked for a hold at ``t`` (its set's cue), seconds (a time that is not
        a finite number is ignored: a damaged event asks for nothing)."""
        if math.isfinite(t):
            self._windows.append(_Window(t - WINDOW_EARLY_S))

    def close(self, t: float) -> None:
        """The set asking for it ended at ``t``, seconds (ignored without an open window or
        a finite time)."""
        if not math.isfinite(t):
            return
        for w in reversed(self._windows):
            if w.end_s is None:
                w.end_s = max(t, w.start_s)
                return

    def windows(self) -> list[HoldWindow]:
        """The windows so far."""
        return [HoldWindow(w.start_s, w.end_s) for w in self._windows]

    def observe(self, events: Sequence[AnalysisEvent]) -> None:
        """The detector's events: what it found is left to it."""
        for e in events:
            if e.kind in _OPENS:
                self._spans.append(_Span(e.kind, e.t))
            elif e.kind in _CLOSES:
                end = getattr(e.item, "end_s", None)
                end = e.t if end is None else float(end)
                closed = False
                for s in self._spans:
                    if s.end_s is None and s.kind in _CLOSES[e.kind]:
                        s.end_s, closed = max(end, s.start_s), True
                if not closed:
                    self._spans.append(_Span(e.kind, getattr(e.item, "start_s", e.t), end))

    def gap(self) -> None:
        """The data stop here for a while (a lost stretch): the samples so far are dropped
        (a run cannot span the gap); the windows stay."""
        self._t, self._ang, self._gyr = np.empty(0), np.empty(0), np.empty((0, 3))

    def update(self, t: np.ndarray, angle_deg: np.ndarray, gyr_shin: np.ndarray) -> list[Hold]:
        """The next samples on the grid (times s, hip angles degrees, shin rates (N, 3)
        rad/s); returns the holds accepted with them, in time order."""
        if not len(t):
            return []
        self._t = np.concatenate([self._t, np.asarray(t, np.float64)])
        self._ang = np.concatenate([self._ang, np.asarray(angle_deg, np.float64)])
        gyr = np.asarray(gyr_shin, np.float64).reshape(-1, 3)
        self._gyr = np.concatenate([self._gyr, gyr])
        return self._decide()

    def finish(self) -> list[Hold]:
        """End of the session: runs still open are decided on what there is."""
        return self._decide(final=True)

    # ------------------------------------------------------------------ decisions
    def _decide(self, *, final: bool = False) -> list[Hold]:
        out: list[Hold] = []
        active = [w for w in self._windows if not (w.skipped or w.done)]
        if active and len(self._t) > 2 * self._fd:
            self._view()
            for w in active:
                out += self._search(w, final)
        self._trim()
        out.sort(key=lambda h: h.start_s)
        self.holds += out
        return out

    def _view(self) -> None:
        """The samples whose tremor power is known, with it (rad²/s²): the band-passed shin
        rate squared and summed over the axes, for those with the filter's reach of
        neighbours in the buffer (so the same number however the input was cut)."""
        fd, n = self._fd, len(self._t)
        power = np.zeros(n - 2 * fd)
        for ax in range(3):
            power += np.convolve(self._gyr[:, ax], self._fir, mode="valid") ** 2
        self._vt, self._va, self._vp = self._t[fd : n - fd], self._ang[fd : n - fd], power

    def _search(self, w: _Window, final: bool) -> list[Hold]:
        """Runs of effort begun in ``w`` that are over (``settle_s`` of data after them)."""
        p = self.params
        t = self._vt
        if not len(t) or t[-1] < w.start_s:
            return []
        if w.baseline is None:
            w.baseline = self._baseline(w.start_s)
            if w.baseline is None:
                w.skipped = True  # not enough rest before it to compare with
                return []
        db = self._smoothed_db(w.baseline)
        # a run ends where the smoothed effort falls under off_db; decided settle_s later
        horizon = t[-1] if final else t[-1] - p.settle_s
        last_start = w.end_s if w.end_s is not None else math.inf
        out = []
        pending = False
        for a, b in _runs(db >= p.off_db, round(p.smooth_s * self.rate_hz)):
            ta, tb = t[a], t[b - 1]
            if ta < max(w.start_s, w.searched_s) or ta > last_start:
                continue
            if (b == len(t) and not final) or tb > horizon:
                pending = True
                break  # not over yet: decided later
            w.searched_s = tb
            hold = self._hold(a, b, w.baseline)
            if hold is not None:
                out.append(hold)
                w.searched_s = max(tb, hold.end_s)
        # over: its end is known and passed, and no run begun in it is still undecided
        w.done = final or (w.end_s is not None and horizon >= w.end_s and not pending)
        return out

    def _hold(self, a: int, b: int, baseline: float) -> Hold | None:
        """The run ``a..b-1`` as a hold, if it is one: long, strong and still enough, and not
        what the detector found. Its edges are refined on the raw power."""
        p = self.params
        db = self._smoothed_db(baseline)
        if not np.any(db[a:b] >= p.on_db):
            return None
        # the edges: the pulse (rest, push, rest) that fits the raw power best, searched over
        # the run and the smoothing's length either side of it
        reach = round(p.smooth_s * self.rate_hz)
        lo, hi = max(0, a - reach), min(len(self._vp), b + reach)
        start, end = _pulse(self._vp, lo, hi)
        t0, t1 = float(self._vt[start]), float(self._vt[end - 1])
        seg = self._va[start:end]
        if t1 - t0 < p.min_hold_s or np.max(np.abs(seg - np.median(seg))) > p.still_deg:
            return None
        if any(s.start_s <= t1 and (s.end_s is None or s.end_s >= t0) for s in self._spans):
            return None  # the detector's: a hold, rep or stretch of its own
        effort = float(10.0 * np.log10(np.mean(self._vp[start:end]) / baseline))
        return Hold(t0, t1, float(seg.mean()), float(seg.std()), effort)

    def _baseline(self, start_s: float) -> float | None:
        """Rest tremor power before a window (rad²/s²): the 25th percentile of 1 s means over
        ``baseline_s`` before it (None with fewer than 5 of them)."""
        t = self._vt
        hi = int(np.searchsorted(t, start_s))
        lo = int(np.searchsorted(t, start_s - self.params.baseline_s))
        n = max(1, round(self.rate_hz))
        k = (hi - lo) // n
        if k < 5:
            return None
        blocks = self._vp[hi - k * n : hi].reshape(k, n).mean(axis=1)
        base = float(np.percentile(blocks, 25.0))
        return base if base > 0 else None

    def _smoothed(self, y: np.ndarray) -> np.ndarray:
        """The centred moving mean of ``y`` over ``smooth_s`` (shorter at the ends)."""
        n = max(1, round(self.params.smooth_s * self.rate_hz))
        c = np.concatenate([[0.0], np.cumsum(y)])
        i = np.arange(len(y))
        lo, hi = np.maximum(0, i - n // 2), np.minimum(len(y), i + n - n // 2)
        return (c[hi] - c[lo]) / (hi - lo)

    def _smoothed_db(self, baseline: float) -> np.ndarray:
        mean = self._smoothed(self._vp)
        return 10.0 * np.log10(np.maximum(mean, 1e-30) / baseline)

    def _trim(self) -> None:
        """Drop samples no window can still need (the baseline's, an open run's)."""
        if not len(self._t):
            return
        keep_from = self._t[-1] - self.params.baseline_s - WINDOW_EARLY_S - 5.0
        for w in self._windows:
            if not (w.skipped or w.done):
                keep_from = min(keep_from, max(w.start_s, w.searched_s) - self.params.smooth_s)
        k = int(np.searchsorted(self._t, keep_from)) - self._fd  # the filter's reach kept
        if k > 0:
            self._t, self._ang, self._gyr = (x[k:].copy() for x in (self._t, self._ang, self._gyr))


def _runs(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in ``mask``, runs less than ``bridge``
    samples apart joined (a push that weakens for a moment is one push)."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    runs: list[tuple[int, int]] = []
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if runs and a - runs[-1][1] < bridge:
            runs[-1] = (runs[-1][0], int(b))
        else:
            runs.append((int(a), int(b)))
    return runs


#: Most candidate edges per side of a pulse fit (a long hold is searched on a coarser step).
PULSE_STEPS = 400


def _pulse(y: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """The pulse in the power ``y[a:b]``: (start, stop) indices of the stretch whose level
    differs from the one level around it (before and after) with the best fit (each sample
    taken as exponential about its level's mean: the split of least ``sum n·log(mean)``), on a
    step of at least 5 samples."""
    seg = y[a:b] + 1e-30
    n = len(seg)
    step = max(5, -(-n // PULSE_STEPS))
    if n < 3 * step:
        return a, b
    c = np.concatenate([[0.0], np.cumsum(seg)])
    cand = np.arange(step, n - step + 1, step)
    s, e = np.meshgrid(cand, cand, indexing="ij")
    inside = np.maximum(e - s, 1)
    outside = n - inside
    power_in = c[e] - c[s]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = inside * np.log(power_in / inside) + outside * np.log((c[n] - power_in) / outside)
    total = np.where((e - s >= step) & np.isfinite(total), total, np.inf)
    k = int(np.argmin(total))
    return a + int(s.flat[k]), a + int(e.flat[k])
