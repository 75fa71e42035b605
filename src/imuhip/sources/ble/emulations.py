"""Vendor emulations for :class:`~imuhip.sources.ble.virtual_sensor.VirtualSensor`.

Glue only: frame layouts, command formats and profiles come from the vendor modules of
:mod:`imuhip.decode` (their encoders and command parsers), so a virtual sensor speaks exactly the
bytes the decoders read.
"""

from __future__ import annotations

import time

import numpy as np

from imuhip.decode import witmotion as wit
from imuhip.sources.ble.virtual_sensor import CharSpec, Emulation, SensorState

#: Seconds an unlock command keeps configuration writes open (WTVB01-BT50 manual).
WIT_UNLOCK_S = 10.0


class WitMotionEmulation(Emulation):
    """A WitMotion BLE 5.0 IMU (BWT901BLECL5.0 / WT9011DCL-BT50).

    Behaviour, from the protocol notes: streams ``55 61`` frames (one per notification) as soon
    as notifications on ffe4 are enabled, at the configured output rate (default 10 Hz); ``FF AA
    03 code 00`` changes the rate; ``FF AA 27 reg 00`` is answered with a ``55 71`` register reply
    on ffe4; unlock, save, bandwidth and calibration commands are accepted.

    Args:
        strict_unlock: refuse rate changes not preceded by an unlock within 10 s (the vendor
            apps disagree on whether firmware requires it; lenient by default).
        frames_per_notification: 55 61 frames per notification (1 on documented firmware).
    """

    profile = wit.PROFILE_INFO
    name = "WT901BLE68"
    characteristics = (
        CharSpec(wit.NOTIFY_UUID, ("notify",)),
        CharSpec(wit.WRITE_UUID, ("write", "write-without-response")),
    )
    default_rate_hz = 10.0

    def __init__(self, strict_unlock: bool = False, frames_per_notification: int = 1) -> None:
        self.strict_unlock = strict_unlock
        self.frames_per_notification = max(1, int(frames_per_notification))

    def initial_state(self) -> SensorState:
        s = super().initial_state()
        s.extra.update(unlocked_until=0.0, bandwidth_hz=None, saves=0, refused=0)
        return s

    def batch(self, state: SensorState) -> int:
        return self.frames_per_notification

    def on_subscribe(self, state: SensorState, uuid: str, enabled: bool) -> None:
        if uuid == wit.NOTIFY_UUID:
            state.streaming = enabled

    def on_write(self, state: SensorState, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        if uuid != wit.WRITE_UUID:
            return []
        cmd = wit.parse_command(data)
        if cmd is None:
            return []
        now = time.monotonic()
        unlocked = now < state.extra["unlocked_until"] or not self.strict_unlock
        if cmd.kind == "unlock":
            state.extra["unlocked_until"] = now + WIT_UNLOCK_S
        elif cmd.kind == "rate":
            if cmd.rate_hz is not None and unlocked:
                state.rate_hz = cmd.rate_hz
            else:
                state.extra["refused"] += 1
        elif cmd.kind == "bandwidth" and unlocked:
            state.extra["bandwidth_hz"] = cmd.bandwidth_hz
        elif cmd.kind == "save":
            state.extra["saves"] += 1
        elif cmd.kind == "read":
            words = [wit.RATE_CODES.get(state.rate_hz, 0)] if cmd.value == wit.REG_RATE else []
            return [(wit.NOTIFY_UUID, wit.encode_register_reply(cmd.value, words))]
        return []

    def encode(
        self, state: SensorState, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> list[tuple[str, bytes]]:
        payloads = wit.encode_notifications(
            t, acc, gyr, state.rate_hz, frames_per_notification=self.frames_per_notification
        )
        return [(wit.NOTIFY_UUID, p) for p in payloads]


__all__ = ["WitMotionEmulation"]
