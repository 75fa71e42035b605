"""The world of the fault tests: a radio hub process and sensor peripheral processes (this
package), and imuhip's recorder attached to the hub, plus readers of what was recorded.

Used by ``tests/test_ble_faults.py`` and ``bench/ble_faults.py``. Loopback only (127.0.0.1);
every wait is bounded and :meth:`World.close` ends every process it started (SIGTERM, then
SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import imuhip
from imuhip.decode import get_decoder
from imuhip.files.session_file import SessionWriter, read_session
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend, close_radios
from imuhip.sources.ble.connection import Assignment, ManagerSettings, RecordReport, record
from tests.ble_testkit import decode_sensor_clock

ROOT = Path(__file__).resolve().parents[2]
WIT = "tests.peripherals.witmotion"
POLAR = "tests.peripherals.polar"
THINGY = "tests.peripherals.thingy"
MOVESENSE = "tests.peripherals.movesense"
METAMOTION = "tests.peripherals.metamotion"
DOT = "tests.peripherals.movella_dot"
WIT_ADDRESS = "D0:A1:00:00:00:01"
MOVESENSE_ADDRESS = "D0:D4:00:00:00:01"
METAMOTION_ADDRESS = "D0:F6:00:00:00:01"
DOT_ADDRESS = "D0:E5:00:00:00:01"
THINGY_ADDRESS = "D0:C3:00:00:00:01"
POLAR_ADDRESS = "D0:B2:00:00:00:01"
SUPERVISION_S = 0.5
FAST = ManagerSettings(
    scan_timeout_s=2.0, connect_timeout_s=3.0, op_timeout_s=1.0, backoff_initial_s=0.1,
    backoff_max_s=0.5, stall_timeout_s=1.0, stop_timeout_s=1.0,
)  # fmt: skip
#: samples a sensor may send while the recording stops (the client unsubscribes last)
TAIL = 60


def _env() -> dict[str, str]:
    src = str(Path(imuhip.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _read_json_line(proc: subprocess.Popen, key: str, timeout: float) -> dict:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.2))
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            with contextlib.suppress(ValueError):
                doc = json.loads(line)
                if key in doc:
                    return doc
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no {key!r} line from {proc.args}")


@dataclass
class Sensor:
    """One peripheral process."""

    proc: subprocess.Popen
    advertising_t: float
    report: dict = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> dict:
        """SIGTERM: the sensor vanishes (socket closed, no LL terminate) and reports."""
        if self.report:
            return self.report
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.report = _read_json_line(self.proc, "report", timeout)["report"]
        finally:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        return self.report


class World:
    """The radio hub and the peripheral processes of one test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen] = []
        hub = self._spawn("tests.peripherals.air", "--supervision-s", str(SUPERVISION_S))
        assert hub.stdout is not None
        ready, _, _ = select.select([hub.stdout], [], [], 20.0)
        line = hub.stdout.readline() if ready else ""
        assert line.startswith("listening"), f"hub did not start: {line!r}"
        self.transport = f"tcp-client:127.0.0.1:{int(line.split()[1])}"

    def _spawn(self, module: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
            cwd=ROOT,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def sensor(self, module: str, *args: str) -> Sensor:
        proc = self._spawn(module, "--transport", self.transport, *args)
        return Sensor(proc, _read_json_line(proc, "advertising", 20.0)["advertising"])

    def sensors(self, *specs: tuple[str, ...]) -> list[Sensor]:
        """Start several peripheral processes at once (each spec: module, then its
        arguments) and wait until each advertises."""
        procs = [self._spawn(m, "--transport", self.transport, *a) for m, *a in specs]
        return [Sensor(p, _read_json_line(p, "advertising", 20.0)["advertising"]) for p in procs]

    async def sensor_async(self, module: str, *args: str) -> Sensor:
        return await asyncio.to_thread(self.sensor, module, *args)

    def record(
        self,
        assignments: list[Assignment],
        seconds: float,
        during: Callable[[], Awaitable[Any]] | None = None,
        *,
        stop: asyncio.Event | None = None,
        settings: ManagerSettings = FAST,
        timeout: float = 40.0,
    ) -> tuple[Any, RecordReport]:
        """Record ``assignments`` through the hub for ``seconds``; ``during()`` runs alongside
        from when every sensor streams."""
        path = self.tmp / f"rec{len(list(self.tmp.glob('rec*')))}.imuhip"
        header = SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))
        backend = ble_backend("bumble:" + self.transport)

        async def main() -> RecordReport:
            streaming = asyncio.Event()

            async def later() -> None:
                await streaming.wait()
                if during is not None:
                    await during()

            task = asyncio.ensure_future(later())
            try:
                async with asyncio.timeout(timeout):
                    with SessionWriter(path, header) as w:
                        rep = await record(
                            assignments, w, seconds, backend, settings=settings,
                            wait_connected_s=10.0, stop_event=stop,
                            on_status=lambda _s: streaming.set(), status_interval_s=0.05,
                        )  # fmt: skip
                    if during is not None:
                        await task
                    return rep
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                await close_radios()

        report = asyncio.run(main())
        return read_session(path), report

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            if p.stdout is not None:
                p.stdout.close()


