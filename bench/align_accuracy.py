"""Time-alignment accuracy and speed on SIMULATED two-sensor 100 Hz BLE links.

All figures come from :mod:`imuhip.sim.ble_timing` (simulated crystals, connection events,
jitter, bursts, outliers, stalls, losses and a reconnect with clock reset), not from hardware.

Prints, for a 10-minute session in each mode (sensor timestamps -> clock model; no timestamps
-> reconstruction from receive times only; no timestamps -> reconstruction with the sensor's
SIMULATED gyro as the signal that places ambiguous losses), the per-sensor error of the
recovered sample times against the simulated truth (median, p99 and max of |error|, ms), the
thigh-vs-shin relative error with its max split by whether the simulated leg was moving
(both sensors share one SIMULATED motion: sums of 0.2-3 Hz sinusoids with rest periods) or
still, and the lost-sample count found vs simulated; then
the batch throughput (seconds per hour of two-sensor data). With ``--seeds S1 S2 ...`` the
accuracy part is repeated for each seed (the throughput uses the first) and a summary table of
the two reconstruction modes closes the accuracy part. The timestamp-less links use a 7.5 ms
connection interval; ``--conn-ms`` repeats their two modes at other intervals (e.g. 30 45 50:
whole or half sample periods, where the losses are counted on the connection-event clock).
Run: ``python bench/align_accuracy.py [--minutes M] [--seeds S ...] [--conn-ms MS ...]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from imuhip.align.clock import ClockParams, fit_clock
from imuhip.align.reconstruct import ReconstructParams, reconstruct_times
from imuhip.sim.ble_timing import LinkSim, SimStream, simulate_link

THIGH = LinkSim(skew_ppm=310.0, drift_ppm=20.0, conn_interval_s=0.015, conn_skew_ppm=20.0)
SHIN = LinkSim(
    skew_ppm=-480.0,
    drift_ppm=15.0,
    conn_interval_s=0.030,
    conn_skew_ppm=-10.0,
    reconnect_at_s=280.0,
    reconnect_gap_s=4.0,
    reset_to_s=0.25,
)
# timestamp-less sensors (WitMotion-like: one sample per notification, short interval)
THIGH_NT = LinkSim(skew_ppm=310.0, drift_ppm=20.0, conn_interval_s=0.0075)
SHIN_NT = LinkSim(
    skew_ppm=-350.0,
    drift_ppm=15.0,
    conn_interval_s=0.0075,
    reconnect_at_s=280.0,
    reconnect_gap_s=4.0,
)


def _clock(sim: SimStream, cfg: LinkSim) -> tuple[np.ndarray, int]:
    p = ClockParams(latency_floor_s=cfg.stack_floor_s)
    m = fit_clock(sim.note_sensor_t, sim.note_host_t, p)
    seg = m.segment_of(len(sim.note_host_t))
    return m.to_host(sim.sample_sensor_t, seg[sim.sample_note]), -1


def _recon(sim: SimStream, cfg: LinkSim) -> tuple[np.ndarray, int]:
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    r = reconstruct_times(sim.note_host_t, sim.note_count, cfg.rate_hz, rp)
    return r.t, r.lost_samples


def _recon_sig(sim: SimStream, cfg: LinkSim) -> tuple[np.ndarray, int]:
    rp = ReconstructParams(clock=ClockParams(latency_floor_s=cfg.stack_floor_s))
    r = reconstruct_times(sim.note_host_t, sim.note_count, cfg.rate_hz, rp, sim.sample_gyro)
    return r.t, r.lost_samples


def _fmt(err: np.ndarray) -> str:
    a = np.abs(err) * 1e3
    return f"median {np.median(a):6.2f}  p99 {np.percentile(a, 99):6.2f}  max {a.max():7.2f} ms"


def _mode(name, fn, cfgs, minutes, seed) -> dict[str, float]:
    print(f"{name} (SIMULATED, {minutes:g} min, 100 Hz)")
    errs, sims, lost_all = [], [], []
    for role, cfg, k in zip(("thigh", "shin"), cfgs, (0, 1), strict=True):
        sim = simulate_link(cfg, minutes * 60, seed + k, motion_seed=seed)  # one leg
        t, lost = fn(sim, cfg)
        err = t - sim.sample_true_t
        errs.append(err)
        sims.append(sim)
        lost_all.append((lost, sim.lost_samples))
        extra = "" if lost < 0 else f"  lost {lost} (simulated {sim.lost_samples})"
        print(f"  {role:5s} {_fmt(err)}{extra}")
    e_s = np.interp(sims[0].sample_true_t, sims[1].sample_true_t, errs[1])
    rel = np.abs(errs[0] - e_s) * 1e3
    # moving: the leg (both sensors share the motion) in a motion period, ramps included
    mv = sims[0].sample_moving
    print(f"  thigh-vs-shin {_fmt(errs[0] - e_s)}")
    print(f"    max while moving {rel[mv].max():7.2f} ms   while still {rel[~mv].max():7.2f} ms")
    return {
        "median": float(np.median(rel)),
        "p99": float(np.percentile(rel, 99)),
        "max": float(rel.max()),
        "moving": float(rel[mv].max()),
        "still": float(rel[~mv].max()),
        "lost": f"{lost_all[0][0]}/{lost_all[0][1]} {lost_all[1][0]}/{lost_all[1][1]}",
    }


def _throughput(seed: int) -> None:
    hour = 3600.0
    sims = [simulate_link(c, hour, seed + k) for k, c in enumerate((THIGH, SHIN))]
    t0 = time.perf_counter()
    for sim, cfg in zip(sims, (THIGH, SHIN), strict=True):
        _clock(sim, cfg)
    t_clock = time.perf_counter() - t0
    sims = [simulate_link(c, hour, seed + k) for k, c in enumerate((THIGH_NT, SHIN_NT))]
    t0 = time.perf_counter()
    for sim, cfg in zip(sims, (THIGH_NT, SHIN_NT), strict=True):
        _recon(sim, cfg)
    t_rec = time.perf_counter() - t0
    t0 = time.perf_counter()
    for sim, cfg in zip(sims, (THIGH_NT, SHIN_NT), strict=True):
        _recon_sig(sim, cfg)
    t_sig = time.perf_counter() - t0
    print("throughput (batch, one hour of two-sensor 100 Hz data)")
    print(f"  clock model                     {t_clock:.3f} s per hour")
    print(f"  reconstruction, timing only     {t_rec:.3f} s per hour")
    print(f"  reconstruction, timing + signal {t_sig:.3f} s per hour")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--conn-ms", type=float, nargs="+", default=[7.5])
    a = ap.parse_args()
    rows = []
    for seed in a.seeds:
        print(f"seed {seed}")
        _mode("sensor timestamps -> clock model", _clock, (THIGH, SHIN), a.minutes, seed)
        for ms in a.conn_ms:
            nt = tuple(replace(c, conn_interval_s=ms / 1000.0) for c in (THIGH_NT, SHIN_NT))
            tag = f" (connection interval {ms:g} ms)"
            r0 = _mode(
                "no timestamps -> reconstruction, timing only" + tag, _recon, nt, a.minutes, seed
            )
            r1 = _mode(
                "no timestamps -> reconstruction, timing + signal" + tag,
                _recon_sig,
                nt,
                a.minutes,
                seed,
            )
            rows += [(seed, ms, "timing only", r0), (seed, ms, "timing + signal", r1)]
    print("\nno timestamps, thigh-vs-shin |error| (SIMULATED), ms; lost found/simulated thigh shin")
    head = ("median", "p99", "max", "moving", "still")
    print(f"{'seed':>4} {'CI ms':>5} {'mode':16} " + " ".join(f"{h:>7}" for h in head) + "  lost")
    for seed, ms, mode, r in rows:
        print(
            f"{seed:4d} {ms:5g} {mode:16} {r['median']:7.2f} {r['p99']:7.2f} {r['max']:7.2f} "
            f"{r['moving']:7.2f} {r['still']:7.2f}  {r['lost']}"
        )
    _throughput(a.seeds[0])


if __name__ == "__main__":
    main()
