"""From simulated samples to the BLE notifications a real sensor would send, with the link's
timing: connection events, latency, jitter, retransmissions and lost packets.

Replaying such notifications runs the real vendor decoders and the time alignment, exactly as a
live recording would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.decode import polar_pmd, witmotion
from imuhip.decode.profile import get_profile
from imuhip.samples import ImuSamples
from imuhip.session import Notifications

#: Profiles the simulator can speak.
SIM_PROFILES: tuple[str, ...] = ("samples", witmotion.PROFILE, polar_pmd.PROFILE)

#: Seconds from the PMD epoch (2000-01-01) to the simulated sensor's clock start (~2026).
_PMD_CLOCK_START_S = 8.4e8


@dataclass(frozen=True)
class LinkModel:
    """Timing of a BLE connection as seen by the host.

    Attributes:
        connection_interval_s: time between connection events; notifications wait for the
            next event (7.5–50 ms in practice).
        latency_s: fixed host stack latency after the event, seconds.
        jitter_s: SD of the additional (half-normal) scheduling delay, seconds.
        retransmit_prob: probability that a notification misses its event and goes in a later
            one (each further event with the same probability).
        loss_prob: probability that a notification starts a run of lost notifications.
        loss_burst: mean number of notifications lost in a run.
    """

    connection_interval_s: float = 0.015
    latency_s: float = 0.003
    jitter_s: float = 0.0007
    retransmit_prob: float = 0.02
    loss_prob: float = 0.0
    loss_burst: float = 3.0


def receive_times(
    t_send: np.ndarray, link: LinkModel, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Host receive times (seconds) of notifications sent at ``t_send``, and a mask of those
    that arrive. Order is preserved (BLE delivers in order) and times strictly increase."""
    n = len(t_send)
    ci = link.connection_interval_s
    if ci > 0:
        phase = rng.uniform(0, ci)
        event = phase + np.ceil((t_send - phase) / ci) * ci
        extra = rng.geometric(1 - link.retransmit_prob, n) - 1 if link.retransmit_prob else 0
        event = event + extra * ci
    else:
        event = t_send.astype(float).copy()
    t = event + link.latency_s + np.abs(rng.normal(0, link.jitter_s, n))
    t = np.maximum.accumulate(t)
    # notifications delivered in one connection event reach the application 20 µs apart
    t = _strictly_increasing(t, 2e-5)
    keep = np.ones(n, bool)
    if link.loss_prob > 0:
        starts = np.flatnonzero(rng.random(n) < link.loss_prob)
        for s in starts:
            keep[s : s + rng.geometric(1 / max(link.loss_burst, 1.0))] = False
    return t, keep


def _strictly_increasing(t: np.ndarray, step: float) -> np.ndarray:
    ramp = step * np.arange(len(t))
    return np.maximum.accumulate(t - ramp) + ramp


def encode(
    profile: str,
    samples: ImuSamples,
    rate_hz: float,
    link: LinkModel,
    rng: np.random.Generator,
) -> tuple[Notifications, dict]:
    """Notifications (with host receive times) a sensor of ``profile`` sends for ``samples``
    (whose times are the true sampling instants on the session's time base), and the decoder
    configuration for the session header.

    WitMotion: one 20-byte frame per sample, no timestamps. Polar PMD: delta-compressed ACC
    and GYRO frames stamped by the sensor's own clock (which counts its samples at the nominal
    rate while really running ``clock_ppm`` fast or slow), sent when their last sample is taken,
    preceded by the start responses on the control point (channel 1) that carry the factors.
    """
    config = get_profile(profile).decoder_config(rate_hz, {})
    if profile == witmotion.PROFILE:
        payloads = witmotion.encode_notifications(samples.t, samples.acc, samples.gyr, rate_hz)
        t_host, keep = receive_times(samples.t, link, rng)
        kept = [p for p, k in zip(payloads, keep, strict=True) if k]
        return Notifications.from_list(t_host[keep], kept), config
    if profile == polar_pmd.PROFILE:
        t_sensor = _PMD_CLOCK_START_S + rng.uniform(0, 1e3) + np.arange(len(samples)) / rate_hz
        frames = polar_pmd.encode_notifications(
            t_sensor, samples.acc, samples.gyr, rate_hz, compressed=True
        )
        sent = np.interp([f.t for f in frames], t_sensor, samples.t)
        t_host, keep = receive_times(sent, link, rng)
        t0 = t_host[0] - 0.4
        responses = [polar_pmd.encode_start_response(k) for k in ("acc", "gyr")]
        t_all = np.concatenate([[t0, t0 + 0.2], t_host[keep]])
        channel = np.concatenate(
            [[1, 1], [f.channel for f, k in zip(frames, keep, strict=True) if k]]
        )
        payloads = responses + [f.data for f, k in zip(frames, keep, strict=True) if k]
        return Notifications.from_list(t_all, payloads, channel), config
    raise ValueError(
        f"the simulator cannot encode profile {profile!r}; choose one of {', '.join(SIM_PROFILES)}"
    )


def sampling_rate(profile: str, rate_hz: float) -> float:
    """The rate a sensor of ``profile`` really runs at when asked for ``rate_hz``."""
    if profile == "samples":
        return rate_hz
    return get_profile(profile).nearest_rate(rate_hz)
