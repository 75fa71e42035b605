"""MbientLab MetaMotion (MetaWear firmware), raw acc/gyro streaming: profile ``"metamotion"``.

Every command (written without response to 326a9001) and every notification (326a9006) is
``[module id, register id, payload…]``. Data notifications used here:

- accelerometer (module 0x03): one sample ``03 04`` + 3 × int16 (8 bytes); packed, three
  samples, ``03 1C`` (BMI160) / ``03 05`` (BMI270) + 9 × int16 (20 bytes);
- gyroscope (module 0x13): one sample ``13 05`` (BMI160) / ``13 04`` (BMI270); packed ``13 07``
  (BMI160) / ``13 05`` (BMI270);
- magnetometer BMM150 (module 0x15), optional: one sample ``15 05`` + 3 × int16 ÷16 → µT;
  packed, three samples, ``15 09`` + 9 × int16 (20 bytes, both chips).

Raw counts are scaled by the configured range: acc LSB per g 16384/8192/4096/2048 for ±2/4/8/16 g,
gyro LSB per °/s 16.4/32.8/65.6/131.2/262.4 for ±2000/1000/500/250/125 °/s. The chip
(``"bmi160"`` on MetaMotion R/RL/C, ``"bmi270"`` on MetaMotion S) selects the register map and
range codes, so it is part of the decoder config.

Times: plain streaming carries no sensor timestamp and no counter, so samples get the host
receive time (``sensor_clock=False``) and lost samples cannot be counted. In a packed
notification received at ``t_host`` the three samples are the most recent ones:
``t_host - 2/rate, t_host - 1/rate, t_host``, with the acc/gyro ODR ``rate_hz`` for those and
the magnetometer's own ODR ``mag_rate_hz`` (default 10 Hz, the "regular" preset) for packed
magnetometer notifications.

Module-info replies ``[id, 80, implementation, revision…]`` (answers to the reads :func:`start`
sends first) are recorded in :attr:`MetaMotionDecoder.module_info`, not dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import DEG, EncodedNotification, G, block, config_rate, quantise
from imuhip.decode.base import Decoder
from imuhip.decode.profile import (
    Advertisement,
    GattWrite,
    SensorProfile,
    nearest_rate,
    register_profile,
)
from imuhip.samples import ChannelBlock

PROFILE = "metamotion"


def _uuid(short: int) -> str:
    return f"326a{short:04x}-85cb-9195-d9dd-464cfbbae75a"


SERVICE_UUID = _uuid(0x9000)
COMMAND_UUID = _uuid(0x9001)
NOTIFY_UUID = _uuid(0x9006)

MODULE_ACC = 0x03
MODULE_GYR = 0x13
MODULE_MAG = 0x15
MODULES = {"acc": MODULE_ACC, "gyr": MODULE_GYR, "mag": MODULE_MAG}
_KINDS = ("acc", "gyr", "mag")
REG_POWER = 0x01
REG_INTERRUPT = 0x02
REG_CONFIG = 0x03
#: BMM150 registers (module 0x15): output data rate code, xy / z repetitions
REG_MAG_DATA_RATE = 0x03
REG_MAG_REPETITIONS = 0x04
REG_INFO = 0x80  # module info read: register 0 with the read bit
READ_BIT = 0x80

CHIPS = ("bmi160", "bmi270")
DEFAULT_CHIP = "bmi160"
#: chip -> kind -> (single-sample data register, packed data register)
DATA_REGISTERS: dict[str, dict[str, tuple[int, int]]] = {
    "bmi160": {"acc": (0x04, 0x1C), "gyr": (0x05, 0x07), "mag": (0x05, 0x09)},
    "bmi270": {"acc": (0x04, 0x05), "gyr": (0x04, 0x05), "mag": (0x05, 0x09)},
}
#: accelerometer implementation byte of the module-info reply -> chip
ACC_IMPLEMENTATIONS = {1: "bmi160", 4: "bmi270"}
SINGLE_LEN = 2 + 6
PACKED_LEN = 2 + 18
PACKED_SAMPLES = 3

#: ±g -> LSB per g (both chips)
ACC_LSB_PER_G = {2.0: 16384.0, 4.0: 8192.0, 8.0: 4096.0, 16.0: 2048.0}
#: chip -> ±g -> range byte of the accelerometer config command
ACC_RANGE_CODES: dict[str, dict[float, int]] = {
    "bmi160": {2.0: 0x03, 4.0: 0x05, 8.0: 0x08, 16.0: 0x0C},
    "bmi270": {2.0: 0, 4.0: 1, 8.0: 2, 16.0: 3},
}
#: ±°/s -> LSB per °/s
GYR_LSB_PER_DPS = {125.0: 262.4, 250.0: 131.2, 500.0: 65.6, 1000.0: 32.8, 2000.0: 16.4}
GYR_RANGE_CODES = {2000.0: 0, 1000.0: 1, 500.0: 2, 250.0: 3, 125.0: 4}
MAG_LSB_PER_UT = 16.0
#: BMM150 ODR code (``15 03 code``) -> Hz
MAG_ODR_CODES = {0: 10.0, 1: 2.0, 2: 6.0, 3: 8.0, 4: 15.0, 5: 20.0, 6: 25.0, 7: 30.0}
#: The "regular" preset :func:`start` writes with ``mag``: 9 xy and 15 z repetitions at 10 Hz,
#: as ``15 04 (9-1)/2 15-1`` and ``15 03 00``.
MAG_PRESET_REGULAR = (9, 15, 0)
DEFAULT_MAG_RATE = 10.0

#: Output data rate (Hz) -> ODR code (low nibble of the config byte); rate = 100 × 2^(code − 8).
ACC_ODR_CODES = {12.5 * 2**k: 5 + k for k in range(8)}  # 12.5 … 1600 Hz
GYR_ODR_CODES = {25.0 * 2**k: 6 + k for k in range(8)}  # 25 … 3200 Hz
#: Rates offered for acc + gyro streaming (both sensors run at the same ODR).
RATES_HZ = (25.0, 50.0, 100.0, 200.0)
DEFAULT_RATE = 100.0
#: Above this rate the packed signals are used by default (plain streaming ≈ 100 Hz per signal).
PLAIN_MAX_HZ = 100.0
DEFAULT_ACC_RANGE_G = 8.0
DEFAULT_GYR_RANGE_DPS = 2000.0
#: pause after each command write, s (writes are without response)
STEP_DELAY_S = 0.02


def odr_rate(code: int) -> float | None:
    """Rate in Hz of an ODR code 1…13 (None otherwise)."""
    return 100.0 * 2.0 ** (code - 8) if 1 <= code <= 13 else None


def _nearest(table: Mapping[float, Any], value: Any, default: float) -> float:
    """The key of ``table`` closest to ``value`` (``default`` if ``value`` is not a number)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if not np.isfinite(v):
        return default
    return min(table, key=lambda k: abs(k - v))


