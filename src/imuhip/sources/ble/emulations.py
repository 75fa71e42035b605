"""Vendor emulations for :class:`~imuhip.sources.ble.virtual_sensor.VirtualSensor`.

Glue only: frame layouts, command formats and profiles come from the vendor modules of
:mod:`imuhip.decode` (their encoders and command parsers), so a virtual sensor speaks exactly the
bytes the decoders read.
"""

from __future__ import annotations

import time

import numpy as np

from imuhip.decode import polar_pmd as pmd
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


#: Selectable values per kind of a Verity Sense (online streaming; SDK mode opens all rates).
POLAR_CHOICES: dict[str, dict[str, tuple[int, ...]]] = {
    "acc": {"sample_rate": (52,), "resolution": (16,), "range": (2, 4, 8, 16), "channels": (3,)},
    "gyr": {
        "sample_rate": (52,),
        "resolution": (16,),
        "range": (250, 500, 1000, 2000),
        "channels": (3,),
    },
}
POLAR_SDK_RATES: tuple[int, ...] = tuple(int(r) for r in pmd.ACC_RATES)
#: PMD status codes used by the emulation.
_OK, _BAD_OP, _NOT_SUPPORTED, _BAD_LENGTH, _ALREADY = 0, 1, 3, 4, 6
_BAD_RESOLUTION, _BAD_RATE, _BAD_RANGE, _BAD_CHANNELS, _BAD_STATE = 7, 8, 9, 11, 12