# --------------------------------------------------------------------------- what was recorded


def wit_frames(session: Any, role: str) -> list[tuple[float, int, int]]:
    """(receive time, run, k) of every ``55 61`` frame recorded for ``role``, parsed from the
    raw notifications as one byte stream (frames may be split across notifications)."""
    n = session.notifications[role]
    out = []
    buf = b""
    for t, p in zip(n.t, n.payloads(), strict=True):
        buf += p
        i = 0
        while i + 1 < len(buf):
            if buf[i] == 0x55 and buf[i + 1] in (0x61, 0x71):
                if i + 20 > len(buf):
                    break
                if buf[i + 1] == 0x61:
                    roll, pitch, yaw = struct.unpack_from("<hhh", buf, i + 14)
                    out.append((float(t), yaw, (roll & 0x7FFF) | (pitch << 15)))
                i += 20
            else:
                i += 1
        buf = buf[i:]
    return out


def wit_decode(session: Any, role: str) -> Any:
    n = session.notifications[role]
    info = session.header.sensor(role)
    dec = get_decoder(info.profile, info.config)
    dec.decode_many(n.t, n.payloads(), n.channel)
    return dec


def events(session: Any, kind: str, role: str | None = None) -> list[Any]:
    return [e for e in session.events if e.kind == kind and (role is None or e.sensor == role)]


def left_out(session: Any, role: str) -> list[int]:
    return [int(e.data["left_out"]) for e in events(session, "config_applied", role)]


def sent_indices(report: dict) -> list[int]:
    return [k for a, b in report["sent"] for k in range(a, b + 1)]


def polar_samples(session: Any, role: str, reports: list[dict]) -> tuple[list[np.ndarray], Any]:
    """Per peripheral process (``reports``, in order), the indices of its ACC samples in the
    file, from their sensor times (its clock runs on across a restart, so the processes'
    samples fall in separate time ranges); and the decoder with its counters."""
    decoded, dec = decode_sensor_clock(
        session.notifications[role], session.header.sensor(role).config
    )
    t_ns = decoded["acc"][0] * 1e9
    rate = session.header.sensor(role).config["acc"]["rate_hz"]
    origins = [r["origin_ns"] for r in reports]
    which = np.searchsorted(origins, t_ns + 1e6, side="right") - 1
    assert np.all(which >= 0)
    out = []
    for j, origin in enumerate(origins):
        x = (t_ns[which == j] - origin) * rate / 1e9
        k = np.rint(x).astype(int)
        assert np.all(np.abs(x - k) < 0.01), "a sample at a time no sample was sent"
        out.append(k)
    return out, dec


# --------------------------------------------------------------------------- scenarios


