"""SIMULATED sample and notification timing of a BLE IMU, for testing time alignment.

Models, all on one host monotonic clock (seconds):

- the sensor samples on its own crystal, ``skew_ppm`` fast (positive) or slow, drifting slowly
  (``drift_ppm`` amplitude, sinusoidal over ``drift_period_s``); the sensor clock reads
  ``sensor_t0 + k / rate_hz`` at sample ``k`` (its idea of time);
- a notification carries ``samples_per_note`` samples and is queued when its last sample is
  taken; some are dropped on the sensor (``loss_prob`` per notification, runs of 1..3);
- the link delivers queued notifications at connection events every ``conn_interval_s`` (on the
  central's controller clock, ``conn_skew_ppm`` off the host), in order; a packet is
  retransmitted with probability ``retransmit_prob`` (one or more events later, holding up the
  packets behind it);
- the host stack adds ``stack_floor_s`` plus exponential jitter, a small spacing between packets
  of the same connection event, rare heavy-tailed (Pareto) delays and rare stalls;
- optionally a reconnect: streaming stops for ``reconnect_gap_s`` at ``reconnect_at_s`` and
  resumes with the sensor clock reset to ``reset_to_s`` (or continued, when None) and a new
  connection-event phase;
- what the samples hold (:func:`motion_gyro`): a smooth random body rate (sums of sinusoids of
  0.2-3 Hz, switched on and off with smooth ramps so there are rest periods) plus white noise
  like a consumer gyro's (0.08 °/s), quantised to int16 steps of ±2000 °/s, sampled at the
  true sample times. It uses its own random stream, so the timing does not depend on it.

This is not a radio simulator; it produces the timing patterns the alignment must cope with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Gyro white noise of the simulated signal, rad/s (0.08 °/s per sample).
GYRO_NOISE_RAD_S = np.deg2rad(0.08)
#: Quantisation step of the simulated signal, rad/s (int16 over ±2000 °/s).
GYRO_LSB_RAD_S = np.deg2rad(2000.0) / 32768.0


@dataclass(frozen=True)
class LinkSim:
    """Parameters of one simulated sensor link (see the module docstring). Seconds, Hz, ppm."""

    rate_hz: float = 100.0
    samples_per_note: int = 1
    skew_ppm: float = 300.0
    drift_ppm: float = 20.0
    drift_period_s: float = 1200.0
    sensor_t0: float = 1000.0
    start_s: float = 5.0
    conn_interval_s: float = 0.015
    conn_skew_ppm: float = 20.0
    stack_floor_s: float = 0.003
    stack_jitter_s: float = 0.0007
    burst_spacing_s: float = 0.0002
    retransmit_prob: float = 0.01
    outlier_prob: float = 0.003
    outlier_scale_s: float = 0.005
    stall_rate_hz: float = 0.01
    stall_s: float = 0.15
    loss_prob: float = 0.002
    reconnect_at_s: float | None = None
    reconnect_gap_s: float = 3.0
    reset_to_s: float | None = 0.5


@dataclass(frozen=True)
class SimStream:
    """What the host sees, plus the truth.

    Attributes:
        note_host_t: (M,) host receive time of each delivered notification.
        note_sensor_t: (M,) sensor-clock time of each notification's last sample.
        note_count: (M,) samples in each notification.
        sample_true_t: (N,) true host-clock time each delivered sample was taken.
        sample_sensor_t: (N,) sensor-clock time of each delivered sample.
        sample_note: (N,) index of the notification that carried each sample.
        sample_index: (N,) sample number within its streaming segment (counting lost ones).
        lost_samples: samples sent in notifications that never arrived.
        segment_start_note: notification index where streaming resumed after the reconnect
            (or -1).
        sample_gyro: (N, 3) simulated gyro reading of each delivered sample, rad/s
            (:func:`motion_gyro` at ``sample_true_t``).
        sample_moving: (N,) whether the simulated body was moving at each delivered sample
            (inside a motion period, ramps included).
    """

    note_host_t: np.ndarray
    note_sensor_t: np.ndarray
    note_count: np.ndarray
    sample_true_t: np.ndarray
    sample_sensor_t: np.ndarray
    sample_note: np.ndarray
    sample_index: np.ndarray
    lost_samples: int
    segment_start_note: int
    sample_gyro: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    sample_moving: np.ndarray = field(default_factory=lambda: np.empty(0, bool))


def motion_gyro(
    t: np.ndarray,
    seed: int,
    t0: float = 0.0,
    t1: float | None = None,
    peak_rad_s: float = 2.0,
    noise_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A SIMULATED smooth body rate with rest periods, as a gyro reads it.

    Motion periods of 5-30 s alternate with rests of 3-20 s (cosine ramps of 0.5 s); during
    motion each axis is a sum of four sinusoids of 0.2-3 Hz with random phases, scaled so the
    largest axis peaks near ``peak_rad_s``. White noise :data:`GYRO_NOISE_RAD_S` is added and
    the result quantised to :data:`GYRO_LSB_RAD_S`.

    Args:
        t: (N,) sample times, s (the true times the sensor sampled).
        seed: random seed of the motion (schedule and waveform).
        t0, t1: span the motion schedule covers, s (default: that of ``t``).
        peak_rad_s: rough peak body rate, rad/s.
        noise_seed: random seed of the noise (default: ``seed``); two sensors on one leg share
            the motion seed and differ in noise.

    Returns:
        (N, 3) gyro readings, rad/s, and (N,) whether each sample lies in a motion period.
    """
    rng = np.random.default_rng([seed, 0x6D6F76])
    t = np.asarray(t, np.float64)
    if t1 is None:
        t1 = float(t.max()) if len(t) else t0
    # motion schedule: (start, end) of each motion period
    edges, x, moving = [], float(t0) + rng.uniform(0.0, 5.0), True
    while x < t1:
        d = rng.uniform(5.0, 30.0) if moving else rng.uniform(3.0, 20.0)
        if moving:
            edges.append((x, x + d))
        x += d
        moving = not moving
    env = np.zeros(len(t))
    ramp = 0.5
    for a, b in edges:
        up = np.clip((t - a) / ramp, 0.0, 1.0)
        down = np.clip((b - t) / ramp, 0.0, 1.0)
        env = np.maximum(env, 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down)))
    f = rng.uniform(0.2, 3.0, (4, 3))
    ph = rng.uniform(0.0, 2 * np.pi, (4, 3))
    amp = rng.uniform(0.2, 1.0, (4, 3)) / f  # slower components move more (bounded accel.)
    amp *= peak_rad_s / amp.sum(axis=0).max()
    w = np.einsum("ka,nka->na", amp, np.sin(2 * np.pi * f * t[:, None, None] + ph))
    noise = np.random.default_rng([seed if noise_seed is None else noise_seed, 0x6E6F69])
    g = env[:, None] * w + noise.normal(0.0, GYRO_NOISE_RAD_S, (len(t), 3))
    return np.round(g / GYRO_LSB_RAD_S) * GYRO_LSB_RAD_S, env > 0