class PolarPmdEmulation(Emulation):
    """A Polar Verity Sense streaming ACC and GYRO over PMD.

    Behaviour, from the protocol notes: advertises as "Polar Sense <id>" with the PMD service;
    a read of the control point (CP) returns the feature bitmap (:func:`~imuhip.decode.polar_pmd.
    feature_bytes`: ACC, GYRO and SDK mode, which is what this emulation can stream); every CP
    request is answered by an indication ``F0 op type status more params``:

    - get settings ``01 T`` / SDK settings ``04 T``: the selectable values as settings TLVs
      (52 Hz only outside SDK mode, 26-416 Hz in it);
    - start ``02 T`` + TLVs: checks rate, resolution, range and channels against those choices
      (status 8/7/9/11 on a mismatch, 6 if already running, 12 until notifications on the data
      characteristic are enabled) and answers with the conversion FACTOR TLV; the sensor's
      sample clock then runs at the requested rate;
    - SDK mode ``02 09`` / ``03 09`` (entering it needs all measurements stopped);
    - stop ``03 T`` (status 6 if not running).

    Data: delta-compressed frames (frame type 0x80) built by the real encoder, ACC and GYRO
    separately, each frame stamped with the time of its last sample on the sensor's own clock
    (ns since 2000-01-01; the virtual sensor's ``clock_drift_ppm`` makes it drift). A
    disconnection stops the measurements and leaves SDK mode.

    Limits: one sample clock, so ACC and GYRO must run at the same rate (a start at another
    rate than a running measurement is refused with status 8); a measurement started while
    another runs joins at the next frame boundary; no MAG, PPG or offline recording.

    Args:
        device_id: the 8 hex digits of the advertised name "Polar Sense <id>".
        samples_per_frame: samples per ACC/GYRO frame (36 fills a raw int16 frame at the
            default Polar MTU; delta frames too long for ``max_frame_bytes`` are split).
        factors: kind -> conversion factor announced in start responses and used to encode
            (default range / 2^15, i.e. full range over the 16-bit values).
        clock_origin_s: sensor clock at the virtual sensor's start, seconds since 2000-01-01
            (default derived from ``device_id``, about 2026).
        max_frame_bytes: longest notification payload (MTU - 3).
    """

    profile = pmd.PROFILE_INFO
    characteristics = (
        CharSpec(pmd.CP_UUID, ("read", "write", "indicate")),
        CharSpec(pmd.DATA_UUID, ("notify",)),
    )
    default_rate_hz = pmd.DEFAULT_RATE

    def __init__(
        self,
        device_id: str = "B5A3F021",
        *,
        samples_per_frame: int = 36,
        factors: dict[str, float] | None = None,
        clock_origin_s: float | None = None,
        max_frame_bytes: int = pmd.DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.device_id = device_id.upper()
        self.name = f"Polar Sense {self.device_id}"
        self.samples_per_frame = max(1, int(samples_per_frame))
        self.factors = dict(factors or {})
        if clock_origin_s is None:
            clock_origin_s = 8.4e8 + (int(self.device_id, 16) % 10**6) / 7.0
        self.clock_origin_s = float(clock_origin_s)
        self.max_frame_bytes = int(max_frame_bytes)

    def initial_state(self) -> SensorState:
        s = super().initial_state()
        s.extra.update(sdk_mode=False, running={}, commands=[], refused=[])
        return s

    def batch(self, state: SensorState) -> int:
        return self.samples_per_frame

    def choices(self, state: SensorState, kind: str, sdk: bool | None = None) -> dict:
        """Selectable settings of ``kind`` (all rates in SDK mode)."""
        c = dict(POLAR_CHOICES[kind])
        if state.extra["sdk_mode"] if sdk is None else sdk:
            c["sample_rate"] = POLAR_SDK_RATES
        return c

    def factor(self, kind: str, range_: float) -> float:
        return float(self.factors.get(kind, range_ / 32768.0))

    def on_read(self, state: SensorState, uuid: str) -> bytes | None:
        if uuid == pmd.CP_UUID:
            return pmd.feature_bytes(ppg=False, acc=True, gyr=True, mag=False)
        return None

    def on_subscribe(self, state: SensorState, uuid: str, enabled: bool) -> None:
        if uuid == pmd.DATA_UUID and not enabled:
            state.extra["running"].clear()
            state.streaming = False

    def on_disconnect(self, state: SensorState) -> None:
        super().on_disconnect(state)
        state.extra["running"].clear()
        state.extra["sdk_mode"] = False

    def on_write(self, state: SensorState, uuid: str, data: bytes) -> list[tuple[str, bytes]]:
        if uuid != pmd.CP_UUID:
            return []
        cmd = pmd.parse_command(data)
        if cmd is None or pmd.CP_UUID not in state.subscribed:
            return []  # nobody to answer to (the real sensor refuses these commands too)
        state.extra["commands"].append(cmd)
        reply = self._answer(state, cmd)
        if reply[:1] == bytes([pmd.RESPONSE_CODE]) and reply[3] != _OK:
            state.extra["refused"].append((cmd, reply[3]))
        return [(pmd.CP_UUID, reply)]

    def _answer(self, state: SensorState, cmd: pmd.PmdCommand) -> bytes:
        meas = cmd.measurement if cmd.measurement is not None else 0
        x = state.extra
        running: dict[str, dict] = x["running"]

        def status(code: int) -> bytes:
            return pmd.encode_cp_response(cmd.op, meas, code)

        if cmd.op in (pmd.OP_GET_SETTINGS, pmd.OP_GET_SDK_SETTINGS):
            if cmd.kind not in POLAR_CHOICES:
                return status(_NOT_SUPPORTED)
            sdk = True if cmd.op == pmd.OP_GET_SDK_SETTINGS else None
            return pmd.encode_settings_response(
                cmd.kind, self.choices(state, cmd.kind, sdk), cmd.op
            )
        if cmd.op == pmd.OP_START and cmd.kind == "sdk_mode":
            if x["sdk_mode"]:
                return status(_ALREADY)
            if running:
                return status(_BAD_STATE)
            x["sdk_mode"] = True
            return status(_OK)
        if cmd.op == pmd.OP_STOP and cmd.kind == "sdk_mode":
            if not x["sdk_mode"]:
                return status(_ALREADY)
            x["sdk_mode"] = False
            running.clear()
            state.streaming = False
            return status(_OK)
        if cmd.op == pmd.OP_START:
            if cmd.kind not in POLAR_CHOICES or cmd.offline:
                return status(_NOT_SUPPORTED)
            if not cmd.valid:
                return status(_BAD_LENGTH)
            if cmd.kind in running:
                return status(_ALREADY)
            if pmd.DATA_UUID not in state.subscribed:
                return status(_BAD_STATE)
            c = self.choices(state, cmd.kind)
            d = pmd.DEFAULTS[cmd.kind]
            default = {
                "sample_rate": int(d["rate_hz"]),
                "resolution": int(d["resolution"]),
                "range": int(d["range"]),
                "channels": int(d["channels"]),
            }
            pick = {k: (cmd.settings.get(k) or [v])[0] for k, v in default.items()}
            for key, code in (
                ("sample_rate", _BAD_RATE),
                ("resolution", _BAD_RESOLUTION),
                ("range", _BAD_RANGE),
                ("channels", _BAD_CHANNELS),
            ):
                if pick[key] not in c[key]:
                    return status(code)
            rate = float(pick["sample_rate"])
            if running and rate != state.rate_hz:
                return status(_BAD_RATE)  # one sample clock (see the class doc)
            factor = self.factor(cmd.kind, pick["range"])
            running[cmd.kind] = {"settings": pick, "factor": factor}
            state.rate_hz = rate
            state.streaming = True
            return pmd.encode_start_response(cmd.kind, factor)
        if cmd.op == pmd.OP_STOP:
            if cmd.kind not in running:
                return status(_ALREADY)
            del running[cmd.kind]
            state.streaming = bool(running)
            return status(_OK)
        if cmd.op in pmd.OP_NAMES:
            return status(_NOT_SUPPORTED)
        return status(_BAD_OP)

    def stop_by_device(self, state: SensorState) -> list[tuple[str, bytes]]:
        """The sensor ends its measurements by itself (as Polar sensors may, e.g. when taken
        off): clears them and returns the "online measurement stopped" control-point message,
        to send with :meth:`VirtualSensor.notify`."""
        meas = [pmd.MEAS_OF[k] for k in state.extra["running"]]
        state.extra["running"].clear()
        state.streaming = False
        return [(pmd.CP_UUID, pmd.encode_stopped_notification(meas))]

    def encode(
        self, state: SensorState, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray
    ) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        running = state.extra["running"]
        for kind, values in (("acc", acc), ("gyr", gyr)):
            if kind not in running:
                continue
            r = running[kind]
            frames = pmd.encode_frames(
                kind,
                t,
                values,
                state.rate_hz,
                frame_type=0x80,
                factor=r["factor"],
                max_frame_bytes=self.max_frame_bytes,
                clock_offset_s=self.clock_origin_s,
            )
            out += [(pmd.DATA_UUID, f.data) for f in frames]
        return out

    def sensor_clock_s(self, t: np.ndarray) -> np.ndarray:
        """PMD timestamps (seconds since 2000-01-01) of virtual-sensor sample times ``t``."""
        return np.asarray(t, float) + self.clock_origin_s


__all__ = ["POLAR_CHOICES", "PolarPmdEmulation", "WitMotionEmulation"]