@dataclass
class Vanish:
    """A recording in which both sensors vanished for ``away_s`` and came back.

    Attributes:
        session: the recorded file, read back.
        status: the recorder's per-role link counters.
        first, second: role -> report of the peripheral process before / after the gap.
        gone: role -> monotonic time the sensor's process was ended.
        back: role -> monotonic time the new process advertised.
    """

    session: Any
    status: dict[str, Any]
    first: dict[str, dict]
    second: dict[str, dict]
    gone: dict[str, float]
    back: dict[str, float]

    def noticed_s(self, role: str) -> float:
        """From the sensor's end to the ``connection_lost`` event."""
        return events(self.session, "connection_lost", role)[0].t - self.gone[role]

    def reconnected_s(self, role: str) -> float:
        """From the new process advertising to the ``connection_restored`` event."""
        return events(self.session, "connection_restored", role)[0].t - self.back[role]

    def first_data_s(self, role: str) -> float:
        """From the new process advertising to its first data sample in the file (after the
        start sequence and, for WitMotion, the rate read-back)."""
        if role == "shin":
            t = min(t for t, r, _ in wit_frames(self.session, role) if r == 1)
        else:
            n = self.session.notifications[role]
            back = events(self.session, "connection_restored", role)[0].t
            t = float(n.t[(n.channel == 0) & (n.t > back)][0])
        return t - self.back[role]

    def lost_outside_gap(self, role: str) -> int:
        """Samples the first process sent that are not in the file (WitMotion: less those left
        out before the read-back, which are counted in ``config_applied``)."""
        if role == "shin":
            got = [k for _, r, k in wit_frames(self.session, role) if r == 0]
            return len(sent_indices(self.first[role])) - left_out(self.session, role)[0] - len(got)
        (k0, _), _ = polar_samples(self.session, role, [self.first[role], self.second[role]])
        return len(sent_indices(self.first[role])) - len(k0)


def vanish_both(world: World, away_s: float = 5.0, after_s: float = 2.5) -> Vanish:
    """Record a Polar thigh and a WitMotion shin; 1 s into streaming end the WitMotion's
    process, 0.5 s later the Polar's; ``away_s`` after each, start a new process for it with
    the same address; stop ``after_s`` after the second is back."""
    first = {"shin": world.sensor(WIT, "--run", "0"), "thigh": world.sensor(POLAR, "--run", "0")}
    second: dict[str, Sensor] = {}
    gone: dict[str, float] = {}
    stop = asyncio.Event()

    async def away() -> None:
        await asyncio.sleep(1.0)
        gone["shin"] = time.monotonic()
        await asyncio.to_thread(first["shin"].stop)
        await asyncio.sleep(0.5)
        gone["thigh"] = time.monotonic()
        await asyncio.to_thread(first["thigh"].stop)
        await asyncio.sleep(away_s - 0.5)
        second["shin"] = await world.sensor_async(WIT, "--run", "1")
        await asyncio.sleep(0.5)
        second["thigh"] = await world.sensor_async(POLAR, "--run", "1")
        await asyncio.sleep(after_s)
        stop.set()

    a = [
        Assignment("thigh", POLAR_ADDRESS, "polar-pmd", 100),
        Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100),
    ]
    s, rep = world.record(a, 60.0, away, stop=stop, timeout=away_s + after_s + 40)
    return Vanish(
        s,
        rep.status,
        {r: p.stop() for r, p in first.items()},
        {r: p.stop() for r, p in second.items()},
        gone,
        {r: p.advertising_t for r, p in second.items()},
    )


