"""Per-sensor sample streams of a session on the session's (host) time base.

Decoded samples (imports, simulations) are used as they are; raw notifications (live
recordings) go through the sensor profile's decoder, exactly as they did live, and are then put
on the host clock:

- profiles with sensor timestamps: the clock model of :mod:`imuhip.align.clock` maps each
  sample's sensor time to host time (drift tracked, clock resets start new segments);
- profiles without: :mod:`imuhip.align.reconstruct` rebuilds per-sample times from the nominal
  rate, the samples per notification and the receive times, counting lost samples; the decoded
  gyro (rad/s) is passed as the signal that places losses the receive times leave ambiguous
  (accelerometer values for accelerometer notifications that do not match the gyro's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from imuhip.align.channels import merge_channels
from imuhip.align.clock import ClockParams, fit_clock
from imuhip.align.conn_events import arrival_interval
from imuhip.align.reconstruct import Reconstruction, ReconstructParams, reconstruct_times
from imuhip.decode import DecodeStats, get_decoder
from imuhip.decode.base import Decoder
from imuhip.samples import ChannelBlock, ImuSamples
from imuhip.session import SAMPLES_PROFILE, Notifications, SensorInfo, Session


@dataclass(frozen=True)
class SensorStream:
    """Samples of one sensor plus how they were obtained.

    Attributes:
        role: sensor role.
        samples: merged samples on the session time base (host clock for live recordings).
        decoded: True when the samples came from raw notifications through a decoder.
        stats: decoder counters (None for stored samples).
        sensor_clock: True when ``samples.t`` are still sensor timestamps. Always False from
            :func:`sensor_streams`, which maps them to the host clock.
        timing: how ``samples.t`` were obtained: "stored", "sensor-clock" (mapped by the clock
            model) or "reconstructed" (rebuilt from receive times).
        lost_samples: samples found missing by the alignment (reconstruction only; for
            timestamped profiles gaps in the mapped times show them).
        segment_starts_s: host times (s), about where the first sample of each new clock
            segment lies (after a reset or reconnect; the first segment is not listed).
        received_rate_hz: samples received per second of streaming (silences over the
            reconstruction's restart gap left out) of a reconstructed stream; None otherwise.
            Far below the configured rate it means a sensor running slower than it was set
            to, or heavy losses (:func:`imuhip.pipeline.rate_warnings`).
        connection_interval_s: the BLE connection interval seen in the receive times of a
            reconstructed stream, s (None where not found, not told apart from the
            notification period, or not reconstructed; see
            :func:`imuhip.align.conn_events.arrival_interval`): sample times rebuilt from
            arrivals are only as good as it is short.
    """

    role: str
    samples: ImuSamples
    decoded: bool
    stats: DecodeStats | None
    sensor_clock: bool
    timing: str = "stored"
    lost_samples: int = 0
    segment_starts_s: tuple[float, ...] = ()
    connection_interval_s: float | None = None
    received_rate_hz: float | None = None


def decode_indexed(decoder: Decoder, notes: Notifications) -> tuple[list[ChannelBlock], np.ndarray]:
    """Blocks of every notification and, per block, the index of its notification.

    Feeds notifications one at a time (same result as ``decode_many`` by the decoder contract).
    """
    blocks: list[ChannelBlock] = []
    owner: list[int] = []
    payloads = notes.payloads()
    t = notes.t.tolist()
    ch = notes.channel.tolist()
    for i, data in enumerate(payloads):
        got = decoder.feed(data, t[i], int(ch[i]))
        blocks.extend(got)
        owner.extend([i] * len(got))
    return blocks, np.asarray(owner, np.int64)


def on_sensor_clock(
    blocks: list[ChannelBlock], owner: np.ndarray, host_t: np.ndarray, p: ClockParams
) -> tuple[list[ChannelBlock], tuple[float, ...]]:
    """Map sensor-clock blocks to host time with one clock model per sensor: ``owner`` gives
    each block's notification (index into ``host_t``, receive times in s); also the host times
    (s) where clock segments after the first start."""
    notes = np.unique(owner)
    last = np.full(len(host_t), -np.inf)
    for b, o in zip(blocks, owner.tolist(), strict=True):
        if len(b.t):
            last[o] = max(last[o], float(b.t[-1]))
    used = notes[np.isfinite(last[notes])]
    model = fit_clock(last[used], host_t[used], p)
    pair_of_note = np.full(len(host_t), -1, np.int64)
    pair_of_note[used] = np.arange(len(used))
    seg = model.segment_of(len(used))
    lens = [len(b.t) for b in blocks]
    all_t = np.concatenate([b.t for b in blocks]) if blocks else np.empty(0)
    sample_seg = np.repeat(seg[np.maximum(pair_of_note[owner], 0)], lens)
    mapped = model.to_host(all_t, sample_seg)
    out = []
    for b, piece in zip(blocks, np.split(mapped, np.cumsum(lens)[:-1]), strict=True):
        out.append(replace(b, t=piece, sensor_clock=False))
    starts = tuple(
        float(model.to_host(np.array([s.s0]), g)[0]) for g, s in enumerate(model.segments) if g
    )
    return out, starts


def _notification_runs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Receive times and sample counts of the notifications behind host-stamped samples
    (every sample of a notification carries its receive time; receive times increase)."""
    if len(t) == 0:
        return np.empty(0), np.empty(0, np.int64)
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    counts = np.diff(np.r_[starts, len(t)])
    return t[starts], counts


@dataclass(frozen=True)
class KindTimes:
    """Host-stamped blocks with rebuilt sample times (:func:`reconstruct_kinds`).

    Attributes:
        blocks: one block per channel kind, sample times rebuilt (s, host clock), samples in
            the order of the input (only those of the notifications received in the
            ``times_in`` asked for).
        h: (M,) receive times (s) of the gyro's notifications (None without gyro samples).
        counts: (M,) gyro samples in each of them.
        rec: the gyro's reconstruction (losses and segment starts index ``h``).
    """

    blocks: list[ChannelBlock]
    h: np.ndarray | None = None
    counts: np.ndarray | None = None
    rec: Reconstruction | None = None


def _reconstructed(
    blocks: list[ChannelBlock], rate_hz: float, p: ReconstructParams
) -> tuple[list[ChannelBlock], int, tuple[float, ...], float | None]:
    """Rebuild sample times of host-stamped blocks (:func:`reconstruct_kinds`); also the lost
    samples, segment start times (s) and connection interval (s) found in the gyro's."""
    kt = reconstruct_kinds(blocks, rate_hz, p)
    if kt.rec is None or kt.h is None or kt.counts is None:
        return kt.blocks, 0, (), None
    rec, counts = kt.rec, kt.counts
    first = np.r_[0, np.cumsum(counts)[:-1]]
    starts = tuple(float(rec.t[first[k]]) for k in rec.segment_starts[1:])
    return kt.blocks, rec.lost_samples, starts, arrival_interval(kt.h, p.events, rec.interval)


def reconstruct_kinds(
    blocks: list[ChannelBlock],
    rate_hz: float,
    p: ReconstructParams,
    times_in: tuple[float, float] | None = None,
) -> KindTimes:
    """Rebuild sample times of host-stamped blocks (each sample's ``t`` its notification's
    receive time, s), per channel kind (a kind whose notifications match an earlier kind's
    reuses its result). The gyro and accelerometer values are the signal for placing
    ambiguous losses (``p.use_signal``). ``times_in``: only the samples of notifications
    received in ``[from, to)`` (s) are returned, timed from all (:func:`reconstruct_times`).
    Empties ``blocks`` (the caller's list)."""
    out: list[ChannelBlock] = []
    gh = gcounts = grec = None
    # every kind's notifications first, so the blocks' per-sample receive times can go
    runs: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    first_t: np.ndarray | None = None  # the first kind's per-sample receive times
    for kind in ("gyr", "acc", "mag"):
        sel = [b for b in blocks if b.kind == kind and len(b.t)]
        if not sel:
            continue
        # one block (the vectorised decode): used as it is, not copied
        t = sel[0].t if len(sel) == 1 else np.concatenate([b.t for b in sel])
        values = sel[0].values if len(sel) == 1 else np.concatenate([b.values for b in sel])
        del sel
        if first_t is not None and np.array_equal(t, first_t):
            h, counts = runs[0][1], runs[0][2]  # the same samples' notifications (one packet)
        else:
            h, counts = _notification_runs(t)
            # a kind whose notifications match an earlier kind's shares its arrays (and result)
            same = [r for r in runs if np.array_equal(r[1], h) and np.array_equal(r[2], counts)]
            if same:
                h, counts = same[0][1], same[0][2]
        if first_t is None:
            first_t = t
        del t
        runs.append((kind, h, counts, values))
    del first_t
    blocks.clear()  # the caller's list: its receive times are not needed any more
    done: list[tuple[np.ndarray, Reconstruction]] = []  # (h, reconstruction)
    for kind, h, counts, values in runs:
        sig = values if p.use_signal and kind != "mag" else None
        rec = next((r for dh, r in done if dh is h), None) or reconstruct_times(
            h, counts, rate_hz, p, signal=sig, times_in=times_in
        )
        done.append((h, rec))
        a = rec.first_sample
        out.append(ChannelBlock(kind, rec.t, values[a : a + len(rec.t)], False))
        if kind == "gyr":
            gh, gcounts, grec = h, counts, rec
    return KindTimes(out, gh, gcounts, grec)


def received_rate(h: np.ndarray, n_samples: int, restart_gap_s: float) -> float | None:
    """Samples per second over the receive times ``h`` (s, sorted) of ``n_samples``
    samples, silences over ``restart_gap_s`` left out; None under a second of streaming."""
    dt = np.diff(h)
    active = float(dt[dt <= restart_gap_s].sum())
    return n_samples / active if active >= 1.0 else None


def timestamped(profile: str, config: dict, notes: Notifications) -> bool:
    """Whether the profile's samples carry sensor timestamps (judged on the first frames)."""
    probe = get_decoder(profile, config)
    head = min(len(notes), 64)
    payloads = [notes[i] for i in range(head)]
    blocks = probe.decode_many(notes.t[:head], payloads, notes.channel[:head])
    return any(b.sensor_clock for b in blocks)


def sensor_stream(
    info: SensorInfo,
    samples: ImuSamples | None,
    notes: Notifications | None,
    clock: ClockParams | None = None,
    reconstruct: ReconstructParams | None = None,
) -> SensorStream:
    """One sensor's samples on the host time base: ``samples`` as stored, or ``notes``
    decoded with the sensor's profile and put on the host clock (see the module docstring)."""
    cp = clock or ClockParams()
    rp = reconstruct or ReconstructParams(clock=cp)
    role = info.role
    if samples is not None or info.profile == SAMPLES_PROFILE:
        s = samples if samples is not None else ImuSamples.concatenate([])
        return SensorStream(role, s, False, None, False)
    config = {"rate_hz": info.rate_hz, **info.config}
    decoder = get_decoder(info.profile, config)
    if notes is None or len(notes) == 0:
        merged = merge_channels([])
        return SensorStream(role, merged.samples, True, decoder.stats, False)
    lost = 0
    starts: tuple[float, ...] = ()
    interval = rate = None
    if timestamped(info.profile, config, notes):
        # few notifications with many samples each: keep each block's notification
        timing = "sensor-clock"
        blocks, owner = decode_indexed(decoder, notes)
        ts = [i for i, b in enumerate(blocks) if b.sensor_clock]
        aligned, starts = on_sensor_clock([blocks[i] for i in ts], owner[ts], notes.t, cp)
        aligned += [b for b in blocks if not b.sensor_clock]
    else:
        # host-stamped samples: the vectorised decode keeps each sample's receive time
        timing = "reconstructed"
        blocks = decoder.decode_joined(notes.t, notes.payload, notes.offsets, notes.channel)
        aligned, lost, starts, interval = _reconstructed(blocks, info.rate_hz, rp)
    merged = merge_channels(aligned)
    if timing == "reconstructed":
        rate = received_rate(notes.t, len(merged.samples), rp.restart_gap_s)
    return SensorStream(
        role, merged.samples, True, decoder.stats, False, timing, lost, starts, interval, rate
    )


def sensor_streams(
    session: Session,
    clock: ClockParams | None = None,
    reconstruct: ReconstructParams | None = None,
) -> dict[str, SensorStream]:
    """Every sensor's samples on the host time base, decoding raw notifications where the
    session holds them (see the module docstring)."""
    return {
        info.role: sensor_stream(
            info,
            session.samples.get(info.role),
            session.notifications.get(info.role),
            clock,
            reconstruct,
        )
        for info in session.header.sensors
    }
