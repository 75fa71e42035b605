"""Sensor faults against a different world: imuhip's real BLE path (bleak over bumble, the
connection manager, the recorder) against sensor peripherals written independently of its own
virtual sensors (``tests/peripherals``: minimal GATT servers from the vendor protocol notes,
bumble APIs only), each in a process of its own, on a radio hub process reached over TCP on
127.0.0.1 (``--ble bumble:tcp-client:127.0.0.1:PORT``).

Every test is bounded in time, its processes are ended by the fixture (SIGTERM, then SIGKILL)
and its random faults are seeded. The soak runs a short accelerated session by default;
``IMUHIP_SOAK_MINUTES=30`` runs the full 30 minutes of sensor time at 20x.

WitMotion and Polar (and the Thingy:52 on a first connection) run every scenario. Movesense,
MetaMotion and Movella DOT run a subset, the three sensors in one recording per scenario to
keep the time down: vanish and reconnect, look-alike addresses, garbage, and one recording
with a stall (MetaMotion) and an MTU change (Movesense, DOT). Not the soak: it measures the
recorder's memory under notifications and reconnections, the same code for every family,
and at 20x these families would send thousands of notifications a second on a 2-core
machine (one notification per sample for the DOT and MetaMotion); nor the first-connection
test: none of them streams under an old configuration before the host's is in effect
(their peripherals start with a saved rate other than the one asked for, and the tests check
that only the asked rate was ever streamed).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from imuhip.sources.ble.connection import Assignment
from tests.peripherals import movella_dot
from tests.peripherals.movesense import values
from tests.peripherals.tags import read_tag as tag
from tests.peripherals.thingy import counters as thingy_counters
from tests.peripherals.world import (
    OTHERS,
    POLAR,
    POLAR_ADDRESS,
    SUPERVISION_S,
    TAIL,
    THINGY,
    THINGY_ADDRESS,
    WIT,
    WIT_ADDRESS,
    Sensor,
    World,
    events,
    got_of,
    left_out,
    polar_samples,
    sent_indices,
    soak,
    vanish_both,
    vanish_others,
    wit_decode,
    wit_frames,
)


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    try:
        yield w
    finally:
        w.close()


# ------------------------------------------------------------------------------ the tests


def test_a_sensor_gone_for_5_s_is_reconnected_its_gap_marked_nothing_else_lost(world):
    """Both families vanish for 5 s (process ended: no LL terminate; the hub reports the loss
    after a 0.5 s supervision timeout) and come back as new processes: each is connected again
    within 3 s of advertising, the gap is marked, and every sample sent outside it is in the
    file (WitMotion: all but those left out before the rate read-back, which are counted)."""
    v = vanish_both(world, away_s=5.0)
    s = v.session
    assert s.report.ok
    figures = []
    for role in ("shin", "thigh"):
        lost, restored = events(s, "connection_lost", role), events(s, "connection_restored", role)
        assert len(lost) == 1 and len(restored) == 1, s.events
        # the gap runs from when the loss was noticed to the reconnection
        assert restored[0].data["gap_s"] == pytest.approx(restored[0].t - lost[0].t, abs=1e-3)
        assert restored[0].data["gap_s"] > 5.0 - SUPERVISION_S - 0.2
        noticed, reconnected = v.noticed_s(role), v.reconnected_s(role)
        figures.append(
            f"{role}: loss noticed after {noticed:.2f} s, reconnected {reconnected:.2f} s after "
            "it advertised again"
        )
        assert SUPERVISION_S - 0.05 < noticed < SUPERVISION_S + 1.2
        assert 0 < reconnected < 3.0
        assert v.status[role].connects == 2
        assert v.lost_outside_gap(role) == 0
    print("\n" + "; ".join(figures))

    # WitMotion: every frame of each process is in the file, in order, but for those left out
    # (counted) before each connection's read-back and the tail sent while the recording
    # stopped; none inside the gap
    frames = wit_frames(s, "shin")
    skipped = left_out(s, "shin")
    assert len(skipped) == 2 and all(n > 0 for n in skipped)
    for run, report, skip in ((0, v.first["shin"], skipped[0]), (1, v.second["shin"], skipped[1])):
        got = [k for _, r, k in frames if r == run]
        sent = sent_indices(report)
        assert got == sent[skip : skip + len(got)], run  # in order, none missing, no extra
        assert len(sent) - skip - len(got) <= (0 if run == 0 else TAIL), (run, len(sent), skip)
    t = np.array([f[0] for f in frames])
    lost, back = (
        events(s, "connection_lost", "shin")[0],
        events(s, "connection_restored", "shin")[0],
    )
    assert not np.any((t > lost.t) & (t < back.t))
    dec = wit_decode(s, "shin")
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0

    # Polar: every sample of the first process, and of the second but for the tail
    (k0, k1), dec = polar_samples(s, "thigh", [v.first["thigh"], v.second["thigh"]])
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
    assert k0.tolist() == sent_indices(v.first["thigh"])
    sent1 = sent_indices(v.second["thigh"])
    assert k1.tolist() == sent1[: len(k1)] and len(sent1) - len(k1) <= TAIL
    assert len(k0) > 100 and len(k1) > 100


def test_a_device_with_a_paired_sensors_name_at_another_address_is_never_connected(world):
    """An impostor advertises the paired WitMotion's name (and service) from another address,
    first and alone for a while: imuhip waits for the paired address and never connects to
    the other one."""
    impostor = world.sensor(WIT, "--address", "D0:A1:00:00:00:99", "--run", "9")
    real: dict[str, Sensor] = {}

    def late_real() -> None:  # starts while the manager is already searching
        time.sleep(0.6)
        real["s"] = world.sensor(WIT, "--run", "1")

    starter = threading.Thread(target=late_real)
    starter.start()
    try:
        s, rep = world.record([Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100)], 1.0)
    finally:
        starter.join(30)
    fake = impostor.stop()
    assert fake["connections"] == 0 and fake["sent"] == []
    assert real["s"].stop()["connections"] == 1
    runs = {r for _, r, _ in wit_frames(s, "shin")}
    assert runs == {1} and rep.status["shin"].connects == 1


def test_garbage_notifications_are_counted_and_every_sample_kept(world):
    """Both families send a garbage notification after every few data notifications: the
    decoders count each one as a drop, and every data sample is still in the file."""
    wit = world.sensor(WIT, "--garbage-every", "5", "--seed", "3")
    pol = world.sensor(POLAR, "--garbage-every", "2", "--seed", "4")
    a = [
        Assignment("thigh", POLAR_ADDRESS, "polar-pmd", 100),
        Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100),
    ]
    s, _ = world.record(a, 2.0)
    wr, pr = wit.stop(), pol.stop()
    assert wr["garbage"] > 20 and pr["garbage"] > 10

    dec = wit_decode(s, "shin")
    # garbage before the read-back was left out with the frames around it; the rest is counted
    recorded_garbage = sum(
        1
        for p in s.notifications["shin"].payloads()
        if not p.startswith((b"\x55\x61", b"\x55\x71"))
    )
    assert recorded_garbage > 10
    assert dec.stats.reasons == {"junk_bytes": recorded_garbage} and dec.stats.lost_samples == 0
    (skip,) = left_out(s, "shin")
    assert wr["garbage"] - recorded_garbage <= skip // 5 + 3  # before the read-back, the tail
    got = [k for _, _, k in wit_frames(s, "shin")]
    sent = sent_indices(wr)
    # left out: notifications, garbage among them; frames left out = the first frames
    first = got[0]
    assert got == list(range(first, first + len(got))) and 0 < first <= skip
    assert len(sent) - first - len(got) <= TAIL

    (k,), pdec = polar_samples(s, "thigh", [pr])
    notes = s.notifications["thigh"]
    pol_garbage = sum(
        1
        for p, c in zip(notes.payloads(), notes.channel, strict=True)
        if c == 0 and p[:1] == b"\xee"
    )
    assert pdec.stats.dropped == pol_garbage and pr["garbage"] - pol_garbage <= 3
    assert pdec.stats.lost_samples == 0
    assert k.tolist() == sent_indices(pr)[: len(k)] and len(sent_indices(pr)) - len(k) <= TAIL


def test_a_stalled_sensor_is_dropped_reconnected_and_its_silence_marked(world):
    """The WitMotion stops notifying for 1.8 s while staying connected: after the stall
    timeout (1 s) the link is dropped and reconnected, the silence is marked as a gap, and
    every frame it sent is in the file but for those left out (counted) before each
    read-back."""
    wit = world.sensor(WIT, "--stall-at", "1.0", "--stall-for", "1.8")
    stop = asyncio.Event()

    async def until_back() -> None:
        await asyncio.sleep(4.5)
        stop.set()

    s, rep = world.record(
        [Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100)], 30.0, until_back, stop=stop
    )
    wr = wit.stop()
    assert wr["stalls"] == 1 and wr["connections"] >= 2
    lost = events(s, "connection_lost", "shin")
    assert lost and lost[0].data["reason"].startswith("no data for")
    assert len(events(s, "connection_restored", "shin")) == len(lost)
    frames = wit_frames(s, "shin")
    got = [k for _, _, k in frames]
    sent = sent_indices(wr)
    skipped = left_out(s, "shin")
    assert len(skipped) == rep.status["shin"].connects >= 2
    # recorded + left out + tail = sent, and what is recorded is in order without duplicates
    assert got == sorted(set(got)) and set(got) <= set(sent)
    assert 0 <= len(sent) - len(got) - sum(skipped) <= TAIL
    # no frame inside the marked gap; frames on both sides of it
    t = np.array([x[0] for x in frames])
    back = events(s, "connection_restored", "shin")[0]
    assert not np.any((t > lost[0].t) & (t < back.t))
    assert np.sum(t < lost[0].t) > 50 and np.sum(t > back.t) > 50
    dec = wit_decode(s, "shin")
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0


def test_an_mtu_changed_mid_session_is_survived_without_loss(world):
    """One second into streaming each sensor exchanges the MTU again from its side (to 33 and
    40 bytes: a second exchange, which a conforming peer never starts) and sends smaller
    notifications from then on: WitMotion frames split across notifications, Polar frames of
    fewer samples. Nothing is dropped or lost."""
    wit = world.sensor(WIT, "--frames", "4", "--mtu-at", "1.0", "--mtu-to", "33")
    pol = world.sensor(POLAR, "--mtu-at", "1.0", "--mtu-to", "40")
    a = [
        Assignment("thigh", POLAR_ADDRESS, "polar-pmd", 100),
        Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100),
    ]
    s, _ = world.record(a, 2.5)
    wr, pr = wit.stop(), pol.stop()
    assert wr["mtu"] == 33 and wr["payload_max"] == 30
    assert pr["mtu"] == 40 and pr["payload_max"] == 37
    sizes = [len(p) for p in s.notifications["shin"].payloads()]
    assert max(sizes) == 80 and 30 in sizes and sizes.count(30) > 20  # before / after
    dec = wit_decode(s, "shin")
    assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
    got = [k for _, _, k in wit_frames(s, "shin")]
    assert got == list(range(got[0], got[0] + len(got))) and len(sent_indices(wr)) - got[-1] <= TAIL

    (k,), pdec = polar_samples(s, "thigh", [pr])
    assert pdec.stats.dropped == 0 and pdec.stats.lost_samples == 0
    assert k.tolist() == sent_indices(pr)[: len(k)] and len(sent_indices(pr)) - len(k) <= TAIL
    data = [
        p
        for p, c in zip(
            s.notifications["thigh"].payloads(), s.notifications["thigh"].channel, strict=True
        )
        if c == 0
    ]
    assert max(len(p) for p in data) > 40 and max(len(p) for p in data[-20:]) <= 37


#: Sensor minutes of the soak (``IMUHIP_SOAK_MINUTES=30`` for the full half hour, 90 s real).
SOAK_MINUTES = float(os.environ.get("IMUHIP_SOAK_MINUTES", "1.5"))
#: Allowed growth of the recording process's resident memory from 30 % of the soak to its end
SOAK_RSS_MIB = 8.0


@pytest.mark.soak
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc/self/statm")
def test_accelerated_session_with_random_disconnects_keeps_memory_flat(world):
    """Both sensors' sample clocks run 20x (frames packed as firmware does at high rates) and
    each drops the link at random (seeded, 3 s apart on average): the recording process's
    memory stays flat from 30 % of the session to its end, while the data keep coming.

    By default 1.5 sensor minutes (4.5 s); what a leak would grow with (notifications,
    reconnections) comes at the same pace in the first minutes as later, so a leak shows as a
    slope already (``IMUHIP_SOAK_MINUTES=30``: the full half hour, 90 s)."""
    r = soak(world, SOAK_MINUTES, speed=20.0)
    start, end = r.growth_mib()
    n_notes = sum(st.notifications for st in r.status.values())
    drops = r.reports["shin"]["drops"] + r.reports["thigh"]["drops"]
    print(
        f"\nsoak {SOAK_MINUTES:g} sensor minutes ({r.real_s:.0f} s at 20x): {n_notes} "
        f"notifications, {drops} random disconnects; resident memory {start:.1f} -> "
        f"{end:.1f} MiB from 30 % to the end (peak {max(m for _, m in r.rss):.1f}); Python "
        f"objects {r.objects[0]} -> {r.objects[-1]}"
    )
    assert drops >= max(3.0, r.real_s / 6)  # disconnects really happened
    for role, st in r.status.items():  # every reconnection follows a marked loss
        assert (
            st.connects >= 2 and len(events(r.session, "connection_lost", role)) >= st.connects - 1
        )
    assert end - start < SOAK_RSS_MIB, r.rss
    assert r.objects[-1] - r.objects[0] < 0.02 * r.objects[0] + 2000
    # the data kept coming between the reconnections (each costs about a second: search,
    # connect and the start sequence): a third of what an unbroken stream would give
    per_s = 20.0 * (100 / 10 + 2 * 104 / 20)
    assert n_notes > per_s * r.real_s / 3


def test_first_connection_records_no_sample_sent_at_the_saved_rate(world):
    """Out of the box a Thingy:52 and a WitMotion stream at 10 Hz from the moment
    notifications are on. The Thingy is configured before its notifications are enabled, so it
    never sends at 10 Hz; the WitMotion's 10 Hz frames (and those before its rate read-back)
    are left out and counted. Every sample in the file was sent at the configured 100 Hz."""
    thingy = world.sensor(THINGY)
    wit = world.sensor(WIT)
    a = [
        Assignment("thigh", THINGY_ADDRESS, "thingy52", 100),
        Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100),
    ]
    s, _ = world.record(a, 1.5)
    tr, wr = thingy.stop(), wit.stop()
    assert set(tr["rates"]) == {"100"}, tr["rates"]  # nothing ever sent at 10 Hz
    n = s.notifications["thigh"]
    got = [thingy_counters(p)[1] for p in n.payloads()]
    sent = sent_indices(tr)
    assert got == sent[: len(got)] and len(sent) - len(got) <= TAIL and got[0] == 0
    assert np.median(np.diff(n.t)) == pytest.approx(0.01, abs=0.002)
    assert events(s, "config_applied", "thigh") == []  # nothing to read back, nothing held

    slow = wr["rates"]["10"]
    assert slow > 0 and wr["rates"]["100"] > 100
    (skip,) = left_out(s, "shin")
    frames = [k for _, _, k in wit_frames(s, "shin")]
    assert frames[0] == skip >= slow  # every 10 Hz frame left out (and counted)
    assert frames == sent_indices(wr)[skip : skip + len(frames)]


# ------------------------------------------------------- Movesense, MetaMotion, Movella DOT
#
# The same faults for the other three families (peripherals ``movesense.py``,
# ``metamotion.py``, ``movella_dot.py``; roles thigh, shin and pelvis of one recording): the
# subset and why are in the module docstring.


def _check_run(vendor, session, role, report, run, tail):
    """Every sample process ``run`` sent is in the file, in order, but for ``tail`` at most
    (sent while the recording stopped); returns how many are."""
    got = got_of(vendor, session, role, run)
    n = 0
    for name, sent in vendor.sent(report).items():
        assert got[name] == sent[: len(got[name])], (vendor.label, run, name)
        assert len(sent) - len(got[name]) <= tail, (vendor.label, run, name, len(sent))
        n += len(got[name])
    return n


def _rates(vendor, report):
    return set(report["rates"]) == {f"{vendor.rate_hz:g}"}


def test_other_families_gone_for_5_s_are_reconnected_their_gaps_marked_nothing_else_lost(world):
    """A Movesense, a MetaMotion and a Movella DOT vanish for 5 s each (0.4 s apart, so all
    three are away at once) and come back as new processes: each is connected again within
    3 s of advertising, its gap is marked, every sample its first process sent is in the file
    and none inside the gap; the sensor-clock families count the gap's samples as lost."""
    v = vanish_others(world, away_s=5.0)
    s = v.session
    assert s.report.ok
    figures = []
    for role, vendor in v.vendors.items():
        lost, restored = events(s, "connection_lost", role), events(s, "connection_restored", role)
        assert len(lost) == 1 and len(restored) == 1, (vendor.label, s.events)
        assert restored[0].data["gap_s"] == pytest.approx(restored[0].t - lost[0].t, abs=1e-3)
        noticed, reconnected = v.noticed_s(role), v.reconnected_s(role)
        figures.append(f"{vendor.label}: noticed {noticed:.2f} s, reconnected {reconnected:.2f} s")
        assert SUPERVISION_S - 0.05 < noticed < SUPERVISION_S + 1.2, vendor.label
        assert 0 < reconnected < 3.0, vendor.label
        assert v.status[role].connects == 2
        assert v.lost_outside_gap(role) == 0, vendor.label
        assert _check_run(vendor, s, role, v.first[role], 0, 0) > 50
        assert _check_run(vendor, s, role, v.second[role], 1, TAIL) > 50
        assert _rates(vendor, v.first[role]) and _rates(vendor, v.second[role])
        t = np.array([x[0] for rows in vendor.streams(s, role).values() for x in rows])
        assert not np.any((t > lost[0].t) & (t < restored[0].t)), vendor.label
        dec = wit_decode(s, role)
        assert dec.stats.dropped == 0, (vendor.label, dec.stats)
    print("\n" + "; ".join(figures))

    # the DOT's decoder counts the samples of the gap from the sensor clock: exactly the
    # sample periods between the last sample before it and the first after it
    rows = movella_dot.samples(s, "pelvis")
    last = max(ts for _, r, _, ts in rows if r == 0)
    first = min(ts for _, r, _, ts in rows if r == 1)
    dec = wit_decode(s, "pelvis")
    assert dec.stats.lost_samples == round((first - last) * 60 / 1e6) - 1
    # so does the Movesense's, from the first-sample times (ms) of its values
    vals = [(tag(v[4:16])[0], int.from_bytes(v[:4], "little"), v) for _, _, v in values(s, "thigh")]
    period = 1000 / 104
    ts0, n0 = max((ts, (len(v) - 4) // 24) for r, ts, v in vals if r == 0)
    ts1 = min(ts for r, ts, _ in vals if r == 1)
    dec = wit_decode(s, "thigh")
    assert dec.stats.lost_samples == round((ts1 - ts0 - n0 * period) / period)


def test_look_alikes_of_the_other_families_at_other_addresses_are_never_connected(world):
    """For each of Movesense, MetaMotion and Movella DOT, an impostor advertises the paired
    sensor's name (and service) from another address, first and alone for a while (every DOT
    advertises the same name): imuhip waits for the paired addresses and never connects to
    the others."""
    fakes = world.sensors(
        *((v.module, "--address", v.address[:-2] + "99", "--run", "9") for v in OTHERS.values())
    )
    impostors = dict(zip(OTHERS, fakes, strict=True))
    real: dict[str, Sensor] = {}

    def late_real() -> None:
        time.sleep(0.6)
        started = world.sensors(*((v.module, *v.args, "--run", "1") for v in OTHERS.values()))
        real.update(zip(OTHERS, started, strict=True))

    starter = threading.Thread(target=late_real)
    starter.start()
    try:
        s, rep = world.record([v.assignment(r) for r, v in OTHERS.items()], 1.0)
    finally:
        starter.join(30)
    for role, v in OTHERS.items():
        fake = impostors[role].stop()
        assert fake["connections"] == 0 and fake["sent"] == [], v.label
        assert real[role].stop()["connections"] == 1, v.label
        runs = {r for rows in v.streams(s, role).values() for _, r, _ in rows}
        assert runs == {1} and rep.status[role].connects == 1, v.label


def test_garbage_from_the_other_families_is_counted_and_every_sample_kept(world):
    """Each sends a garbage notification after every few data notifications (Movesense: an
    unknown notification kind, also between the two parts of a value; MetaMotion: an unknown
    module; DOT: a length no sample has): the decoders count each one as a drop, and every
    data sample is still in the file."""
    every = {"thigh": "3", "shin": "7", "pelvis": "4"}
    started = world.sensors(
        *(
            (v.module, *v.args, "--garbage-every", every[r], "--seed", "5")
            for r, v in OTHERS.items()
        )
    )
    procs = dict(zip(OTHERS, started, strict=True))
    s, _ = world.record([v.assignment(r) for r, v in OTHERS.items()], 2.0)
    for role, v in OTHERS.items():
        rep = procs[role].stop()
        assert rep["garbage"] > 10, v.label
        dec = wit_decode(s, role)
        # all garbage but what was sent while the recording stopped is in the file, counted
        assert rep["garbage"] - 3 <= dec.stats.dropped <= rep["garbage"], (v.label, dec.stats)
        assert dec.stats.lost_samples == 0, v.label
        assert _check_run(v, s, role, rep, 0, TAIL) > 50


def test_the_other_families_survive_a_stall_and_an_mtu_change(world):
    """Movesense and Movella DOT exchange the MTU again one second into streaming (to 33:
    payloads of 30 bytes; Movesense then sends one sample per value instead of eight split in
    two notifications, the DOT unpadded samples); the MetaMotion stops notifying for 1.8 s
    while connected, so the link is dropped after the stall timeout and reconnected. Nothing
    is dropped; every sample sent is in the file but for those of the silence (marked as a
    gap) and the tail."""
    mtu = ("--mtu-at", "1.0", "--mtu-to", "33")
    faults = {"thigh": mtu, "shin": ("--stall-at", "1.0", "--stall-for", "1.8"), "pelvis": mtu}
    started = world.sensors(*((v.module, *v.args, *faults[r]) for r, v in OTHERS.items()))
    procs = dict(zip(OTHERS, started, strict=True))
    stop = asyncio.Event()

    async def until_back() -> None:
        await asyncio.sleep(4.5)
        stop.set()

    s, rep = world.record([v.assignment(r) for r, v in OTHERS.items()], 30.0, until_back, stop=stop)
    reports = {role: p.stop() for role, p in procs.items()}
    for role in ("thigh", "pelvis"):
        v, r = OTHERS[role], reports[role]
        assert r["mtu"] == 33 and r["payload_max"] == 30, v.label
        sizes = [len(p) for p in s.notifications[role].payloads()]
        assert max(sizes) > 30 and sizes[-10:] == [30 if role == "thigh" else 28] * 10
        dec = wit_decode(s, role)
        assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0, (v.label, dec.stats)
        assert _check_run(v, s, role, r, 0, TAIL) > 100
        assert events(s, "connection_lost", role) == []

    v, r = OTHERS["shin"], reports["shin"]
    assert r["stalls"] == 1 and r["connections"] >= 2
    lost = events(s, "connection_lost", "shin")
    assert lost and lost[0].data["reason"].startswith("no data for")
    back = events(s, "connection_restored", "shin")
    assert len(back) == len(lost) == rep.status["shin"].connects - 1
    got = got_of(v, s, "shin", 0)
    for name, sent in v.sent(r).items():
        assert got[name] == sorted(set(got[name])) and set(got[name]) <= set(sent)
        assert 0 <= len(sent) - len(got[name]) <= TAIL, name
    rows = v.streams(s, "shin")["acc"]
    t = np.array([x[0] for x in rows])
    assert not np.any((t > lost[0].t) & (t < back[0].t))
    assert np.sum(t < lost[0].t) > 50 and np.sum(t > back[0].t) > 50
    assert wit_decode(s, "shin").stats.dropped == 0
