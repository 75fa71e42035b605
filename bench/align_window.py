"""The offline aligner in rounds against the whole-session fit, on long SIMULATED links.

``OfflineAligner`` fits a timestamp-less sensor's clock in rounds of ``WINDOW_S``, each seeing
the clock fit's trailing window (``history_s``, 360 s) before it and ``CONTEXT_S`` after it,
once its data span more than ``WINDOW_S + 2 * CONTEXT_S``; ``window_s=None`` fits the whole
session at once. The rounds as they were before (5 minutes, 2 minutes of history) are the
third row. For
SIMULATED WitMotion-like links (:mod:`imuhip.sim.ble_timing`: crystal skew and drift,
connection events, jitter, bursts, stalls, 0.3 % of the notifications lost, a reconnect at
40 % of the session) of each length and connection interval, this prints, for both, the
sample-time error against the simulated truth (median, p99 and max of |error|, ms; the stack
latency common to both taken out as the whole fit's median offset), the lost samples counted
against the truth, and the CPU seconds of the alignment.

    python bench/align_window.py                          # 60 and 120 minutes, 7.5 and 15 ms
    python bench/align_window.py --minutes 30 --seeds 1 2 3 --conn-ms 7.5 30
    python bench/align_window.py --apart-us 20      # every notification stamped apart

The simulated links give the notifications of one connection event one receive time now and
then (13 % of them at 15 ms, 31 % at 30 ms), so their samples per receive time vary and the
reconstruction places losses with its receive-time step finder; ``--apart-us`` stamps them
apart, as a host with a fine clock does (each bleak callback on Linux or macOS), which puts
them on the connection-event clock (:mod:`imuhip.align.conn_events`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import numpy as np

from imuhip.align.offline import CONTEXT_S, WINDOW_S, OfflineAligner
from imuhip.decode import witmotion
from imuhip.decode.profile import get_profile
from imuhip.samples import ImuSamples
from imuhip.session import NotificationBlock, Notifications, SensorInfo, SessionHeader
from imuhip.sim.ble_timing import LinkSim, SimStream, simulate_link

RATE_HZ = 100.0
#: notifications per block fed to the aligner (about a second of data, as a file record)
BLOCK = 100
#: the rounds before they saw the clock fit's whole trailing window
BEFORE = {"window_s": 300.0, "history_s": 120.0}


def _header() -> SessionHeader:
    config = get_profile(witmotion.PROFILE).decoder_config(RATE_HZ, {})
    shin = SensorInfo("shin", witmotion.PROFILE, rate_hz=RATE_HZ, config=config)
    return SessionHeader("left", "prone", (shin,))


def bench_link(
    skew_ppm: float, conn_ms: float, minutes: float, seed: int, loss: float = 0.003
) -> SimStream:
    """The benches' SIMULATED link: ``skew_ppm`` against the host, 15 ppm of drift, a
    ``conn_ms`` connection interval, ``loss`` of the notifications lost (0.3 %), a reconnect
    (4 s) at 40 % of the ``minutes``."""
    dur = 60.0 * minutes
    cfg = LinkSim(
        skew_ppm=skew_ppm,
        drift_ppm=15.0,
        conn_interval_s=conn_ms / 1e3,
        loss_prob=loss,
        reconnect_at_s=0.4 * dur,
        reconnect_gap_s=4.0,
    )
    return simulate_link(cfg, dur, seed=seed)


def link_notifications(sim: SimStream, apart_s: float = 0.0) -> Notifications:
    """The link's notifications; with ``apart_s`` > 0 those the simulation gives one receive
    time (several in one connection event) are stamped that far apart, in order, as a host
    with a fine clock stamps each callback."""
    acc = np.tile([0.0, 0.0, 9.81], (len(sim.sample_true_t), 1))
    payloads = witmotion.encode_notifications(sim.sample_true_t, acc, sim.sample_gyro, RATE_HZ)
    h = sim.note_host_t
    if apart_s > 0:
        i = np.arange(len(h))
        first = np.maximum.accumulate(np.where(np.r_[True, np.diff(h) > 0], i, 0))
        h = h + (i - first) * apart_s
    return Notifications.from_list(h, payloads)


def _blocks(notes: Notifications) -> Iterator[Notifications]:
    for a in range(0, len(notes), BLOCK):
        b = min(a + BLOCK, len(notes))
        off = notes.offsets[a : b + 1]
        yield Notifications(
            notes.t[a:b], notes.channel[a:b], off - off[0], notes.payload[off[0] : off[-1]]
        )


def align_offline(notes: Notifications, **kw) -> tuple[ImuSamples, int, float]:
    """(samples, lost samples counted, CPU s) of the offline aligner (``kw``: its window
    arguments) fed ``notes`` in blocks."""
    c = time.process_time()
    al = OfflineAligner(_header(), **kw)
    got = []
    for part in _blocks(notes):
        al.notifications(NotificationBlock("shin", part))
        while (s := al.take("shin")) is not None:
            got.append(s)
    al.flush()
    while (s := al.take("shin")) is not None:
        got.append(s)
    cpu = time.process_time() - c
    return ImuSamples.concatenate(got), al.health()["shin"].lost_samples, cpu


def errors_ms(t: np.ndarray, truth: np.ndarray, offset: float) -> np.ndarray:
    """|error| (ms) of each sample time; where the count differs from the truth (a loss
    mis-counted) each time is compared with the nearest true sample time."""
    if len(t) == len(truth):
        return np.abs(t - truth - offset) * 1e3
    x = t - offset
    k = np.clip(np.searchsorted(truth, x), 1, len(truth) - 1)
    return np.minimum(np.abs(x - truth[k - 1]), np.abs(x - truth[k])) * 1e3


def _row(name: str, err: np.ndarray, lost: int, true_lost: int, cpu: float) -> str:
    return (
        f"  {name:<9} median {np.median(err):6.3f}  p99 {np.percentile(err, 99):6.3f}  "
        f"max {err.max():7.3f} ms   lost {lost:5d} (true {true_lost:5d})   CPU {cpu:5.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[60.0, 120.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--conn-ms", type=float, nargs="+", default=[7.5, 15.0])
    ap.add_argument(
        "--apart-us",
        type=float,
        default=0.0,
        help="stamp notifications of one connection event this far apart (µs), as a host "
        "with a fine clock does (default 0: as simulated, some share a receive time)",
    )
    args = ap.parse_args()
    print(
        f"offline aligner: rounds of {WINDOW_S:g} s ({CONTEXT_S:g} s of context after, the clock "
        "fit's window before) and as before (300 s, 120 s of history) against the whole-session "
        "fit. SIMULATED links, 100 Hz, one sample a notification."
    )
    for minutes in args.minutes:
        for conn_ms in args.conn_ms:
            for seed in args.seeds:
                sim = bench_link(-350.0, conn_ms, minutes, seed)
                notes = link_notifications(sim, args.apart_us * 1e-6)
                truth = sim.sample_true_t
                whole = align_offline(notes, window_s=None)
                t_w = whole[0].t
                offset = float(np.median(t_w - truth)) if len(t_w) == len(truth) else 0.0
                print(f"{minutes:g} min, connection interval {conn_ms:g} ms, seed {seed}:")
                for name, kw in (("whole", None), ("rounds", {}), ("before", BEFORE)):
                    s, lost, cpu = whole if kw is None else align_offline(notes, **kw)
                    err = errors_ms(s.t, truth, offset)
                    print(_row(name, err, lost, sim.lost_samples, cpu))


if __name__ == "__main__":
    main()
