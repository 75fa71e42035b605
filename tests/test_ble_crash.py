"""A recording process killed with SIGKILL leaves a readable session file holding everything it
received up to at most 0.5 s before the kill (the writer thread flushes every 0.4 s); SIGTERM
ends a recording as Ctrl-C does."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import imuhip
from imuhip.decode import get_decoder
from imuhip.files.session_file import read_session

# Runs in the child: two virtual sensors (in-process bumble radio) recorded into argv[1] "for
# two minutes"; prints the monotonic time once both stream. time.monotonic is system-wide on
# Linux and macOS, so parent and child times compare.
CHILD = """
import asyncio, sys, time
from imuhip.files.session_file import SessionWriter
from imuhip.session import SessionHeader
from imuhip.sources.ble.bumble_backend import ble_backend
from imuhip.sources.ble.connection import Assignment, ManagerSettings, record
from imuhip.sources.ble.emulations import PolarPmdEmulation, WitMotionEmulation
from imuhip.sources.ble.virtual_sensor import VirtualSensor, synthetic_motion

async def main():
    be = ble_backend("bumble:virtual")
    settings = ManagerSettings(scan_timeout_s=2.0, connect_timeout_s=3.0, op_timeout_s=2.0,
                               backoff_initial_s=0.1, backoff_max_s=0.5)
    async with (
        VirtualSensor(WitMotionEmulation(), synthetic_motion(0.5, 40, 0)) as thigh,
        VirtualSensor(PolarPmdEmulation(samples_per_frame=10), synthetic_motion(0.4, 30, 1),
                      clock_drift_ppm=50) as shin,
    ):
        assignments = [Assignment("thigh", thigh.address, "witmotion-ble5", 100),
                       Assignment("shin", shin.address, "polar-pmd", 100)]
        header = SessionHeader("left", "prone", tuple(a.sensor_info() for a in assignments))
        writer = SessionWriter(sys.argv[1], header)  # never closed: the process gets killed
        said = []

        def on_status(status):
            if not said:
                said.append(1)
                print(f"streaming {time.monotonic():.6f}", flush=True)

        await record(assignments, writer, 120.0, be, settings=settings, on_status=on_status,
                     status_interval_s=0.1, wait_connected_s=20.0)

