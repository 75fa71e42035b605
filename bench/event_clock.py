"""Sample-time error of the offline aligner on SIMULATED links stamped by a fine host clock,
with the connection-event count and without it (the receive-time method alone), in one run.

A host with a fine clock (bleak's callbacks on Linux or macOS; Windows since imuhip stamps
with ``time.perf_counter`` there) stamps every notification apart, so a timestamp-less sensor's
losses are counted on the connection-event clock (:mod:`imuhip.align.conn_events`). For each
connection interval and crystal skew (sensor against the host; the controller's clock is
another 20 ppm off, and the rate difference drifts by 15 ppm over 20 minutes), one hour of a
SIMULATED WitMotion-like link at 100 Hz (one sample a notification, 0.3 % of notifications
lost or ``--loss``, a reconnect at 40 %) goes through the offline aligner in its rounds; this
prints the |error| of every sample time against the simulated truth (median, p99, max; the
stack latency common to all taken out), the share over 5 ms and the lost samples counted
against the truth.

    python bench/event_clock.py                    # 15, 30 and 45 ms; 8 skews; seed 1
    python bench/event_clock.py --conn-ms 15 --skews -350 350 --seeds 1 2 3
    python bench/event_clock.py --skews -350 350 --seeds 1 2 --loss 0.01   # heavy loss
"""

from __future__ import annotations

import argparse

import numpy as np

from align_window import align_offline, bench_link, errors_ms, link_notifications
from imuhip.align.conn_events import EventParams
from imuhip.align.reconstruct import ReconstructParams

RECEIVE_TIME_ONLY = ReconstructParams(events=EventParams(enabled=False))


def _row(name: str, err: np.ndarray, lost: int, true_lost: int) -> str:
    return (
        f"    {name:<13} median {np.median(err):5.2f}  p99 {np.percentile(err, 99):6.2f}  "
        f"max {err.max():6.2f} ms  over 5 ms {100 * np.mean(err > 5.0):5.2f} %   "
        f"lost {lost:5d} (true {true_lost})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conn-ms", type=float, nargs="+", default=[15.0, 30.0, 45.0])
    ap.add_argument(
        "--skews", type=float, nargs="+", default=[-350, -120, -30, -10, 10, 30, 120, 350]
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--loss", type=float, default=0.003, help="share of notifications lost")
    args = ap.parse_args()
    print(
        "offline aligner (rounds) on SIMULATED links, every notification stamped apart "
        f"(20 µs), 100 Hz, {100 * args.loss:g} % lost; |sample-time error| against the "
        "simulated truth"
    )
    every: dict[str, list[np.ndarray]] = {"event clock": [], "receive time": []}
    for conn_ms in args.conn_ms:
        for skew in args.skews:
            for seed in args.seeds:
                sim = bench_link(skew, conn_ms, args.minutes, seed, args.loss)
                notes = link_notifications(sim, 20e-6)
                truth = sim.sample_true_t
                print(f"  {conn_ms:g} ms, skew {skew:+g} ppm, seed {seed}:")
                offset = None
                for name, rp in (("event clock", None), ("receive time", RECEIVE_TIME_ONLY)):
                    s, lost, _ = align_offline(notes, reconstruct=rp)
                    if offset is None:  # the stack latency: the event clock's median error
                        n = len(truth) if len(s.t) == len(truth) else min(len(s.t), 1000)
                        offset = float(np.median(s.t[:n] - truth[:n]))
                    err = errors_ms(s.t, truth, offset)
                    every[name].append(err)
                    print(_row(name, err, lost, sim.lost_samples))
    print("all links:")
    for name, errs in every.items():
        e = np.concatenate(errs)
        print(
            f"  {name:<13} median {np.median(e):5.2f}  p99 {np.percentile(e, 99):6.2f} ms  "
            f"over 5 ms {100 * np.mean(e > 5.0):5.2f} %"
        )


if __name__ == "__main__":
    main()