def _piece(
    cfg: LinkSim, rng: np.random.Generator, t_start: float, t_end: float, sensor_start: float
) -> dict[str, np.ndarray | int]:
    n_per = cfg.samples_per_note
    period = 1.0 / cfg.rate_hz
    n_notes = int((t_end - t_start) * cfg.rate_hz / n_per)
    n = n_notes * n_per
    k = np.arange(n)
    t_nom = t_start + k * period
    ppm = cfg.skew_ppm + cfg.drift_ppm * np.sin(2 * np.pi * t_nom / cfg.drift_period_s)
    # sensor clock advances `period` per sample; host time per sample = period / (1 + ppm)
    dt = period / (1.0 + ppm * 1e-6)
    true_t = t_start + np.concatenate([[0.0], np.cumsum(dt[:-1])])
    sensor_t = sensor_start + k * period
    last = np.arange(n_per - 1, n, n_per)
    send = true_t[last]
    # losses on the sensor: runs of 1..3 notifications
    lost = np.zeros(n_notes, bool)
    starts = np.flatnonzero(rng.random(n_notes) < cfg.loss_prob)
    for s0 in starts.tolist():
        lost[s0 : s0 + int(rng.integers(1, 4))] = True
    # connection events on the controller's clock
    ci = cfg.conn_interval_s * (1.0 + cfg.conn_skew_ppm * 1e-6)
    phase = rng.uniform(0, ci)
    ev = np.ceil((send - t_start - phase) / ci)
    ev += np.where(rng.random(n_notes) < cfg.retransmit_prob, rng.geometric(0.5, n_notes), 0)
    ev = np.maximum.accumulate(ev)
    event_t = t_start + phase + ev * ci
    # position within the burst of the same connection event
    new_ev = np.r_[True, ev[1:] != ev[:-1]]
    grp = np.cumsum(new_ev) - 1
    first_of = np.flatnonzero(new_ev)
    pos = np.arange(n_notes) - first_of[grp]
    host = (
        event_t
        + cfg.stack_floor_s
        + rng.exponential(cfg.stack_jitter_s, n_notes)
        + pos * cfg.burst_spacing_s
    )
    out_mask = rng.random(n_notes) < cfg.outlier_prob
    host[out_mask] += cfg.outlier_scale_s * (rng.pareto(1.5, int(out_mask.sum())) + 1.0)
    # host stalls: everything that would arrive during one is delivered at its end
    n_stall = rng.poisson(cfg.stall_rate_hz * (t_end - t_start))
    for a in rng.uniform(t_start, t_end, n_stall).tolist():
        d = cfg.stall_s * rng.lognormal(0, 0.5)
        m = (host >= a) & (host < a + d)
        host[m] = a + d + rng.exponential(cfg.stack_jitter_s, int(m.sum()))
    host = np.maximum.accumulate(host)  # in-order delivery
    keep = ~lost
    note_idx = np.cumsum(keep) - 1
    sample_keep = np.repeat(keep, n_per)
    return {
        "note_host_t": host[keep],
        "note_sensor_t": sensor_t[last][keep],
        "note_count": np.full(int(keep.sum()), n_per, np.int64),
        "sample_true_t": true_t[sample_keep],
        "sample_sensor_t": sensor_t[sample_keep],
        "sample_note": np.repeat(note_idx, n_per)[sample_keep],
        "sample_index": k[sample_keep],
        "lost": int(lost.sum()) * n_per,
        "end": (float(true_t[-1]), float(sensor_t[-1]), float(ppm[-1])),
    }


