"""Write a small SIMULATED placeholder recording to ``recordings/``.

Stand-in until the leg-motion simulator (``imuhip simulate``) writes the shipped recordings:
a prone left leg, thigh still, shin swinging into internal rotation six times. Gravity plus white
noise only (no lever arm, no soft tissue, no bias): good for exercising file handling and the
command line, not for judging accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from imuhip import quaternion as Q
from imuhip.files.session_file import write_session
from imuhip.samples import ImuSamples
from imuhip.session import Event, SensorInfo, SessionHeader

RATE = 100.0
G = np.array([0.0, 0.0, 9.81])


def _imu(q: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> ImuSamples:
    dq = Q.multiply(Q.conjugate(q[:-1]), q[1:])  # body-frame increments
    w = Q.to_rotvec(dq) * RATE
    gyr = np.vstack([w, w[-1:]])
    acc = Q.rotate(Q.conjugate(q), G)
    return ImuSamples(
        t, acc + rng.normal(0, 0.05, acc.shape), gyr + rng.normal(0, 0.005, gyr.shape)
    )


def main(out: Path) -> None:
    rng = np.random.default_rng(2026)
    t = np.arange(0, 60.0, 1 / RATE)
    angle = np.zeros_like(t)
    for k in range(6):  # reps of 4 s every 7 s after a 12 s still start
        c = 14.0 + 7.0 * k
        angle += np.radians(30 + 3 * k) * np.exp(-0.5 * ((t - c) / 0.9) ** 2)
    # prone: femur horizontal along world y, shin vertical; internal rotation (left leg) swings
    # the foot outward (+x) about the femur's long axis (world y)
    shin = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), angle)
    thigh = Q.from_axis_angle(np.array([0.0, 1.0, 0.0]), 0.3 * angle)
    header = SessionHeader(
        side="left",
        exercise="prone",
        sensors=(SensorInfo("thigh", rate_hz=RATE), SensorInfo("shin", rate_hz=RATE)),
        time_base="simulated",
        extra={"simulated": True, "generator": "tools/make_placeholder_recording.py"},
    )
    events = [Event(0.0, "note", data={"text": "SIMULATED placeholder data"})]
    write_session(
        out,
        header,
        {"thigh": _imu(thigh, t, rng), "shin": _imu(shin, t, rng)},
        events=events,
        overwrite=True,
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path("recordings/prone-left-placeholder-simulated.imuhip")
    )