def rss_mib() -> float:
    """Resident memory of this process, MiB (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Soak:
    """An accelerated recording with random disconnects.

    Attributes:
        session, status: the file read back, the recorder's link counters.
        reports: role -> the peripheral's report.
        real_s: its length in real seconds.
        rss: (seconds since streaming, resident MiB), every 0.25 s.
        objects: Python objects tracked by the garbage collector at 30 % and at the end.
    """

    session: Any
    status: dict[str, Any]
    reports: dict[str, dict]
    real_s: float
    rss: list[tuple[float, float]]
    objects: list[int]

    def growth_mib(self) -> tuple[float, float]:
        """(resident MiB at 30 % of the soak, at its end)."""
        late = [m for t, m in self.rss if t >= 0.3 * self.real_s]
        return late[0], late[-1]


def soak(world: World, minutes: float, speed: float = 20.0, drop_mean_s: float = 3.0) -> Soak:
    """``minutes`` of sensor time at ``speed``: both sensors' sample clocks run ``speed``
    times faster (WitMotion 10 frames per notification, Polar 20 samples per frame) and each
    drops its link at random, ``drop_mean_s`` apart on average (seeded)."""
    import gc

    real_s = minutes * 60.0 / speed
    common = ["--speed", str(speed), "--drop-mean-s", str(drop_mean_s)]
    wit = world.sensor(WIT, *common, "--seed", "11", "--frames", "10")
    pol = world.sensor(POLAR, *common, "--seed", "12", "--samples-per-frame", "20")
    rss: list[tuple[float, float]] = []
    objects: list[int] = []
    stop = asyncio.Event()

    async def watch() -> None:
        t0 = time.monotonic()
        while (el := time.monotonic() - t0) < real_s:
            if not objects and el > 0.3 * real_s:
                gc.collect()
                objects.append(len(gc.get_objects()))
            rss.append((el, rss_mib()))
            await asyncio.sleep(0.25)
        gc.collect()
        objects.append(len(gc.get_objects()))
        rss.append((time.monotonic() - t0, rss_mib()))
        stop.set()

    a = [
        Assignment("thigh", POLAR_ADDRESS, "polar-pmd", 100),
        Assignment("shin", WIT_ADDRESS, "witmotion-ble5", 100),
    ]
    s, rep = world.record(a, 10 * real_s + 60, watch, stop=stop, timeout=real_s + 60)
    return Soak(s, rep.status, {"shin": wit.stop(), "thigh": pol.stop()}, real_s, rss, objects)


# --------------------------------------------------------------------------- the other vendors


@dataclass(frozen=True)
class Vendor:
    """One of the peripherals written for the fault scenarios of every family.

    Attributes:
        label: vendor name for messages and figures.
        module: the peripheral's module (run with ``python -m``).
        address: its default address.
        profile: imuhip's profile name.
        rate_hz: the rate asked for.
        args: extra peripheral arguments (a saved rate other than the one asked for, so the
            configuration write is seen to take effect).
    """

    label: str
    module: str
    address: str
    profile: str
    rate_hz: float
    args: tuple[str, ...] = ()

    def assignment(self, role: str) -> Assignment:
        return Assignment(role, self.address, self.profile, self.rate_hz)

    def streams(self, session: Any, role: str) -> dict[str, list[tuple[float, int, int]]]:
        """Stream name -> (receive time, run, k) of every sample recorded for ``role``, read
        from the raw notifications with the peripheral's own reader (not imuhip's decoder)."""
        from tests.peripherals import metamotion, movella_dot, movesense

        if self.module == MOVESENSE:
            return {"imu": movesense.samples(session, role)}
        if self.module == METAMOTION:
            return {
                "acc": metamotion.samples(session, role, metamotion.ACC),
                "gyr": metamotion.samples(session, role, metamotion.GYR),
            }
        return {"imu": [(t, r, k) for t, r, k, _ in movella_dot.samples(session, role)]}

    def sent(self, report: dict) -> dict[str, list[int]]:
        """Stream name -> sample indices the peripheral notified (its report)."""
        if self.module == METAMOTION:
            return {"acc": sent_indices(report), "gyr": sent_indices({"sent": report["gyr_sent"]})}
        return {"imu": sent_indices(report)}


MOVESENSE_VENDOR = Vendor("Movesense", MOVESENSE, MOVESENSE_ADDRESS, "movesense", 104)
METAMOTION_VENDOR = Vendor(
    "MetaMotion", METAMOTION, METAMOTION_ADDRESS, "metamotion", 100, ("--saved-rate", "50")
)
DOT_VENDOR = Vendor("Movella DOT", DOT, DOT_ADDRESS, "movella-dot", 60, ("--saved-rate", "20"))
#: the three families, each in its own role of one recording
OTHERS = {"thigh": MOVESENSE_VENDOR, "shin": METAMOTION_VENDOR, "pelvis": DOT_VENDOR}


def got_of(vendor: Vendor, session: Any, role: str, run: int) -> dict[str, list[int]]:
    """Stream name -> indices of process ``run``'s samples in the file, in file order."""
    return {
        name: [k for _, r, k in rows if r == run]
        for name, rows in vendor.streams(session, role).items()
    }


