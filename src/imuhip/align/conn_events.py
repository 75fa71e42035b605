"""Lost samples counted on the BLE connection-event clock (sensors without timestamps).

A BLE peripheral can only send at connection events, every connection interval ``CI`` (a
multiple of 1.25 ms, 7.5 ms to 4 s; on the central's controller clock, a few tens of ppm off
the host). So every notification of a timestamp-less sensor arrives shortly after an event, and
the notifications an event carries are those completed since the previous one: with
``r = CI / T`` notification periods per interval (``T`` = samples per notification times the
nominal sample period; all notifications must carry the same number of samples) the number
*completed* by event ``j`` is ``N(j) = floor(phase + (r + eps)·j)``, where ``eps`` is the small
difference between the sensor's true rate and ``r`` per event (crystal and controller skews).

When ``r`` is a whole or half number (30 or 15 ms at 100 Hz: ``r = p / q`` with ``q <= 2``),
``N`` follows the nominal pattern ``floor(p·j / q)`` except that once every ``1 / |eps|``
events (tens of seconds) the phase wraps and one event carries one notification more
(``eps > 0``) or one fewer (``eps < 0``) for good. On the receive times alone such a wrap moves
the floor of ``host - index·P`` by a whole period, exactly like a lost notification, which is
what the step finder of :mod:`imuhip.align.reconstruct` cannot tell apart. Here the wraps are
told from losses by their regularity:

1. **Interval**: the receive times are concentrated at one phase modulo the true CI and its
   divisors (not its multiples); the largest BLE interval whose circular concentration is within
   ``harmonic_fraction`` of the best is taken (a divisor would only add empty events).
2. **Events**: each notification is put on the last event before it (receive-time floor over
   1 s buckets, median of 11, as the event clock).
3. **Received vs nominal**: ``A(j) = R(j) - floor(p·j / q)``, ``R(j)`` the notifications
   received by event ``j``. Notifications held up (retransmissions, host stalls) make ``A`` dip
   for a while; a morphological closing over ``restart_gap_s`` removes dips shorter than that
   (a longer hold-up would start a new segment). What remains steps down at losses and at the
   wraps of ``eps < 0``, and up at the wraps of ``eps > 0``.
4. **Half-period regimes** (``q = 2``): the events alternate between ``floor(p / 2)``
   notifications and one more, and *which* events carry the extra one says where the phase
   is (within half a unit): the pattern flips each time the phase crosses a half unit, twice
   per wrap, whatever the losses (a loss changes one event's count, not the pattern). Each
   event votes for one pattern or the other, a window of votes decides the regime, and the
   flips are the crossings. The regimes do not say which way the phase moves; the count
   across each crossing does (up by one at a forward crossing into one regime, down by one
   at a backward crossing into the other), and since the direction turns only where the two
   rates cross, the most likely sequence of directions is taken; where a slow crossing's
   evidence is in doubt (the rates within ``reversal_ppm``, where they may cross) this step
   gives way to the next. Then the counts follow from the phase (6.), the regime that takes
   more counted where the votes are mixed.
5. **Wraps** (``q = 1``, or where 4. gives way): a wrap moves ``A`` by exactly one notification,
   so the wraps are looked for among the steps of one: the longest chain of them with a slowly
   changing spacing (consecutive spacings within ``wrap_spacing_tol`` plus ``wrap_slack_events``;
   for ``eps > 0`` a wrap can coincide with a lost notification and cancel, so up to two missing
   steps may be bridged) is the wrap sequence if a chain as long is unlikely among that many
   randomly placed steps (expected number below ``false_alarm``; a chain over the whole segment can
   only start within its first spacing): losses are random, the wraps a regular comb. The chain is
   continued to both ends of the segment one spacing at a time (the nearest step of any size, or
   the predicted place where there is none). At whole-period ratios with a fast sensor every
   up-step is a wrap (a loss only takes away; a loss just before a wrap hides both within the
   closing), so where the chain does not hold every up-step and there are ``MIN_UP_STEPS``
   of them, the comb is theirs, the hidden wraps filled in.
6. **Counts**: the phase is interpolated between the wraps (one wrap per spacing) and advanced
   by the uncertainty of a wrap's place (``phase_lead``), giving ``N(j)`` rather too high than too
   low near a wrap; losses up to event ``j`` are ``min_{k >= j} (N(k) - R(k))`` (held-up
   notifications make ``N - R`` rise only for a while; a rise near the end is confirmed by no later
   arrival and is not counted, nor does a fall there cancel an earlier loss: the last
   ``restart_gap_s`` after a wrap chain, the last crossing's window after the regimes), and each
   loss is put before the first notification of the event where it appears (least latency; the
   signal step of the reconstruction may move it within that burst).

Whenever a step finds nothing (no clear interval, ``q > 2``, no significant chain: e.g. fewer than
a handful of wraps at ``q = 1`` because the two clocks run within a few ppm of each other; a
reversal in doubt at ``q = 2`` where no chain is found either) the caller keeps its receive-time
method; with ``q > 2`` the floor moves by at most a quarter period at a wrap, which that method
handles. Figures are SIMULATED (:mod:`imuhip.sim.ble_timing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from imuhip.align.clock import bucket_minima
from imuhip.align.numeric import grey_closing, median_filter

#: BLE connection intervals are whole multiples of this, s (Core spec: 7.5 ms .. 4 s).
CI_STEP_S = 1.25e-3


@dataclass(frozen=True)
class EventParams:
    """Tuning of the connection-event loss count (see the module docstring).

    Attributes:
        enabled: use the event clock where it applies (False: receive-time method only).
        ci_steps: smallest and largest connection interval tried, in 1.25 ms steps.
        window_s: length of each receive-time window used to find the interval, s.
        min_concentration: circular concentration (0..1) of the receive times at the best
            interval below which there is no usable event clock.
        harmonic_fraction: the largest interval whose concentration is within this fraction of
            the best is taken (the true interval, not one of its divisors).
        max_q: largest denominator of ``CI / P`` handled (2: whole or half periods).
        wrap_spacing_tol: largest relative change of the spacing of consecutive wraps (drift
            of the two clocks' rate difference over one wrap).
        wrap_slack_events: events added to that tolerance (event assignment, coinciding loss).
        false_alarm: largest expected number of chains as long as the one found among the
            same number of randomly placed steps.
        phase_lead: fraction of the local wrap spacing by which the interpolated phase is
            advanced (twice the chain's relative tolerance: a wrap's place is known to that
            on either side), plus ``wrap_slack_events`` events.
        max_rate_ppm: largest rate difference between the sensor and the event clock (two
            crystals of up to 1000 ppm); sets the shortest wrap spacing looked for.
        max_links: most candidate links (each step to every later one within reach) the
            chain search takes on in one step direction; its work grows with their square, so
            a direction with denser steps is not searched (a link losing about 1 % or more of
            its notifications over one of the offline aligner's rounds, about 18 minutes):
            where the wraps are among those steps, the receive-time method is kept, which
            counts a wrap as a loss.
        reversal_ppm: rate difference (ppm) under which the two clocks' rates may cross
            within a segment, so the phase may turn back (half-period ratios: where the
            evidence of a crossing that slow is in doubt, the event count steps aside).
    """

    enabled: bool = True
    ci_steps: tuple[int, int] = (6, 80)
    window_s: float = 5.0
    min_concentration: float = 0.5
    harmonic_fraction: float = 0.9
    max_q: int = 2
    wrap_spacing_tol: float = 0.015
    wrap_slack_events: float = 2.0
    false_alarm: float = 0.01
    phase_lead: float = 0.03
    max_rate_ppm: float = 2000.0
    max_links: int = 300_000
    reversal_ppm: float = 30.0


@dataclass(frozen=True)
class FoundInterval:
    """What :func:`connection_interval` found in some receive times, passed on to the other
    users of the same times (:func:`event_losses`, :func:`arrival_interval`) so it is looked
    for once.

    Attributes:
        s: the connection interval, s (None: the times are not concentrated at any BLE
            interval).
    """

    s: float | None


def _concentration(x: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Circular concentration (0..1) of times ``x`` (s, from a window's start) modulo each
    connection interval of ``steps`` (whole :data:`CI_STEP_S`, consecutive):
    ``|mean(exp(2πi x / c))|``. The phase at ``k`` steps is exactly twice that at ``2k``, so
    only the intervals without a double among ``steps`` take a cosine and sine of the real
    phase (in float32: to about 1e-7); the others follow by the double-angle formulas."""
    k0, k1 = int(steps[0]), int(steps[-1])
    cos = np.empty((len(x), len(steps)))
    sin = np.empty((len(x), len(steps)))
    lo = max(k0, k1 // 2 + 1)  # the smallest interval taken directly
    turns = x[:, None] / (CI_STEP_S * steps[lo - k0 :])[None, :]
    # (the fraction of a turn in float64, its cosine and sine in float32: a concentration
    # needs no more than that)
    ph = ((turns - np.floor(turns)) * (2 * np.pi)).astype(np.float32)
    del turns
    cos[:, lo - k0 :] = np.cos(ph)
    sin[:, lo - k0 :] = np.sin(ph)
    del ph
    while lo > k0:  # halve the intervals whose doubles are done: k from 2k
        ks = np.arange(max(k0, (lo + 1) // 2), lo) - k0
        c2, s2 = cos[:, 2 * ks + k0], sin[:, 2 * ks + k0]
        cos[:, ks] = (c2 - s2) * (c2 + s2)
        sin[:, ks] = 2.0 * s2 * c2
        lo = int(ks[0]) + k0
    return np.abs((cos.sum(axis=0) + 1j * sin.sum(axis=0)) / len(x))


def connection_interval(h: np.ndarray, p: EventParams) -> float | None:
    """Connection interval (s) of receive times ``h`` (s, sorted), or None when the times are
    not concentrated at any BLE interval. Uses up to five windows of ``window_s``."""
    if len(h) < 50:
        return None
    steps = np.arange(p.ci_steps[0], p.ci_steps[1] + 1)
    cands = CI_STEP_S * steps
    starts = np.linspace(h[0], max(h[0], h[-1] - p.window_s), 5)
    conc = []
    for a in starts.tolist():
        w = h[np.searchsorted(h, a) : np.searchsorted(h, a + p.window_s)]
        if len(w) >= 20:
            conc.append(_concentration(w - a, steps))
    if not conc:
        return None
    r = np.median(np.array(conc), axis=0)
    if r.max() < p.min_concentration:
        return None
    return float(cands[np.flatnonzero(r >= p.harmonic_fraction * r.max())[-1]])


def _rolling_floor(h: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Floor of ``y`` (s) at each time ``h`` (s): minima of 1 s buckets, median over 11 of them
    (a held-up pile or a mis-assigned arrival moves one bucket, not the median)."""
    _, bx, by = bucket_minima(h, y, 1.0, x0=h[0])
    m = median_filter(by, min(11, len(by)), mode="nearest")
    return np.interp(h - h[0], bx, m)


def arrival_interval(
    h: np.ndarray, p: EventParams, found: FoundInterval | None = None
) -> float | None:
    """The connection interval (s) that receive times ``h`` (s, sorted) show, for reports
    (``found``: :func:`connection_interval` of ``h`` where already looked for).

    :func:`connection_interval` is only told apart from the sensor's own rhythm where the two
    differ: several notifications per event (interval over 1.5 mean notification spacings) or
    notifications on changing events (interval under 0.9 spacings). In between (one
    notification per event, e.g. ``imuhip demo``'s bundled notifications at 10x speed) the
    receive times show the notification period, not the interval: None.
    """
    ci = connection_interval(h, p) if found is None else found.s
    if ci is None:
        return None
    spacing = float(h[-1] - h[0]) / (len(h) - 1)
    return ci if ci > 1.5 * spacing or ci < 0.9 * spacing else None


def event_index(h: np.ndarray, ci: float, window_s: float) -> np.ndarray:
    """Connection event (0, 1, ...) after which each notification arrived (``h``: receive
    times, s; ``ci``: interval, s). The phase of the events is followed through windows of
    ``window_s`` (circular mean, unwrapped), then each arrival is put on the last event whose
    receive-time floor lies before it."""
    edges = np.arange(h[0], h[-1] + window_s, window_s)
    idx = np.searchsorted(h, edges)
    # the circular mean of each window from cumulative sums of the phase's cosine and sine
    # (the phase's fraction of a turn in float64, its cosine and sine in float32: the windows'
    # means need no more, and the events are put on the receive-time floor below)
    turns = (h - h[0]) * (1.0 / ci)
    ph = ((turns - np.floor(turns)) * (2 * np.pi)).astype(np.float32)
    del turns
    cc, ss = np.zeros(len(h) + 1), np.zeros(len(h) + 1)
    np.cumsum(np.cos(ph), out=cc[1:], dtype=np.float64)
    np.cumsum(np.sin(ph), out=ss[1:], dtype=np.float64)
    del ph
    mc, ms = cc[idx[1:]] - cc[idx[:-1]], ss[idx[1:]] - ss[idx[:-1]]
    ok = (mc != 0) | (ms != 0)
    ang = np.unwrap(np.arctan2(ms[ok], mc[ok]))
    phi = np.interp(h, (edges[:-1] + 0.5 * window_s)[ok], ang) * ci / (2 * np.pi)
    j = np.round((h - h[0] - phi) / ci).astype(np.int64)
    y = h - j * ci
    j = j + np.floor((y - _rolling_floor(h, y)) / ci + 0.05).astype(np.int64)
    j = np.maximum.accumulate(j)
    return j - j[0]


def _chain_links(
    x: np.ndarray,
    reach: tuple[np.ndarray, np.ndarray],
    tmin: float,
    tmax: float,
    p: EventParams,
    mults: tuple[int, ...],
) -> tuple[np.ndarray, ...]:
    """Dynamic programme over the links ``x[a] -> x[b]`` of step positions ``x`` (events,
    sorted; ``reach``: for each ``a`` the ``b`` from and before which it may link): each
    link's score is one more than the best link ending at ``x[a]`` whose spacing unit matches
    within the tolerance (``mults``: a link may span that many units, i.e. hide wraps).
    Returns (start, end, units spanned, unit in events, score, predecessor) per link."""
    cap = len(x) * 8
    la, lb, lm, ls, lp = (np.empty(cap, np.int64) for _ in range(5))
    lu = np.empty(cap)
    n_links = 0
    incoming: list[list[int]] = [[] for _ in range(len(x))]
    for a, lo, hi in zip(range(len(x)), *(r.tolist() for r in reach), strict=True):
        if hi <= lo:
            continue
        bs = np.arange(lo, hi)
        s = x[bs] - x[a]
        sc = np.where(s <= tmax, 1, 0)
        pred = np.full(len(bs), -1, np.int64)
        mm = np.ones(len(bs), np.int64)
        ids = np.array(incoming[a], np.int64)
        for m in mults if ids.size else ():
            u = s / m
            tol = m * (p.wrap_slack_events + p.wrap_spacing_tol * u)
            ok = np.abs(lu[ids][:, None] - u[None, :]) <= tol[None, :]
            ok &= ((u >= tmin) & (u <= tmax))[None, :]
            cand = np.where(ok, ls[ids][:, None] + 1, 0)
            k = cand.argmax(axis=0)
            v = cand[k, np.arange(len(bs))]
            better = v > sc
            sc, pred, mm = (
                np.where(better, v, sc),
                np.where(better, ids[k], pred),
                np.where(better, m, mm),
            )
        keep = np.flatnonzero(sc > 0)
        if n_links + len(keep) > cap:
            cap = 2 * (n_links + len(keep))
            la, lb, lm, lu, ls, lp = (np.resize(v, cap) for v in (la, lb, lm, lu, ls, lp))
        sl = slice(n_links, n_links + len(keep))
        la[sl], lb[sl], lm[sl] = a, bs[keep], mm[keep]
        lu[sl], ls[sl], lp[sl] = s[keep] / mm[keep], sc[keep], pred[keep]
        for lid, b in zip(range(sl.start, sl.stop), bs[keep].tolist(), strict=True):
            incoming[b].append(lid)
        n_links += len(keep)
    return tuple(v[:n_links] for v in (la, lb, lm, lu, ls, lp))


def _chain(
    x: np.ndarray, span: float, tmin: float, tmax: float, p: EventParams, gaps: bool
) -> np.ndarray:
    """Longest chain of step positions ``x`` (events ``0 .. span``, sorted) whose consecutive
    spacings lie in
    ``[tmin, tmax]`` (events) and change slowly; with ``gaps`` a spacing may also be about
    two or three times the previous one (wraps hidden). Returns the positions with hidden wraps
    filled in, or an empty array when even the longest chain is not significant: a chain of
    ``k`` links is expected ``links · hit^(k-1)`` times among randomly placed steps, ``hit``
    being the chance that one lands within the tolerance of the next place (step density times
    the width of the places allowed)."""
    mults = (1, 2, 3) if gaps else (1,)
    if len(x) < 4:
        return np.empty(0)
    # each step's reach: the later steps it may link to
    reach = np.searchsorted(x, x + tmin), np.searchsorted(x, x + max(mults) * tmax, side="right")
    if int(np.maximum(reach[1] - reach[0], 0).sum()) > p.max_links:  # too dense (heavy loss)
        return np.empty(0)
    la, lb, lm, lu, ls, lp = _chain_links(x, reach, tmin, tmax, p, mults)
    if not len(la):
        return np.empty(0)
    chain = [int(np.argmax(ls))]
    while lp[chain[-1]] >= 0:
        chain.append(int(lp[chain[-1]]))
    chain = chain[::-1]
    unit = float(np.median(lu[chain]))
    tol = p.wrap_slack_events + p.wrap_spacing_tol * unit
    density = len(x) / max(float(x[-1] - x[0]), 1.0)
    hit = min(1.0, density * sum(2 * m * tol + 1 for m in mults))
    starts = len(la)
    if x[la[chain[0]]] <= 1.5 * unit and x[lb[chain[-1]]] >= span - 1.5 * unit:
        # a comb over the whole segment can only start within its first spacing
        starts = int(np.count_nonzero(x[la] <= 1.5 * unit))
    if starts * hit ** (len(chain) - 1) >= p.false_alarm:
        return np.empty(0)
    pts = [float(x[la[chain[0]]])]
    for k in chain:
        a_x, b_x, m = float(x[la[k]]), float(x[lb[k]]), int(lm[k])
        pts += [a_x + (b_x - a_x) * i / m for i in range(1, m + 1)]
    return np.round(np.array(pts))


def _extend(w: np.ndarray, steps: np.ndarray, span: float, p: EventParams) -> np.ndarray:
    """Continue the wrap chain ``w`` (events) to both ends of the segment (``0 .. span``): the
    next wrap is the step nearest to one spacing on, within the chain's tolerance (widened per
    missing wrap); where there is none the predicted place is used, up to two in a row."""
    out = [float(v) for v in w]
    for direction in (1, -1):
        pts = out if direction > 0 else out[::-1]
        misses = 0
        while misses <= 2:
            sp = pts[-1] - pts[-2]
            pred = pts[-1] + sp
            if not (-0.5 * abs(sp) <= pred <= span + 0.5 * abs(sp)):
                break
            tol = (misses + 1) * (p.wrap_slack_events + p.wrap_spacing_tol * abs(sp))
            near = steps[np.abs(steps - pred) <= tol]
            if near.size:
                pts.append(float(near[np.argmin(np.abs(near - pred))]))
                misses = 0
            else:
                pts.append(pred)
                misses += 1
        out = pts if direction > 0 else pts[::-1]
    return np.round(np.array(out))


def _phase_counts(
    j: np.ndarray, wraps: np.ndarray, sign: int, p_num: int, q: int, p: EventParams
) -> np.ndarray:
    """Samples taken by events ``j`` (up to a constant): the nominal ``floor(p·j / q)`` plus
    the phase ``u``, which moves by one (``sign``) from each wrap to the next, linearly in
    between and beyond the ends; the closed receive-count anomaly steps where ``u`` crosses a
    whole number minus ``(q - 1) / q``, i.e. at the wraps. The phase is advanced by the
    uncertainty of a wrap's place (``phase_lead``, ``wrap_slack_events``), so that near a
    crossing more samples are counted as taken, never fewer: an overcount only holds up a
    loss's place for those events, an undercount would cancel an earlier loss."""
    k = np.clip(np.searchsorted(wraps, j, side="right") - 1, 0, len(wraps) - 2)
    spacing = wraps[k + 1] - wraps[k]
    tau = (j - wraps[k]) / spacing
    base = k - (q - 1) / q + tau if sign > 0 else 1 - k - (q - 1) / q - tau
    u = base + sign * 1e-9 + p.phase_lead + p.wrap_slack_events / spacing
    return (p_num * j) // q + np.floor(u + ((p_num * j) % q) / q).astype(np.int64)


def _ratio(ci: float, period: float, p: EventParams) -> tuple[int, int] | None:
    """``CI / P`` as ``(p, q)`` with ``q <= max_q`` when within 1e-6 of such a fraction."""
    f = Fraction(ci / period).limit_denominator(p.max_q)
    if f.numerator <= 0 or abs(float(f) - ci / period) > 1e-6 * ci / period:
        return None
    return f.numerator, f.denominator


def _received(j: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Samples received by every event ``0 .. j[-1]`` (``j``: event of each notification,
    ``n``: its samples)."""
    rd = np.zeros(int(j[-1]) + 1, np.int64)
    rd[j] = np.cumsum(n)  # the last notification of each event wins (j is non-decreasing)
    return np.maximum.accumulate(rd)


def _closed_anomaly(rd: np.ndarray, p_num: int, q: int, width: int) -> np.ndarray:
    """The received-minus-nominal count ``R - floor(p·j / q)`` of the received counts ``rd``
    (:func:`_received`) after a morphological closing over ``width`` events (hold-ups
    shorter than that removed)."""
    jd = np.arange(len(rd))
    return grey_closing(rd - (p_num * jd) // q, width, mode="nearest")


def _find_wraps(
    closed: np.ndarray, tmin: float, tmax: float, p: EventParams
) -> tuple[int, np.ndarray] | None:
    """Direction (+1: extra samples, -1: missing) and events of the phase wraps: the one
    significant chain of up- or down-steps of the closed anomaly, continued to both ends;
    None when neither or both give one. A wrap changes the count by exactly one unit, so the
    chain is looked for among steps of one unit (a loss at the very event of a wrap makes it
    larger; the continuation takes any step)."""
    d = np.diff(closed)
    found = []
    for sign, gaps in ((1, True), (-1, False)):
        steps = np.flatnonzero(sign * d > 0) + 1.0
        w = _chain(np.flatnonzero(sign * d == 1) + 1.0, float(len(closed)), tmin, tmax, p, gaps)
        if len(w) >= 3:
            found.append((sign, _extend(w, steps, float(len(closed)), p)))
    return found[0] if len(found) == 1 else None


#: Events over which the half-period regime is voted (at most; see :func:`_regimes`).
REGIME_EVENTS = 64


@dataclass(frozen=True)
class _Regimes:
    """Half-period regimes of a link (:func:`_regimes`; events from 0).

    Attributes:
        cross: (K,) events where the phase crosses a half unit.
        lo, hi: (K,) the last event of the regime before each crossing and the first of the
            one after (in between, the votes are mixed).
        regime: the regime (+1, -1) of every event.
    """

    cross: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    regime: np.ndarray


def _regimes(rd: np.ndarray, p_num: int, tmin: float) -> _Regimes | None:
    """The half-period regimes of a link at ``CI / P = p_num / 2``: where the phase crosses a
    half unit and which regime (+1, -1) each event is in; None where the counts follow
    neither pattern.

    With ``p_num / 2`` notifications per event the events alternate between ``p_num // 2``
    and one more, and which events carry the extra one says where the phase is: with the
    phase ``u`` (mod 1) in ``[0, 1/2)`` it is the events of the nominal pattern
    ``floor(p·j / 2)`` (+1), in ``[1/2, 1)`` the others (-1). So the phase crosses a half
    unit where the pattern flips, twice per wrap, and a loss or a held-up notification
    changes the count of one event, not the pattern. Each event votes (+1 or -1, events
    with another count abstain), the votes are averaged over a centred window
    (``REGIME_EVENTS``, at most a quarter of the fastest wraps' spacing ``tmin``), a regime
    holds until the average reaches the other side's +-1/2 for half a window at least, and
    each crossing is placed half-way between the last event of one regime and the first of
    the next."""
    n_ev = len(rd)
    r = np.diff(rd, prepend=0)
    # the nominal pattern floor(p·j / 2) takes p // 2 + 1 at even events (p odd), p // 2 at odd
    lo = p_num // 2
    extra = r == lo + 1
    votes = extra | (r == lo)
    if not 2 * np.count_nonzero(votes) > n_ev:
        return None
    v = votes.astype(np.int64)
    v[1::2] *= -1  # +1 where the count is the nominal pattern's, -1 where the other's
    v[~extra] *= -1
    v[0] = (1 if r[0] == 0 else -1) if votes[0] else 0  # (event 0's nominal count is 0)
    half = _regime_window(tmin) // 2
    # each event's window of 2·half + 1 events, cut at the ends: sums as differences of the
    # cumulative sums from 0, padded with their first and last values
    cv = np.concatenate([np.zeros(half + 1, np.int64), np.cumsum(v), np.full(half, v.sum())])
    cn = np.concatenate(
        [np.zeros(half + 1, np.int64), np.cumsum(votes), np.full(half, np.count_nonzero(votes))]
    )
    span = 2 * half + 1
    mean = (cv[span:] - cv[:n_ev]) / np.maximum(cn[span:] - cn[:n_ev], 1)
    cv, cn = cv[half : half + n_ev + 1], cn[half : half + n_ev + 1]  # the sums from 0
    # the last half window: the votes from each event to the end (a crossing there is seen)
    end = np.arange(max(n_ev - half, 0), n_ev)
    tail_votes = cn[-1] - cn[end]
    mean[end] = np.where(tail_votes >= 6, (cv[-1] - cv[end]) / np.maximum(tail_votes, 1), 0.0)
    state = np.where(mean >= 0.5, 1, np.where(mean <= -0.5, -1, 0))
    # a regime holds for half a wrap spacing at least: runs of under half a window are
    # blips (a burst after a long hold-up, an event misplaced), not regimes
    edges = np.flatnonzero(np.diff(state, prepend=0, append=0))
    runs = np.diff(edges)
    blips = (runs < half) & (state[edges[:-1]] != 0)
    for a, n in zip(edges[:-1][blips].tolist(), runs[blips].tolist(), strict=True):
        state[a : a + n] = 0
    held = state.nonzero()[0]
    if not len(held):
        return None
    sides = state[held]
    flips = (sides[1:] != sides[:-1]).nonzero()[0]
    # the crossings, half-way between the last event of a regime and the first of the next
    lo, hi = held[flips], held[flips + 1]
    cross = (lo + hi + 1) // 2
    regime = np.repeat(np.r_[sides[0], sides[flips + 1]], np.diff(np.r_[0, cross, n_ev]))
    return _Regimes(cross, lo, hi, regime)


def _crossing_directions(
    cross: np.ndarray, regime: np.ndarray, rd: np.ndarray, p_num: int, lead: int, p: EventParams
) -> np.ndarray | None:
    """Which way (+1, -1) the phase crosses each half unit (:func:`_regimes`); None where
    that cannot be told.

    Forward (the sensor gaining on the events) a crossing into the -1 regime raises the
    count of the odd-pattern events by one and one into +1 leaves it; backward one into +1
    lowers it and one into -1 leaves it. So the highest received-minus-nominal count within
    ``lead`` events after a crossing, less the highest within ``lead`` before it, is one more
    forward than backward (the highest: held-up notifications and losses before it do not
    move it; a loss just after lowers it, about one crossing in twenty). The direction
    turns only where the two rates cross, so the most likely sequence of directions is
    taken (:func:`_steady_states`). Where a crossing's own evidence says otherwise next to a
    gap longer than the rate difference ``p.reversal_ppm`` gives (the rates may cross
    there, and a slow crossing's evidence is unsure), None."""
    n_ev = len(rd)
    a = rd - (p_num * np.arange(n_ev)) // 2
    z = np.array(
        [
            int(a[c : c + lead].max()) - int(a[max(c - lead - 1, 0) : c - 1].max())
            if 1 < c < n_ev
            else -9  # (no evidence)
            for c in cross.tolist()
        ],
        np.int64,
    )
    z += regime[np.minimum(cross, n_ev - 1)] > 0  # 1 forward, 0 backward
    out = _steady_states(z)
    slow = 0.5 / (p.reversal_ppm * 1e-6 * p_num / 2)  # events between crossings at that rate
    gap = np.diff(np.r_[0, cross, n_ev])
    sparse = (gap[:-1] > slow) | (gap[1:] > slow)
    doubt = np.abs(z - (out > 0)) == 1
    return None if np.any(doubt & sparse) else out


def _steady_states(z: np.ndarray, p_turn: float = 1e-4, p_ok: float = 0.95) -> np.ndarray:
    """The most likely directions (+1 forward, -1 backward) behind the crossings' evidence
    ``z`` (1 forward, 0 backward; right with probability ``p_ok``), turning with probability
    ``p_turn`` between two crossings (Viterbi, two states)."""
    log_ok, log_off, log_turn = math.log(p_ok), math.log(1.0 - p_ok), math.log(p_turn)
    score = {1: 0.0, -1: 0.0}
    back: list[dict[int, int]] = []  # the best state before each crossing, per state at it
    for zz in z.tolist():
        came = {d: d if score[d] >= score[-d] + log_turn else -d for d in (1, -1)}
        score = {
            d: max(score[d], score[-d] + log_turn) + (log_ok if zz == (d > 0) else log_off)
            for d in (1, -1)
        }
        back.append(came)
    out = np.empty(len(z), np.int64)
    d = 1 if score[1] >= score[-1] else -1
    for k in range(len(z) - 1, -1, -1):
        out[k] = d
        d = back[k][d]
    return out


def _regime_counts(rg: _Regimes, directions: np.ndarray, p_num: int, lead: int) -> np.ndarray:
    """Notifications taken by each event (up to a constant) from the half-period regimes and
    the direction of each crossing: the phase moves one half unit per crossing, the middle of
    each regime a quarter unit into its half. Where the votes are mixed around a crossing
    (and ``lead`` events either side) the regime that takes more is counted, rather too high
    than too low (see :func:`_phase_counts`)."""
    n_ev = len(rg.regime)
    mid = (0.25 if rg.regime[0] > 0 else 0.75) + 0.5 * np.r_[0, np.cumsum(directions)]
    m = np.zeros(n_ev, np.int64)
    m[np.minimum(rg.cross, n_ev - 1)] += 1
    u = mid[np.cumsum(m)]
    top = np.maximum(mid[:-1], mid[1:]).tolist()
    for a, b, v in zip((rg.lo - lead).tolist(), (rg.hi + lead + 1).tolist(), top, strict=True):
        u[max(a, 0) : b] = v
    jd = np.arange(n_ev)
    return (p_num * jd) // 2 + np.floor(u + ((p_num * jd) % 2) / 2).astype(np.int64)


def _regime_window(tmin: float) -> int:
    """Events the half-period regime is voted over: ``REGIME_EVENTS``, or a quarter of the
    fastest wraps' spacing ``tmin`` (events) where that is shorter (at least 8)."""
    return max(8, min(REGIME_EVENTS, int(tmin // 4)))


def _regime_lead(p: EventParams) -> int:
    """Events around a half-period crossing in which the regime taking more is counted."""
    return math.ceil(p.wrap_slack_events) + REGIME_EVENTS // 8


#: Up-steps (wraps seen) from which a fast sensor's comb is filled in at whole-period
#: ratios: with fewer the rate difference drifts too much between them (:func:`_filled_comb`).
MIN_UP_STEPS = 8


def _filled_comb(up: np.ndarray, span: float, tmin: float, p: EventParams) -> np.ndarray | None:
    """The wraps of a fast sensor at a whole-period ratio from the up-steps ``up`` (events,
    every one a wrap, some hidden by a loss just before them): the comb's unit is the lower
    quartile of their spacings, a spacing of about ``k`` units gets ``k - 1`` wraps filled in
    evenly, and the comb is continued to both ends (:func:`_extend`); None where a spacing is
    more than a quarter off its whole number of units (the rates drift too much for a comb)
    or the unit is shorter than the fastest wraps ``tmin`` (events)."""
    x = up.astype(float)
    gaps = np.diff(x)
    unit = float(np.percentile(gaps, 25))
    if unit < tmin:
        return None
    k = np.maximum(1, np.round(gaps / unit)).astype(np.int64)
    local = gaps / k
    if np.any(np.abs(local - np.median(local)) > 0.25 * np.median(local)):
        return None
    pts = [x[0]]
    for a, g, m in zip(x[:-1].tolist(), gaps.tolist(), k.tolist(), strict=True):
        pts += [a + g * i / m for i in range(1, m + 1)]
    return _extend(np.round(np.array(pts)), x, span, p)


def _holds(wraps: tuple[int, np.ndarray] | None, up: np.ndarray, p: EventParams) -> bool:
    """Whether a wrap chain (:func:`_find_wraps`) of extra notifications has a wrap at each of
    the up-steps ``up`` (events) of the closed anomaly, within its tolerance."""
    if wraps is None or wraps[0] < 0 or len(wraps[1]) < 2:
        return False
    w = wraps[1]
    tol = p.wrap_slack_events + p.wrap_spacing_tol * float(np.median(np.diff(w)))
    k = np.clip(np.searchsorted(w, up), 1, len(w) - 1)
    near = np.minimum(np.abs(w[k] - up), np.abs(w[k - 1] - up))
    return bool(np.all(near <= tol))


def _regime_taken(rd: np.ndarray, p_num: int, tmin: float, p: EventParams) -> np.ndarray | None:
    """Notifications taken by each event (up to a constant) at ``CI / P = p_num / 2`` from
    the half-period regimes of the received counts ``rd``, or None where they do not say."""
    rg = _regimes(rd, p_num, tmin)
    if rg is None:
        return None
    lead = _regime_lead(p)
    directions = _crossing_directions(rg.cross, rg.regime, rd, p_num, lead, p)
    if directions is None:
        return None
    return _regime_counts(rg, directions, p_num, lead)


def _chain_taken(
    rd: np.ndarray, p_num: int, q: int, width: int, tmin: float, p: EventParams
) -> np.ndarray | None:
    """Notifications taken by each event (up to a constant) at ``CI / P = p_num / q`` from
    the comb of wraps in the closed anomaly of the received counts ``rd`` (``width``: the
    hold-up horizon, events; ``tmin``: the fastest wraps, events), or None where no comb is
    found: the wrap chain, or at whole-period ratios (``q == 1``) with the chain missing some
    of the closed anomaly's up-steps, the comb filled in from them."""
    closed = _closed_anomaly(rd, p_num, q, width)
    tmax = len(rd) / 4.0  # at least four wraps in the segment
    wraps = _find_wraps(closed, tmin, tmax, p) if tmin < tmax else None
    up = (np.diff(closed) > 0).nonzero()[0] + 1 if q == 1 else np.empty(0, np.int64)
    filled = None
    if len(up) >= MIN_UP_STEPS and not _holds(wraps, up, p):
        filled = _filled_comb(up, float(len(rd)), tmin, p)
    if filled is not None:
        # a whole-period ratio with the sensor fast: every up-step is a wrap (a loss only
        # takes away; a loss just before a wrap hides both), so the comb is theirs
        return _phase_counts(np.arange(len(rd)), filled, 1, p_num, q, p)
    if wraps is None:
        return None
    return _phase_counts(np.arange(len(rd)), wraps[1], wraps[0], p_num, q, p)


def event_losses(
    h: np.ndarray,
    n: np.ndarray,
    period: float,
    hold_s: float,
    p: EventParams,
    found: FoundInterval | None = None,
) -> tuple[np.ndarray, list[tuple[int, int]]] | None:
    """Last-sample index of each notification and the losses ``(notification, samples)`` of
    one segment (``h``: receive times, s; ``n``: samples per notification; ``period``: nominal
    sample period, s; ``hold_s``: longest hold-up that is not a restart, s; ``found``:
    :func:`connection_interval` of ``h`` where already looked for), counted on the
    connection-event clock; None where that does not apply (module docstring)."""
    if not p.enabled or len(h) < 50 or h[-1] - h[0] < 4 * p.window_s or np.any(n != n[0]):
        return None
    unit = int(n[0])  # samples per notification: the sensor sends whole notifications
    ci = connection_interval(h, p) if found is None else found.s
    frac = None if ci is None else _ratio(ci, unit * period, p)
    if ci is None or frac is None:
        return None
    p_num, q = frac
    j = event_index(h, ci, p.window_s)
    width = max(3, math.ceil(hold_s / ci) + 1)
    rd = _received(j, np.ones(len(j), np.int64))
    tmin = 1.0 / (p.max_rate_ppm * 1e-6 * p_num / q)  # fastest wraps: events between them
    taken = _regime_taken(rd, p_num, tmin, p) if q == 2 else None
    # the last `tail` events are not followed by later arrivals: a rise of taken - received
    # there is not confirmed (samples may still be on their way, with in-order delivery; the
    # data may end within an event's notifications, or within the overcount near a crossing)
    # and is not counted; and a fall there below where the hold-up horizon (`width` events)
    # before them began may be the counts' error (a half-period crossing not yet told, the
    # end of the wrap chain's phase), so it does not cancel a loss before them. The wrap
    # chain's phase is less sure towards its ends: its tail is the hold-up horizon
    tail = _regime_window(tmin) // 4 + _regime_lead(p) + 1
    if taken is None:
        tail = width
        taken = _chain_taken(rd, p_num, q, width, tmin, p)
        if taken is None:
            return None
    diff = taken - rd
    keep = max(1, len(diff) - tail)
    np.maximum(diff[keep:], diff[max(0, keep - width) : keep].min(), out=diff[keep:])
    lost = np.minimum.accumulate(diff[::-1])[::-1]
    lost[keep:] = lost[keep - 1]
    lost = lost - lost[0]
    per_note = unit * lost[j]
    step = np.diff(np.r_[0, per_note])
    losses = [(int(i), int(step[i])) for i in np.flatnonzero(step > 0).tolist()]
    return np.cumsum(n) - 1 + per_note, losses
