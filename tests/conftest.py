from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from imuhip.samples import ImuSamples
from imuhip.session import Event, Notifications, SensorInfo, SessionHeader

# CI machines are small and shared: slow example generation is not a failure of the code
settings.register_profile(
    "imuhip",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("imuhip")


def make_samples(n: int, t0: float = 0.0, rate: float = 100.0, mag: bool = True, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate
    acc = rng.normal(0, 0.2, (n, 3)) + [0, 0, 9.81]
    gyr = rng.normal(0, 0.05, (n, 3))
    m = rng.normal(0, 1, (n, 3)) + [20, 0, -40] if mag else None
    return ImuSamples(t, acc, gyr, m)


@pytest.fixture
def header() -> SessionHeader:
    return SessionHeader(
        side="left",
        exercise="prone",
        sensors=(
            SensorInfo("thigh", "samples", rate_hz=100.0),
            SensorInfo("shin", "witmotion-ble5", address="AA:BB", rate_hz=100.0),
        ),
        time_base="simulated",
    )


@pytest.fixture
def small_session(header):
    """Data for a small but complete session: samples, notifications, events."""
    thigh = make_samples(300, mag=True)
    t = 0.005 + np.arange(300) / 100.0
    payloads = [bytes([0x55, 0x61, i % 256]) + bytes(17) for i in range(300)]
    shin = Notifications.from_list(t, payloads)
    events = [
        Event(0.0, "calibration_phase", data={"phase": "still"}),
        Event(1.234, "mark", data={"label": "start"}),
        Event(2.5, "connection_lost", sensor="shin"),
    ]
    return header, {"thigh": thigh}, {"shin": shin}, events


@pytest.fixture
def local_tz(monkeypatch):
    """Set the process's local time zone (``local_tz("Asia/Kolkata")``); restored afterwards."""
    import time

    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()