def simulate_link(
    cfg: LinkSim, duration_s: float, seed: int, motion_seed: int | None = None
) -> SimStream:
    """Simulate ``duration_s`` seconds of streaming from ``cfg.start_s`` (host clock); the
    samples' body motion uses ``motion_seed`` (default ``seed``: give two links the same one
    for two sensors on one moving leg)."""
    rng = np.random.default_rng(seed)
    t0 = cfg.start_s
    t1 = t0 + duration_s
    if cfg.reconnect_at_s is None:
        pieces = [_piece(cfg, rng, t0, t1, cfg.sensor_t0)]
        seg_start = -1
    else:
        r0 = t0 + cfg.reconnect_at_s
        a = _piece(cfg, rng, t0, r0, cfg.sensor_t0)
        r1 = r0 + cfg.reconnect_gap_s
        if cfg.reset_to_s is None:
            # clock kept running: sensor reading at r1, counted at the sensor's rate
            t_last, s_last, ppm_last = a["end"]  # type: ignore[misc]
            sensor_r1 = s_last + (r1 - t_last) * (1.0 + ppm_last * 1e-6)
        else:
            sensor_r1 = cfg.reset_to_s
        b = _piece(cfg, rng, r1, t1, sensor_r1)
        b["sample_note"] = b["sample_note"] + len(a["note_host_t"])  # type: ignore[operator]
        pieces = [a, b]
        seg_start = len(a["note_host_t"])  # type: ignore[arg-type]
    cat = {
        k: np.concatenate([p[k] for p in pieces])  # type: ignore[misc]
        for k in pieces[0]
        if k not in ("lost", "end")
    }
    ms = seed if motion_seed is None else motion_seed
    gyro, moving = motion_gyro(cat["sample_true_t"], ms, t0, t1, noise_seed=seed)
    return SimStream(
        cat["note_host_t"],
        cat["note_sensor_t"],
        cat["note_count"],
        cat["sample_true_t"],
        cat["sample_sensor_t"],
        cat["sample_note"],
        cat["sample_index"],
        int(sum(int(p["lost"]) for p in pieces)),  # type: ignore[call-overload]
        seg_start,
        gyro,
        moving,
    )