asyncio.run(main())
"""
# how long the child records before the kill (the loss depends on where in the writer's
# 0.4 s flush period the kill falls; the demo test below kills at two phases)
RECORD_S = 3.45
#: the documented loss bound (docs/session-format.md); the writer thread flushes every 0.4 s
FLUSH_BOUND_S = 0.5


def _child_env() -> dict[str, str]:
    src = str(Path(imuhip.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _wait_line(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            return ""
    return ""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_recording_keeps_everything_up_to_the_last_flush(tmp_path):
    path = tmp_path / "killed.imuhip"
    log = tmp_path / "child.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)],
            stdout=subprocess.PIPE,
            stderr=err,
            env=_child_env(),
            text=True,
        )
        try:
            line = _wait_line(proc, 40.0)
            assert line.startswith("streaming"), f"child did not start: {log.read_text()[-3000:]}"
            t_streaming = float(line.split()[1])
            while time.monotonic() < t_streaming + RECORD_S:
                time.sleep(0.05)
            assert proc.poll() is None, f"child ended early: {log.read_text()[-3000:]}"
            t_kill = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    with warnings.catch_warnings(record=True):  # a truncated last record is allowed
        warnings.simplefilter("always")
        s = read_session(path)
    assert s.report.damaged == ()
    assert set(s.notifications) == {"thigh", "shin"}
    behind = {}
    for role in ("thigh", "shin"):
        n = s.notifications[role]
        info = s.header.sensor(role)
        data = n.channel == 0
        t = n.t[data]
        behind[role] = t_kill - t[-1]
        # the recording is in the file up to shortly before the kill ...
        assert behind[role] < FLUSH_BOUND_S, (role, behind[role])
        assert t[0] < t_streaming + 0.5 and t[-1] - t[0] > RECORD_S - 0.5
        # ... and decodes without a hole (Polar counts missing samples from its timestamps)
        dec = get_decoder(info.profile, info.config)
        blocks = dec.decode_many(n.t, n.payloads(), n.channel)
        assert dec.stats.dropped == 0 and dec.stats.lost_samples == 0
        n_gyr = sum(len(b.t) for b in blocks if b.kind == "gyr")
        assert n_gyr > 0.8 * info.rate_hz * (t[-1] - t[0]), (role, n_gyr)
        assert np.max(np.diff(t)) < 0.5
    print(
        f"\nlast notification in the file before the kill: "
        f"thigh {1e3 * behind['thigh']:.0f} ms, shin {1e3 * behind['shin']:.0f} ms; "
        f"truncated tail {s.report.truncated_bytes} bytes"
    )


# ----------------------------------------------------------------------------- demo, SIGKILL
# and SIGTERM: the loss bound the session format documents, and a clean end on SIGTERM

#: the writer thread's flush timer (WriterThread's default)
WRITER_FLUSH_S = 0.4


def _start_demo(path: Path, log: Path) -> subprocess.Popen:
    err = open(log, "wb")  # noqa: SIM115 - closed with the process by the caller's finally
    proc = subprocess.Popen(
        [sys.executable, "-m", "imuhip", "demo", "--plain", "--speed", "1", "--duration", "60",
         "-o", str(path)],
        stdout=subprocess.PIPE, stderr=err, env=_child_env(), text=True,
    )  # fmt: skip
    err.close()
    return proc


def _wait_streaming(proc: subprocess.Popen, log: Path, timeout: float = 40.0) -> float:
    """Monotonic time when both demo sensors stream (the second "streaming" line)."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        line = _wait_line(proc, deadline - time.monotonic())
        if not line:
            break
        if line.strip().endswith(": streaming"):
            seen += 1
            if seen == 2:
                return time.monotonic()
    raise AssertionError(f"demo did not start streaming: {log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_demo_recording_loses_at_most_the_documented_half_second(tmp_path):
    """Two demo recordings killed at different phases of the flush timer: what is missing from
    each file is at most the documented 0.5 s (measured, not assumed: the kill time on the
    session clock against the last notification in the file)."""
    losses = []
    procs = []
    try:
        for k in range(2):
            path, log = tmp_path / f"k{k}.imuhip", tmp_path / f"k{k}.log"
            procs.append((path, log, _start_demo(path, log)))
        for k, (path, log, proc) in enumerate(procs):
            t_stream = _wait_streaming(proc, log)
            # kill 2.0 s and 2.22 s after streaming: two phases of the 0.4 s flush timer
            while time.monotonic() < t_stream + 2.0 + 0.55 * WRITER_FLUSH_S * k:
                time.sleep(0.01)
            assert proc.poll() is None, log.read_text()[-3000:]
            t_kill = time.monotonic()
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                s = read_session(path)
            assert s.report.damaged == ()
            kill_s = t_kill - s.header.extra["time_origin_monotonic_s"]
            last = max(float(n.t[-1]) for n in s.notifications.values())
            losses.append(kill_s - last)
    finally:
        for _, _, proc in procs:
            _stop(proc)
    print(f"\nlost on SIGKILL of a demo recording: {', '.join(f'{x:.3f} s' for x in losses)}")
    # the file's last notification was received at most 0.5 s before the kill (a notification
    # every 10 ms per sensor: the newest one in the file is the loss, within that)
    assert all(0 <= x <= FLUSH_BOUND_S for x in losses), losses


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_sigterm_ends_a_demo_recording_like_ctrl_c(tmp_path):
    path, log = tmp_path / "term.imuhip", tmp_path / "term.log"
    proc = _start_demo(path, log)
    try:
        t_stream = _wait_streaming(proc, log)
        while time.monotonic() < t_stream + 1.5:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert f"wrote {path}" in out, out  # the summary of a session that ended, not a kill
    s = read_session(path)  # closed properly: nothing cut off, nothing damaged
    assert s.report.ok and s.report.truncated_bytes == 0
    assert set(s.notifications) == {"thigh", "shin"}
    assert all(n.t[-1] - n.t[0] > 1.0 for n in s.notifications.values())
