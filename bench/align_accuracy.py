"""Time-alignment accuracy and speed on SIMULATED two-sensor 100 Hz BLE links.

All figures come from :mod:`imuhip.sim.ble_timing` (simulated crystals, connection events,
jitter, bursts, outliers, stalls, losses and a reconnect with clock reset), not from hardware.

Prints, for a 10-minute session in both modes (sensor timestamps -> clock model; no timestamps
-> reconstruction), the per-sensor error of the recovered sample times against the simulated
truth (median, p99 and max of |error|, ms), the thigh-vs-shin relative error, and the lost-sample
count found vs simulated; then the batch throughput (seconds per hour of two-sensor data).
With ``--seeds S1 S2 ...`` the accuracy part is repeated for each seed (the throughput uses
the first). Run: ``python bench/align_accuracy.py [--minutes M] [--seeds S ...]``.
"""

from __future__ import annotations

import argparse
import time

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


def _fmt(err: np.ndarray) -> str:
    a = np.abs(err) * 1e3
    return f"median {np.median(a):6.2f}  p99 {np.percentile(a, 99):6.2f}  max {a.max():7.2f} ms"


def _mode(name, fn, cfgs, minutes, seed) -> None:
    print(f"{name} (SIMULATED, {minutes:g} min, 100 Hz)")
    errs, sims = [], []
    for role, cfg, k in zip(("thigh", "shin"), cfgs, (0, 1), strict=True):
        sim = simulate_link(cfg, minutes * 60, seed + k)
        t, lost = fn(sim, cfg)
        err = t - sim.sample_true_t
        errs.append(err)
        sims.append(sim)
        extra = "" if lost < 0 else f"  lost {lost} (simulated {sim.lost_samples})"
        print(f"  {role:5s} {_fmt(err)}{extra}")
    e_s = np.interp(sims[0].sample_true_t, sims[1].sample_true_t, errs[1])
    print(f"  thigh-vs-shin {_fmt(errs[0] - e_s)}")


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
    print("throughput (batch, one hour of two-sensor 100 Hz data)")
    print(f"  clock model     {t_clock:.3f} s per hour")
    print(f"  reconstruction  {t_rec:.3f} s per hour")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    a = ap.parse_args()
    for seed in a.seeds:
        print(f"seed {seed}")
        _mode("sensor timestamps -> clock model", _clock, (THIGH, SHIN), a.minutes, seed)
        _mode("no timestamps -> reconstruction", _recon, (THIGH_NT, SHIN_NT), a.minutes, seed)
    _throughput(a.seeds[0])


if __name__ == "__main__":
    main()