def _chip(value: Any, strict: bool = False) -> str:
    chip = str(value).lower() if value is not None else DEFAULT_CHIP
    if chip in CHIPS:
        return chip
    if strict:
        raise ValueError(f"unknown MetaMotion IMU chip {value!r}; use one of {', '.join(CHIPS)}")
    return DEFAULT_CHIP


# --------------------------------------------------------------------------- decoder


@register
class MetaMotionDecoder(Decoder):
    """Decoder of MetaWear raw acc / gyro (/ mag) data notifications.

    Config: ``chip`` ("bmi160" default, "bmi270"), ``acc_range_g`` (2, 4, 8, 16; default 8),
    ``gyr_range_dps`` (125…2000; default 2000), ``rate_hz`` (ODR, spaces the samples of a
    packed notification; default 100), ``mag_rate_hz`` (magnetometer ODR, spaces the samples
    of a packed magnetometer notification; default 10). Invalid chips and ranges fall back to
    the defaults; numbers between ranges snap to the nearest range. An unusable ``rate_hz`` or
    ``mag_rate_hz`` raises
    :class:`~imuhip.errors.DecoderConfigError` (see :func:`~imuhip.decode._common.config_rate`).

    Extra state: :attr:`module_info` maps a module id to the payload of its last module-info
    reply (implementation, revision, …); :attr:`detected_chip` reads the chip from it.
    """

    profile = PROFILE
    notify_uuids = (NOTIFY_UUID,)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self.chip = _chip(self.config.get("chip"))
        acc = _nearest(ACC_LSB_PER_G, self.config.get("acc_range_g"), DEFAULT_ACC_RANGE_G)
        gyr = _nearest(GYR_LSB_PER_DPS, self.config.get("gyr_range_dps"), DEFAULT_GYR_RANGE_DPS)
        self.acc_range_g, self.gyr_range_dps = acc, gyr
        self._scale = {
            "acc": G / ACC_LSB_PER_G[acc],
            "gyr": DEG / GYR_LSB_PER_DPS[gyr],
            "mag": 1.0 / MAG_LSB_PER_UT,
        }
        self._period = {
            "acc": 1.0 / config_rate(self.config, DEFAULT_RATE, PROFILE),
            "mag": 1.0 / config_rate(self.config, DEFAULT_MAG_RATE, PROFILE, "mag_rate_hz"),
        }
        self._period["gyr"] = self._period["acc"]
        #: (module, register) -> (kind, samples per notification)
        self._signals: dict[tuple[int, int], tuple[str, int]] = {}
        for kind, (single, packed) in DATA_REGISTERS[self.chip].items():
            self._signals[(MODULES[kind], single)] = (kind, 1)
            self._signals[(MODULES[kind], packed)] = (kind, PACKED_SAMPLES)
        self._kind_table = np.full(1 << 16, -1, np.int64)
        self._count_table = np.zeros(1 << 16, np.int64)
        for (module, reg), (kind, n) in self._signals.items():
            self._kind_table[module << 8 | reg] = _KINDS.index(kind)
            self._count_table[module << 8 | reg] = n
        self.module_info: dict[int, bytes] = {}
        self.info_replies = 0

    @property
    def detected_chip(self) -> str | None:
        """Chip named by the accelerometer module-info reply, if one was seen."""
        info = self.module_info.get(MODULE_ACC, b"")
        return ACC_IMPLEMENTATIONS.get(info[0]) if info else None

    def _classify(self, data: bytes, channel: int) -> tuple[str, int] | str | None:
        """(kind, samples) for a data notification, a drop reason, or None for a module-info
        reply (recorded here)."""
        if channel != 0:
            return "unknown_channel"
        if len(data) < 2:
            return "too_short"
        if data[1] == REG_INFO:
            self.module_info[data[0]] = data[2:]
            self.info_replies += 1
            return None
        sig = self._signals.get((data[0], data[1]))
        if sig is None:
            return "unknown_register"
        if len(data) != (SINGLE_LEN if sig[1] == 1 else PACKED_LEN):
            return "bad_length"
        return sig

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        self.stats.notifications += 1
        data = bytes(data)
        c = self._classify(data, channel)
        if c is None:
            return []
        if isinstance(c, str):
            self.stats.drop(c)
            return []
        kind, n = c
        values = np.frombuffer(data, "<i2", offset=2).reshape(-1, 3) * self._scale[kind]
        t = float(t_host) - (n - 1 - np.arange(n)) * self._period[kind]
        self.stats.samples += n
        return [block(kind, t, values, False)]  # type: ignore[arg-type]

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Vectorised: headers and lengths are classified with numpy, then each kind is converted
        in one operation. One block per kind, in order of first appearance (as
        :func:`~imuhip.decode._common.merge_blocks` of sequential :meth:`feed` calls)."""
        n = len(payloads)
        ch = np.zeros(n, np.int64) if channels is None else np.asarray(channels).astype(np.int64)
        th = np.asarray(t_host, np.float64).reshape(-1)
        self.stats.notifications += n
        if n == 0:
            return []
        payloads = [bytes(p) for p in payloads]
        lens = np.fromiter(map(len, payloads), np.int64, n)
        off = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=off[1:])
        buf = np.frombuffer(b"".join(payloads), np.uint8)
        has_head = lens >= 2
        key = np.full(n, -1, np.int64)
        head = off[:-1][has_head]
        key[has_head] = buf[head].astype(np.int64) << 8 | buf[head + 1]
        kind = np.where(key >= 0, self._kind_table[np.maximum(key, 0)], -1)
        count = np.where(kind >= 0, self._count_table[np.maximum(key, 0)], 0)
        info = has_head & ((key & 0xFF) == REG_INFO) & (ch == 0)
        reasons = {
            "unknown_channel": ch != 0,
            "too_short": (ch == 0) & ~has_head,
            "unknown_register": (ch == 0) & has_head & ~info & (kind < 0),
            "bad_length": (kind >= 0) & ~info & (ch == 0) & (lens != 2 + 6 * count),
        }
        for reason, mask in reasons.items():
            k = int(mask.sum())
            if k:
                self.stats.dropped += k
                self.stats.reasons[reason] += k
        for i in np.flatnonzero(info):
            self._classify(payloads[i], 0)  # records the module-info reply, in order
        ok = (ch == 0) & (kind >= 0) & ~info & (lens == 2 + 6 * count)
        found = [
            (int(np.argmax(ok & (kind == k))), k) for k in range(3) if (ok & (kind == k)).any()
        ]
        out = []
        for _, k in sorted(found):
            idx = np.flatnonzero(ok & (kind == k))
            cnt = count[idx]
            total = int(cnt.sum())
            first = np.cumsum(cnt) - cnt
            j = np.arange(total) - np.repeat(first, cnt)
            back = np.repeat(cnt, cnt) - 1 - j
            name = _KINDS[k]
            t = np.repeat(th[idx], cnt) - back * self._period[name]
            nbytes = 6 * cnt
            pos = np.repeat(off[idx] + 2 - (np.cumsum(nbytes) - nbytes), nbytes) + np.arange(
                int(nbytes.sum())
            )
            values = buf[pos].view("<i2").reshape(-1, 3) * self._scale[name]
            self.stats.samples += total
            out.append(block(name, t, values, False))  # type: ignore[arg-type]
        return out


# --------------------------------------------------------------------------- encoder


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float = DEFAULT_RATE,
    *,
    acc_range_g: float = DEFAULT_ACC_RANGE_G,
    gyr_range_dps: float = DEFAULT_GYR_RANGE_DPS,
    chip: str = DEFAULT_CHIP,
    packed: bool = False,
    mag: np.ndarray | None = None,
    t_mag: np.ndarray | None = None,
    mag_packed: bool = False,
) -> list[EncodedNotification]:
    """Data notifications the sensor would send for samples at times ``t`` (channel 0).

    Args:
        t: (N,) sample times, s (the frames carry no time; they set the send times).
        acc: (N, 3) m/s²; gyr: (N, 3) rad/s; mag: optional (M, 3) µT.
        t_mag: (M,) magnetometer sample times, s (default ``t``; the BMM150 runs at its own
            ODR, for which the decoder's ``mag_rate_hz`` spaces packed samples).
        rate_hz: ODR (unused on the wire; the decoder needs it for packed samples).
        acc_range_g, gyr_range_dps: ranges (snapped to the nearest supported one); values are
            rounded to counts and clipped to int16 like a saturating sensor.
        chip: "bmi160" or "bmi270" (register ids).
        packed: three acc / gyro samples per notification, sent at the time of the third; a
            final group of fewer than three samples is not sent (the sensor only sends full
            packs).
        mag_packed: the same for the magnetometer (``15 09``).

    Returns:
        notifications in send-time order; at equal times acc, then gyro, then mag.
    """
    del rate_hz
    chip = _chip(chip, strict=True)
    t = np.asarray(t, np.float64).reshape(-1)
    a = _nearest(ACC_LSB_PER_G, acc_range_g, DEFAULT_ACC_RANGE_G)
    g = _nearest(GYR_LSB_PER_DPS, gyr_range_dps, DEFAULT_GYR_RANGE_DPS)
    # (kind, sample times, int16 words, samples per notification)
    streams = [
        ("acc", t, quantise(np.asarray(acc).reshape(-1, 3) / G, ACC_LSB_PER_G[a]), packed),
        ("gyr", t, quantise(np.asarray(gyr).reshape(-1, 3) / DEG, GYR_LSB_PER_DPS[g]), packed),
    ]
    if mag is not None:
        tm = t if t_mag is None else np.asarray(t_mag, np.float64).reshape(-1)
        words = quantise(np.asarray(mag).reshape(-1, 3), MAG_LSB_PER_UT)
        streams.append(("mag", tm, words, mag_packed))
    regs = DATA_REGISTERS[chip]
    # per stream: (send times, order, payload rows)
    parts: list[tuple[np.ndarray, int, np.ndarray]] = []
    for order, (kind, ts, words, pack) in enumerate(streams):
        k = PACKED_SAMPLES if pack else 1
        m = len(ts) // k * k  # full packs only
        rows = np.empty((m // k, 2 + 6 * k), np.uint8)
        rows[:, 0] = MODULES[kind]
        rows[:, 1] = regs[kind][1 if k > 1 else 0]
        rows[:, 2:] = words[:m].astype("<i2").view(np.uint8).reshape(m // k, 6 * k)
        parts.append((ts[k - 1 : m : k], order, rows))
    times = np.concatenate([p[0] for p in parts])
    orders = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    seq = np.lexsort((orders, times))
    flat = np.concatenate([p[2].reshape(-1) for p in parts])
    sizes = np.concatenate([np.full(len(p[0]), p[2].shape[1]) for p in parts])
    starts = np.cumsum(sizes) - sizes
    raw = flat.tobytes()
    ts, a, b = times[seq].tolist(), starts[seq].tolist(), (starts + sizes)[seq].tolist()
    return [EncodedNotification(ti, 0, raw[i:j]) for ti, i, j in zip(ts, a, b, strict=True)]


def encode_module_info(module: int, implementation: int, revision: int = 0) -> bytes:
    """A module-info reply ``[module, 80, implementation, revision]``."""
    return bytes([module, REG_INFO, implementation, revision])


# --------------------------------------------------------------------------- commands


def acc_config_byte(rate_hz: float, chip: str = DEFAULT_CHIP) -> int:
    """Accelerometer config byte ``odr | bwp<<4 | us<<7`` for a rate in :data:`ACC_ODR_CODES`
    (KeyError otherwise): BMI160 bwp 2, us 0; BMI270 bwp 2, us 1."""
    odr = ACC_ODR_CODES[float(rate_hz)]
    return odr | 0x20 | (0x80 if _chip(chip, strict=True) == "bmi270" else 0)


def gyr_config_byte(rate_hz: float) -> int:
    """Gyro config byte ``odr | 2<<4`` for a rate in :data:`GYR_ODR_CODES` (KeyError otherwise)."""
    return GYR_ODR_CODES[float(rate_hz)] | 0x20


def acc_config_command(rate_hz: float, range_g: float, chip: str = DEFAULT_CHIP) -> bytes:
    """``03 03 conf range``."""
    code = ACC_RANGE_CODES[_chip(chip, strict=True)][float(range_g)]
    return bytes([MODULE_ACC, REG_CONFIG, acc_config_byte(rate_hz, chip), code])


def gyr_config_command(rate_hz: float, range_dps: float) -> bytes:
    """``13 03 conf range``."""
    return bytes([MODULE_GYR, REG_CONFIG, gyr_config_byte(rate_hz), GYR_RANGE_CODES[range_dps]])


def power_command(kind: str, on: bool, chip: str = DEFAULT_CHIP, conf: int | None = None) -> bytes:
    """``<module> 01 01`` start / ``… 00`` stop. On the BMI270 accelerometer the start byte is
    02 when its config byte ``conf`` has the under-sampling bit (0x80) clear."""
    value = 0x01 if on else 0x00
    bmi270_acc = kind == "acc" and _chip(chip, strict=True) == "bmi270"
    if on and bmi270_acc and conf is not None and not conf & 0x80:
        value = 0x02
    return bytes([MODULES[kind], REG_POWER, value])


def interrupt_command(kind: str, on: bool) -> bytes:
    """Data interrupt ``<module> 02 01 00`` enable / ``… 00 01`` disable."""
    return bytes([MODULES[kind], REG_INTERRUPT, *((1, 0) if on else (0, 1))])


def subscribe_command(kind: str, on: bool, chip: str = DEFAULT_CHIP, packed: bool = False) -> bytes:
    """``<module> <data register> 01`` subscribe / ``… 00`` unsubscribe."""
    reg = DATA_REGISTERS[_chip(chip, strict=True)][kind][1 if packed else 0]
    return bytes([MODULES[kind], reg, 1 if on else 0])


def mag_preset_commands(
    xy_reps: int = MAG_PRESET_REGULAR[0],
    z_reps: int = MAG_PRESET_REGULAR[1],
    odr_code: int = MAG_PRESET_REGULAR[2],
) -> list[bytes]:
    """BMM150 repetitions ``15 04 (xy-1)/2 z-1`` then data rate ``15 03 code``; default the
    "regular" preset (9, 15, 10 Hz)."""
    reps = bytes([MODULE_MAG, REG_MAG_REPETITIONS, (xy_reps - 1) // 2, z_reps - 1])
    return [reps, bytes([MODULE_MAG, REG_MAG_DATA_RATE, odr_code])]


def info_command(kind: str) -> bytes:
    """Module-info read ``<module> 80``."""
    return bytes([MODULES[kind], REG_INFO])


@dataclass(frozen=True)
class MetaWearCommand:
    """A parsed write to the command characteristic.

    Attributes:
        module, register: header bytes (``register`` without the read bit for reads).
        payload: bytes after the header.
        kind: "info", "read", "config", "power", "interrupt", "subscribe" or "other".
        sensor: "acc", "gyr", "mag" or None for other modules.
        enable: power / interrupt / subscribe switched on (True) or off (False).
        packed: for "subscribe", whether the packed data register is meant.
        rate_hz: for "config", the ODR (None for an unknown code); the magnetometer's
            config is its data-rate write ``15 03 code``.
        range: for acc/gyro "config", ±g or ±°/s (None for an unknown code).
    """

    module: int
    register: int
    payload: bytes
    kind: str
    sensor: str | None = None
    enable: bool | None = None
    packed: bool | None = None
    rate_hz: float | None = None
    range: float | None = None


def parse_command(data: bytes, chip: str = DEFAULT_CHIP) -> MetaWearCommand | None:
    """Parse a command for ``chip`` ("bmi160"/"bmi270"); None if shorter than 2 bytes."""
    data = bytes(data)
    if len(data) < 2:
        return None
    chip = _chip(chip)
    module, reg, payload = data[0], data[1], data[2:]
    sensor = {v: k for k, v in MODULES.items()}.get(module)
    if reg & READ_BIT:
        kind = "info" if reg == REG_INFO else "read"
        return MetaWearCommand(module, reg & 0x7F, payload, kind, sensor)
    if sensor is None:
        return MetaWearCommand(module, reg, payload, "other")
    if reg == REG_POWER and len(payload) == 1 and payload[0] in (0, 1, 2):
        return MetaWearCommand(module, reg, payload, "power", sensor, enable=payload[0] != 0)
    if reg == REG_INTERRUPT and payload in (b"\x01\x00", b"\x00\x01"):
        return MetaWearCommand(module, reg, payload, "interrupt", sensor, enable=payload[0] == 1)
    regs = DATA_REGISTERS[chip][sensor]
    if reg in regs and len(payload) == 1 and payload[0] in (0, 1):
        packed = reg == regs[1] and reg != regs[0]
        return MetaWearCommand(
            module, reg, payload, "subscribe", sensor, enable=payload[0] == 1, packed=packed
        )
    if sensor == "mag" and reg == REG_MAG_DATA_RATE and len(payload) == 1:
        rate = MAG_ODR_CODES.get(payload[0])
        return MetaWearCommand(module, reg, payload, "config", sensor, rate_hz=rate)
    if reg == REG_CONFIG and sensor != "mag" and len(payload) == 2:
        rate = odr_rate(payload[0] & 0x0F)
        codes = ACC_RANGE_CODES[chip] if sensor == "acc" else GYR_RANGE_CODES
        rng = {v: k for k, v in codes.items()}.get(payload[1])
        return MetaWearCommand(module, reg, payload, "config", sensor, rate_hz=rate, range=rng)
    return MetaWearCommand(module, reg, payload, "other", sensor)


# --------------------------------------------------------------------------- profile


def recognise(adv: Advertisement) -> bool:
    """Default name "MetaWear" (also "MetaMotion…" names), or the MetaWear service UUID in the
    advertisement. "MetaBoot" (the firmware-update bootloader) is not a streaming sensor."""
    name = adv.name or ""
    if name.startswith(("MetaWear", "MetaMotion")):
        return True
    return SERVICE_UUID in adv.service_uuids and not name.startswith("MetaBoot")


def _settings(rate_hz: float, options: Mapping[str, Any], strict: bool) -> dict[str, Any]:
    rate = nearest_rate(RATES_HZ, rate_hz)
    packed = options.get("packed")
    out = {
        "rate_hz": rate,
        "chip": _chip(options.get("chip", DEFAULT_CHIP), strict=strict),
        "acc_range_g": _nearest(ACC_LSB_PER_G, options.get("acc_range_g"), DEFAULT_ACC_RANGE_G),
        "gyr_range_dps": _nearest(
            GYR_LSB_PER_DPS, options.get("gyr_range_dps"), DEFAULT_GYR_RANGE_DPS
        ),
        "packed": bool(packed) if packed is not None else rate > PLAIN_MAX_HZ,
        "mag": bool(options.get("mag", False)),
    }
    if out["mag"]:  # start() sets the regular preset, so the magnetometer runs at 10 Hz
        out["mag_rate_hz"] = MAG_ODR_CODES[MAG_PRESET_REGULAR[2]]
        out["mag_packed"] = bool(options.get("mag_packed", False))
    return out


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Read module info, configure acc + gyro (ODR, range), subscribe, enable the data
    interrupts, power the sensors on.

    Options: ``chip`` ("bmi160" default for MetaMotion R/RL/C, "bmi270" for MetaMotion S),
    ``acc_range_g`` (2/4/8/16, default 8), ``gyr_range_dps`` (125…2000, default 2000),
    ``packed`` (three samples per notification; default on above 100 Hz), ``mag`` (also stream
    the BMM150 magnetometer, set to the "regular" preset: 10 Hz), ``mag_packed`` (its packed
    signal, three samples per notification), ``read_info`` (default True).
    """
    options = dict(options or {})
    s = _settings(rate_hz, options, strict=True)
    chip, rate, packed = s["chip"], s["rate_hz"], s["packed"]
    kinds = ["acc", "gyr"] + (["mag"] if s["mag"] else [])
    acc_conf = acc_config_byte(rate, chip)
    cmds: list[bytes] = []
    if options.get("read_info", True):
        cmds += [info_command(k) for k in kinds]
    cmds += [
        acc_config_command(rate, s["acc_range_g"], chip),
        gyr_config_command(rate, s["gyr_range_dps"]),
    ]
    if s["mag"]:
        cmds += mag_preset_commands()
    pack = {"acc": packed, "gyr": packed, "mag": s.get("mag_packed", False)}
    cmds += [subscribe_command(k, True, chip, pack[k]) for k in kinds]
    cmds += [interrupt_command(k, True) for k in kinds]
    cmds += [power_command(k, True, chip, acc_conf if k == "acc" else None) for k in kinds]
    return [GattWrite(COMMAND_UUID, c, False, STEP_DELAY_S) for c in cmds]


def stop() -> list[GattWrite]:
    """Power off gyro, acc and magnetometer, disable their data interrupts, then unsubscribe the
    data registers whose meaning is the same on both chips (acc ``03 04``, gyro ``13 05``, mag
    ``15 05``, packed mag ``15 09``); the stop takes no options, so chip-specific registers are
    left alone (the sensors are off, and disabling notifications ends the stream on the host
    side)."""
    kinds = ("gyr", "acc", "mag")
    cmds = [power_command(k, False) for k in kinds]
    cmds += [interrupt_command(k, False) for k in kinds]
    cmds += [
        bytes([MODULE_GYR, 0x05, 0]),
        bytes([MODULE_ACC, 0x04, 0]),
        bytes([MODULE_MAG, 0x05, 0]),
        bytes([MODULE_MAG, 0x09, 0]),
    ]
    return [GattWrite(COMMAND_UUID, c, False, STEP_DELAY_S) for c in cmds]


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rate, chip, ranges, packed and mag flags: everything needed to decode a recording."""
    return _settings(rate_hz, dict(options or {}), strict=True)


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="MbientLab MetaMotion (MetaWear)",
        service_uuid=SERVICE_UUID,
        notify_uuids=(NOTIFY_UUID,),
        command_uuid=COMMAND_UUID,
        rates_hz=RATES_HZ,
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
        # no response_uuid: the board answers reads only, so the BLE layer must not wait for
        # an answer to each write; the module-info replies arrive on channel 0 and are recorded
    )
)