@dataclass
class VanishOthers:
    """A recording of :data:`OTHERS` in which each sensor vanished for ``away_s`` and came
    back as a new process (attributes as :class:`Vanish`; ``vendors``: role -> vendor)."""

    session: Any
    status: dict[str, Any]
    vendors: dict[str, Vendor]
    first: dict[str, dict]
    second: dict[str, dict]
    gone: dict[str, float]
    back: dict[str, float]

    def noticed_s(self, role: str) -> float:
        return events(self.session, "connection_lost", role)[0].t - self.gone[role]

    def reconnected_s(self, role: str) -> float:
        return events(self.session, "connection_restored", role)[0].t - self.back[role]

    def first_data_s(self, role: str) -> float:
        """From the new process advertising to its first sample in the file."""
        rows = self.vendors[role].streams(self.session, role)
        return min(t for r in rows.values() for t, run, _ in r if run == 1) - self.back[role]

    def lost_outside_gap(self, role: str) -> int:
        """Samples the first process sent that are not in the file (every stream)."""
        v = self.vendors[role]
        got = got_of(v, self.session, role, 0)
        return sum(len(s) - len(got[name]) for name, s in v.sent(self.first[role]).items())


def vanish_others(world: World, away_s: float = 5.0, after_s: float = 2.5) -> VanishOthers:
    """Record :data:`OTHERS`; 1 s into streaming end the first sensor's process, each next one
    0.4 s later; ``away_s`` after each, start a new process for it with the same address;
    stop ``after_s`` after the last is back."""
    vendors = dict(OTHERS)
    started = world.sensors(*((v.module, *v.args, "--run", "0") for v in vendors.values()))
    first = dict(zip(vendors, started, strict=True))
    second: dict[str, Sensor] = {}
    gone: dict[str, float] = {}
    stop = asyncio.Event()

    async def away() -> None:
        await asyncio.sleep(1.0)
        for role in vendors:
            gone[role] = time.monotonic()
            await asyncio.to_thread(first[role].stop)
            await asyncio.sleep(0.4)
        await asyncio.sleep(away_s - 0.4 * len(vendors))
        for role, v in vendors.items():
            second[role] = await world.sensor_async(v.module, *v.args, "--run", "1")
            await asyncio.sleep(0.4)
        await asyncio.sleep(after_s)
        stop.set()

    a = [v.assignment(r) for r, v in vendors.items()]
    s, rep = world.record(a, 60.0, away, stop=stop, timeout=away_s + after_s + 40)
    return VanishOthers(
        s,
        rep.status,
        vendors,
        {r: p.stop() for r, p in first.items()},
        {r: p.stop() for r, p in second.items()},
        gone,
        {r: p.advertising_t for r, p in second.items()},
    )


def soak_others(
    world: World, minutes: float, speed: float = 10.0, drop_mean_s: float = 3.0
) -> Soak:
    """:func:`soak` for :data:`OTHERS`: ``minutes`` of sensor time at ``speed`` (the
    MetaMotion at 200 Hz, packed three samples a notification; Movesense 104 Hz, eight samples
    a value; the DOT 60 Hz, one a notification), each dropping its link at random,
    ``drop_mean_s`` apart on average (seeded)."""
    import gc

    real_s = minutes * 60.0 / speed
    common = ("--speed", str(speed), "--drop-mean-s", str(drop_mean_s))
    vendors = dict(OTHERS)
    started = world.sensors(
        *(
            (v.module, *v.args, *common, "--seed", str(20 + i))
            for i, v in enumerate(vendors.values())
        )
    )
    rss: list[tuple[float, float]] = []
    objects: list[int] = []
    stop = asyncio.Event()

    async def watch() -> None:
        t0 = time.monotonic()
        while (el := time.monotonic() - t0) < real_s:
            if not objects and el > 0.3 * real_s:
                gc.collect()
                objects.append(len(gc.get_objects()))
            rss.append((el, rss_mib()))
            await asyncio.sleep(0.25)
        gc.collect()
        objects.append(len(gc.get_objects()))
        rss.append((time.monotonic() - t0, rss_mib()))
        stop.set()

    rate = {"shin": 200.0}
    a = [Assignment(r, v.address, v.profile, rate.get(r, v.rate_hz)) for r, v in vendors.items()]
    s, rep = world.record(a, 10 * real_s + 60, watch, stop=stop, timeout=real_s + 60)
    reports = {r: p.stop() for r, p in zip(vendors, started, strict=True)}
    return Soak(s, rep.status, reports, real_s, rss, objects)


# --------------------------------------------------------------------------- several at once

#: roles of the sensors of :func:`vanish_together` (one leg, pelvis and trunk: a valid layout)
TOGETHER_ROLES = ("shin", "thigh", "pelvis", "trunk")


@dataclass
class VanishTogether:
    """A recording of ``n`` WitMotion peripherals that all vanished at once and all advertised
    again at once (attributes as :class:`Vanish`)."""

    session: Any
    gone: float
    back: dict[str, float]

    def reconnected_s(self, role: str) -> float:
        """From the new process advertising to the ``connection_restored`` event."""
        return events(self.session, "connection_restored", role)[0].t - self.back[role]


def vanish_together(
    world: World,
    n: int,
    away_s: float = 3.0,
    after_s: float = 4.0,
    apart_s: float = 0.0,
    settings: ManagerSettings = FAST,
) -> VanishTogether:
    """Record ``n`` (1–4) WitMotion sensors; 1 s into streaming end every process at once;
    ``away_s`` later start a new process for each (same addresses; all together, or with
    ``apart_s`` one ``apart_s`` after the other, so the first back is searched for while the
    others are still away); stop ``after_s`` after the last advertised. ``settings``: the
    recorder's (``FAST`` by default; ``ManagerSettings()`` is what ``record`` and ``live``
    use)."""
    roles = TOGETHER_ROLES[:n]
    address = {r: f"D0:A1:00:00:01:{i + 1:02X}" for i, r in enumerate(roles)}

    def spec(role: str, run: int) -> tuple[str, ...]:
        return (WIT, "--address", address[role], "--name", f"WT901 {role}", "--run", str(run))

    first = dict(zip(roles, world.sensors(*(spec(r, 0) for r in roles)), strict=True))
    second: dict[str, Sensor] = {}
    gone: list[float] = []
    stop = asyncio.Event()

    async def away() -> None:
        await asyncio.sleep(1.0)
        gone.append(time.monotonic())
        await asyncio.gather(*(asyncio.to_thread(first[r].stop) for r in roles))
        await asyncio.sleep(away_s)
        if apart_s <= 0:
            started = await asyncio.to_thread(world.sensors, *(spec(r, 1) for r in roles))
            second.update(zip(roles, started, strict=True))
        for r in roles if apart_s > 0 else ():
            second[r] = await world.sensor_async(*spec(r, 1))
            await asyncio.sleep(apart_s)
        await asyncio.sleep(after_s)
        stop.set()

    a = [Assignment(r, address[r], "witmotion-ble5", 100) for r in roles]
    timeout = away_s + after_s + n * apart_s + 40
    s, _ = world.record(a, 60.0, away, stop=stop, settings=settings, timeout=timeout)
    for p in second.values():
        p.stop()
    return VanishTogether(s, gone[0], {r: p.advertising_t for r, p in second.items()})
