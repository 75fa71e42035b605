"""WitMotion BLE 5.0 IMUs (BWT901BLECL5.0, WT9011DCL-BT50): profile ``"witmotion-ble5"``.

Data arrive on one notify characteristic as 20-byte frames ``55 61`` + 9 × int16 LE
(acc x,y,z ÷32768×16 g; gyro x,y,z ÷32768×2000 °/s; Euler angles, unused here). There is no
checksum, no sequence counter and no timestamp, so samples get the host receive time of the
notification that completed them (``sensor_clock=False``) and lost samples can only be detected
when a frame arrives truncated.

The notification stream is treated as a byte stream: several frames in one notification and a
frame split across notifications are both reassembled; ``55 71`` register replies are parsed into
:attr:`WitMotionDecoder.registers` and counted, not dropped.

Resynchronisation rules (see :meth:`WitMotionDecoder.feed`):

- a partial frame left over from the previous notification is completed by the next one unless
  the next one clearly starts a fresh frame (it begins with ``55 61``/``55 71`` and either holds a
  whole number of frames or the continuation hypothesis is inconsistent); a discarded partial
  frame counts as a drop ``"truncated_frame"`` and, for ``0x61``, one lost sample;
- bytes that belong to no frame are skipped up to the next header and counted once per
  notification as ``"junk_bytes"``;
- a complete frame that is followed by neither the end of the data nor ``0x55``, and that holds
  a header inside it, is treated as truncated (the stream restarts at the inner header).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from imuhip.decode import register
from imuhip.decode._common import (
    DEG,
    G,
    block,
    config_number,
    config_rate,
    merge_blocks,
    norm_uuid,
    quantise,
)
from imuhip.decode.base import Decoder
from imuhip.decode.profile import (
    Advertisement,
    ConfigReadback,
    GattWrite,
    ReadbackAnswer,
    SensorProfile,
    nearest_rate,
    register_profile,
)
from imuhip.samples import ChannelBlock

PROFILE = "witmotion-ble5"
SERVICE_UUID = norm_uuid("ffe5")
NOTIFY_UUID = norm_uuid("ffe4")
WRITE_UUID = norm_uuid("ffe9")

FRAME_LEN = 20
HEADER = 0x55
FLAG_DATA = 0x61
FLAG_REG = 0x71
_HEADERS = (b"\x55\x61", b"\x55\x71")

ACC_RANGE_G = 16.0
GYR_RANGE_DPS = 2000.0
ANGLE_RANGE_DEG = 180.0

#: Output rate (Hz) -> rate-register code, as used by the vendor apps.
RATE_CODES: dict[float, int] = {
    1.0: 0x03,
    5.0: 0x05,
    10.0: 0x06,
    50.0: 0x08,
    100.0: 0x09,
    200.0: 0x0B,
}
#: Bandwidth (Hz) -> bandwidth-register code.
BANDWIDTH_CODES: dict[float, int] = {5.0: 7, 10.0: 6, 20.0: 5, 42.0: 4, 98.0: 3, 188.0: 2}

REG_SAVE = 0x00
REG_CALSW = 0x01
REG_RATE = 0x03
REG_BANDWIDTH = 0x1F
REG_READ = 0x27
REG_UNLOCK = 0x69
UNLOCK_VALUE = 0xB588

CMD_UNLOCK = bytes([0xFF, 0xAA, REG_UNLOCK, 0x88, 0xB5])
CMD_SAVE = bytes([0xFF, 0xAA, REG_SAVE, 0x00, 0x00])


def command(reg: int, value: int) -> bytes:
    """The 5-byte write command ``FF AA reg valueL valueH``."""
    return bytes([0xFF, 0xAA, reg & 0xFF, value & 0xFF, (value >> 8) & 0xFF])


def rate_command(rate_hz: float) -> bytes:
    """Set-output-rate command for a rate in :data:`RATE_CODES` (KeyError otherwise)."""
    return command(REG_RATE, RATE_CODES[float(rate_hz)])


def read_command(reg: int) -> bytes:
    """Register read request ``FF AA 27 reg 00``; the sensor answers with a ``55 71`` frame."""
    return command(REG_READ, reg)


# --------------------------------------------------------------------------- decoder


def _scales(config: Mapping[str, Any]) -> tuple[float, float]:
    """(m/s² per count, rad/s per count); DecoderConfigError for an unusable range."""
    acc = config_number(config, "acc_range_g", ACC_RANGE_G, PROFILE, (0.01, 1e4))
    gyr = config_number(config, "gyr_range_dps", GYR_RANGE_DPS, PROFILE, (0.01, 1e6))
    return acc / 32768.0 * G, gyr / 32768.0 * DEG


def _is_header(buf: bytes, i: int) -> bool:
    return buf[i] == HEADER and (i + 1 >= len(buf) or buf[i + 1] in (FLAG_DATA, FLAG_REG))


def _find_header(buf: bytes, start: int, end: int | None = None) -> int:
    """First index p in [start, end) where a header starts (a lone 0x55 at the very end of the
    buffer counts, it may be completed by the next notification); -1 if none."""
    n = len(buf)
    end = n if end is None else min(end, n)
    best = -1
    for h in _HEADERS:
        p = buf.find(h, start, min(end + 1, n))
        if p != -1 and p < end and (best == -1 or p < best):
            best = p
    if best == -1 and end == n and n > start and buf[n - 1] == HEADER:
        best = n - 1
    return best


@register
class WitMotionDecoder(Decoder):
    """Decoder of the WitMotion BLE 5.0 ``0x61`` stream (acc + gyro; angles ignored).

    Config keys (all optional): ``rate_hz`` (configured output rate, informational),
    ``acc_range_g`` (default 16), ``gyr_range_dps`` (default 2000).

    Extra state: :attr:`registers` maps a start register to the 8 int16 words of the last
    ``0x71`` reply for it; :attr:`register_replies` counts those replies.
    """

    profile = PROFILE
    notify_uuids = (NOTIFY_UUID,)

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self.rate_hz = config_rate(self.config, 0.0, PROFILE)
        self._acc_scale, self._gyr_scale = _scales(self.config)
        self._buf = b""
        self.registers: dict[int, tuple[int, ...]] = {}
        self.register_replies = 0

    def reset(self) -> None:
        self._buf = b""

    # -- byte-stream parsing -------------------------------------------------------------

    def _starts_fresh(self, pending: bytes, data: bytes) -> bool:
        """Whether ``data`` starts a new frame rather than continuing ``pending``."""
        if data[:2] not in _HEADERS:
            return False
        if len(data) % FRAME_LEN == 0:
            return True
        m = FRAME_LEN - len(pending)
        continuation = (
            len(data) == m
            or (len(data) == m + 1 and data[m] == HEADER)
            or (len(data) > m + 1 and data[m : m + 2] in _HEADERS)
        )
        return not continuation

    def _discard(self, partial: bytes) -> None:
        if len(partial) >= 2:
            self.stats.drop("truncated_frame")
            if partial[1] == FLAG_DATA:
                self.stats.lost_samples += 1

    def _parse(self, buf: bytes) -> tuple[list[int], bool]:
        """Offsets of complete 0x61 frames in ``buf``; handles replies, junk, truncation and
        keeps the unfinished tail in ``self._buf``. Returns (offsets, junk_seen)."""
        frames: list[int] = []
        junk = False
        n = len(buf)
        i = 0
        self._buf = b""
        while i < n:
            if not _is_header(buf, i):
                p = _find_header(buf, i + 1)
                junk = True
                if p == -1:
                    break
                i = p
                continue
            if n - i < FRAME_LEN:
                self._buf = buf[i:]
                break
            flag = buf[i + 1]
            nxt = i + FRAME_LEN
            if (
                flag == FLAG_REG
                and nxt < n
                and buf[nxt] != HEADER
                and (nxt + 2 == n or (nxt + 2 < n and buf[nxt + 2] == HEADER))
            ):
                # 22-byte register reply (reported for some firmware): two extra bytes
                self._register_reply(buf[i:nxt])
                i = nxt + 2
                continue
            if nxt < n and buf[nxt] != HEADER:
                p = _find_header(buf, i + 2, nxt)
                if p != -1:
                    self._discard(buf[i:p])
                    i = p
                    continue
            if flag == FLAG_DATA:
                frames.append(i)
            else:
                self._register_reply(buf[i:nxt])
            i = nxt
        return frames, junk

    def _register_reply(self, frame: bytes) -> None:
        words = np.frombuffer(frame, "<i2")
        reg = int(words[1]) & 0xFFFF
        self.registers[reg] = tuple(int(w) for w in words[2:10])
        self.register_replies += 1

    def _convert(self, raw: np.ndarray, t: np.ndarray) -> list[ChannelBlock]:
        """Blocks from ``raw`` (M, 20) uint8 frames stamped ``t`` (M,)."""
        words = np.ascontiguousarray(raw).view("<i2").reshape(-1, 10)
        acc = words[:, 1:4] * self._acc_scale
        gyr = words[:, 4:7] * self._gyr_scale
        self.stats.samples += 2 * len(t)
        return [block("acc", t, acc, False), block("gyr", t, gyr, False)]

    # -- Decoder API ----------------------------------------------------------------------

    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        """Decode one notification; frames completed by it get time ``t_host``."""
        self.stats.notifications += 1
        data = bytes(data)
        if channel != 0:
            self.stats.drop("unknown_channel")
            return []
        if not data:
            self.stats.drop("empty")
            return []
        pending = self._buf
        if pending and self._starts_fresh(pending, data):
            self._discard(pending)
            pending = b""
        buf = pending + data
        frames, junk = self._parse(buf)
        if junk:
            self.stats.drop("junk_bytes")
        if not frames:
            return []
        raw = np.frombuffer(b"".join(buf[i : i + FRAME_LEN] for i in frames), np.uint8)
        return self._convert(raw.reshape(-1, FRAME_LEN), np.full(len(frames), float(t_host)))

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Vectorised decode: runs of notifications made of whole ``0x61`` frames are converted
        in one numpy operation; anything else goes through :meth:`feed`. Returns at most one
        block per kind (the concatenation of what sequential ``feed`` calls give)."""
        n = len(payloads)
        if n == 0:
            return []
        payloads = [bytes(p) for p in payloads]
        lens = np.fromiter(map(len, payloads), np.int64, n)
        off = np.zeros(n + 1, np.int64)
        np.cumsum(lens, out=off[1:])
        return self._decode_joined(t_host, b"".join(payloads), off, channels)

    def decode_joined(
        self, t_host: np.ndarray, payload: bytes, offsets: np.ndarray, channels: np.ndarray
    ) -> list[ChannelBlock]:
        """Same as :meth:`decode_many` on payloads stored back to back (no per-payload copies)."""
        if len(t_host) == 0:
            return []
        return self._decode_joined(t_host, payload, np.asarray(offsets, np.int64), channels)

    def _decode_joined(
        self, t_host: np.ndarray, joined: bytes, off: np.ndarray, channels: np.ndarray | None
    ) -> list[ChannelBlock]:
        """Runs of notifications made of whole ``0x61`` frames are converted from views of the
        joined bytes (frames of a run lie back to back); the rest goes through :meth:`feed`.
        Temporaries are per notification or per run, none per frame of the whole input."""
        n = len(off) - 1
        t_host = np.asarray(t_host, dtype=np.float64)
        lens = np.diff(off)
        arr = np.frombuffer(joined, np.uint8)
        if channels is None:
            ch = None
            ok = (lens > 0) & (lens % FRAME_LEN == 0)
        else:
            ch = np.asarray(channels)
            if ch.dtype.kind not in "iu":
                ch = ch.astype(np.int64)
            ok = (lens > 0) & (lens % FRAME_LEN == 0) & (ch == 0)
        for i, j in zip(*_runs(ok), strict=True):  # a frame without its header spoils its note
            raw = arr[off[i] : off[j]].reshape(-1, FRAME_LEN)
            bad = np.flatnonzero((raw[:, 0] != HEADER) | (raw[:, 1] != FLAG_DATA))
            if len(bad):
                at = off[i] + FRAME_LEN * bad
                ok[np.searchsorted(off[i : j + 1], at, side="right") - 1 + i] = False
        _, run_ends = _runs(ok)
        out: list[ChannelBlock] = []
        i = 0
        while i < n:
            if not ok[i] or self._buf:  # odd notification, or a partial frame is pending
                data = joined[int(off[i]) : int(off[i + 1])]
                out.extend(self.feed(data, float(t_host[i]), 0 if ch is None else int(ch[i])))
                i += 1
                continue
            j = int(run_ends[np.searchsorted(run_ends, i, side="right")])
            raw = arr[off[i] : off[j]].reshape(-1, FRAME_LEN)
            if len(raw) == j - i:  # one frame per notification
                t = t_host[i:j].copy()
            else:
                t = np.repeat(t_host[i:j], lens[i:j] // FRAME_LEN)
            self.stats.notifications += j - i
            out.extend(self._convert(raw, t))
            i = j
        return merge_blocks(out)


def _runs(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of True in ``ok``: ``ok[starts[k]:ends[k]]`` all True."""
    edges = np.flatnonzero(np.diff(ok, prepend=False, append=False))
    return edges[0::2], edges[1::2]


# --------------------------------------------------------------------------- encoder


def encode_frames(
    acc: np.ndarray,
    gyr: np.ndarray,
    angles_deg: np.ndarray | None = None,
    *,
    acc_range_g: float = ACC_RANGE_G,
    gyr_range_dps: float = GYR_RANGE_DPS,
) -> np.ndarray:
    """``(N, 20)`` uint8 array of ``55 61`` frames.

    Args:
        acc: (N, 3) specific force, m/s².
        gyr: (N, 3) angular rate, rad/s.
        angles_deg: (N, 3) roll, pitch, yaw in degrees; by default roll and pitch are derived
            from ``acc`` (as a static tilt) and yaw is 0 — imuhip never uses these fields.

    Values are rounded to the nearest count and clipped to int16, like a saturating sensor.
    """
    acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
    gyr = np.asarray(gyr, dtype=np.float64).reshape(-1, 3)
    if angles_deg is None:
        roll = np.degrees(np.arctan2(acc[:, 1], acc[:, 2]))
        pitch = np.degrees(np.arctan2(-acc[:, 0], np.hypot(acc[:, 1], acc[:, 2])))
        angles_deg = np.stack([roll, pitch, np.zeros(len(acc))], axis=1)
    words = np.zeros((len(acc), 10), "<i2")
    words[:, 0] = np.frombuffer(bytes([HEADER, FLAG_DATA]), "<i2")[0]
    words[:, 1:4] = quantise(acc / G, 32768.0 / acc_range_g)
    words[:, 4:7] = quantise(gyr / DEG, 32768.0 / gyr_range_dps)
    words[:, 7:10] = quantise(np.asarray(angles_deg).reshape(-1, 3), 32768.0 / ANGLE_RANGE_DEG)
    return words.view(np.uint8).reshape(-1, FRAME_LEN)


def encode_notifications(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    rate_hz: float | None = None,
    *,
    frames_per_notification: int = 1,
    angles_deg: np.ndarray | None = None,
) -> list[bytes]:
    """EncodedNotification payloads the sensor would send for samples at times ``t``.

    Args:
        t: (N,) sample times, seconds (only their number matters: the frames carry no time).
        acc: (N, 3) m/s²; gyr: (N, 3) rad/s.
        rate_hz: configured output rate (unused; the frames carry no rate information).
        frames_per_notification: frames concatenated per notification (1 on the documented
            firmware). Notification ``k`` carries samples ``k*f … k*f+f-1`` and is sent at
            the time of its last sample, ``t[min(k*f+f-1, N-1)]``.
        angles_deg: optional Euler angles, see :func:`encode_frames`.

    Returns:
        one ``bytes`` per notification.
    """
    del rate_hz
    frames = encode_frames(acc, gyr, angles_deg)
    if len(frames) != len(np.asarray(t).reshape(-1)):
        raise ValueError("t, acc and gyr must have the same length")
    f = max(1, int(frames_per_notification))
    flat = frames.tobytes()
    step = f * FRAME_LEN
    return [flat[k : k + step] for k in range(0, len(flat), step)]


def encode_register_reply(start_reg: int, words: Sequence[int] = ()) -> bytes:
    """A 20-byte ``55 71`` reply: start register then 8 int16 words (missing words are 0)."""
    w = [*list(words)[:8], *[0] * (8 - min(8, len(words)))]
    return bytes([HEADER, FLAG_REG]) + np.array([start_reg, *w], "<i2").tobytes()


@dataclass(frozen=True)
class WitCommand:
    """A parsed write to the command characteristic.

    Attributes:
        kind: "unlock", "save", "rate", "bandwidth", "read", "calibrate", "factory_reset" or
            "other".
        register: register byte.
        value: 16-bit value.
        rate_hz: output rate for kind "rate" (None if the code is not a known rate).
        bandwidth_hz: bandwidth for kind "bandwidth" (None if unknown).
    """

    kind: str
    register: int
    value: int
    rate_hz: float | None = None
    bandwidth_hz: float | None = None


def parse_command(data: bytes) -> WitCommand | None:
    """Parse ``FF AA reg lo hi`` (None if ``data`` is not such a command)."""
    data = bytes(data)
    if len(data) != 5 or data[0] != 0xFF or data[1] != 0xAA:
        return None
    reg, value = data[2], data[3] | (data[4] << 8)
    if reg == REG_UNLOCK:
        return WitCommand("unlock" if value == UNLOCK_VALUE else "other", reg, value)
    if reg == REG_SAVE:
        return WitCommand("save" if value == 0 else "factory_reset", reg, value)
    if reg == REG_RATE:
        rate = {v: k for k, v in RATE_CODES.items()}.get(value)
        return WitCommand("rate", reg, value, rate_hz=rate)
    if reg == REG_BANDWIDTH:
        bw = {v: k for k, v in BANDWIDTH_CODES.items()}.get(value)
        return WitCommand("bandwidth", reg, value, bandwidth_hz=bw)
    if reg == REG_READ:
        return WitCommand("read", reg, value)
    if reg == REG_CALSW:
        return WitCommand("calibrate", reg, value)
    return WitCommand("other", reg, value)


# --------------------------------------------------------------------------- profile

_NAME_RE = re.compile(r"WT\d")


def recognise(adv: Advertisement) -> bool:
    """Names containing "WT" followed by a digit (e.g. "WT901BLE68", "WT9011DCL"); the vendor
    SDK keeps any name containing "WT", which is too broad for a mixed scan."""
    return bool(adv.name and _NAME_RE.search(adv.name))


def start(rate_hz: float, options: Mapping[str, Any] | None = None) -> list[GattWrite]:
    """Unlock, set the output rate (and optionally the bandwidth), save.

    Options: ``bandwidth_hz`` (a key of :data:`BANDWIDTH_CODES`), ``save`` (default True).
    Streaming itself starts when notifications are enabled; no start command exists.
    """
    options = dict(options or {})
    rate = nearest_rate(RATE_CODES, rate_hz)
    steps = [
        GattWrite(WRITE_UUID, CMD_UNLOCK, True, 0.1),
        GattWrite(WRITE_UUID, rate_command(rate), True, 0.1),
    ]
    bw = options.get("bandwidth_hz")
    if bw is not None:
        code = BANDWIDTH_CODES[min(BANDWIDTH_CODES, key=lambda b: abs(b - float(bw)))]
        steps.append(GattWrite(WRITE_UUID, command(REG_BANDWIDTH, code), True, 0.1))
    if options.get("save", True):
        steps.append(GattWrite(WRITE_UUID, CMD_SAVE, True, 0.1))
    return steps


#: Pattern of a register reply for the rate register: ``55 71`` then start register 0x0003.
_RATE_REPLY = bytes([HEADER, FLAG_REG, REG_RATE, 0x00])


def rate_answer(rate_hz: float) -> Callable[[bytes], ReadbackAnswer | None]:
    """``bytes -> ReadbackAnswer | None``: whether a notification holds the reply to the rate
    read-back (``55 71 03 00 code ...``) and, if so, whether ``rate_hz`` is in effect."""
    want = RATE_CODES[nearest_rate(RATE_CODES, rate_hz)]
    names = {v: k for k, v in RATE_CODES.items()}

    def answer(data: bytes) -> ReadbackAnswer | None:
        i = bytes(data).find(_RATE_REPLY)
        if i < 0 or len(data) < i + 6:
            return None
        code = data[i + 4] | (data[i + 5] << 8)
        rate = names.get(code)
        shown = f"{rate:g} Hz" if rate is not None else "unknown"
        return ReadbackAnswer(code == want, f"rate code 0x{code:02X} ({shown})")

    return answer


def readback(rate_hz: float, options: Mapping[str, Any] | None = None) -> ConfigReadback:
    """Read the rate register back after the start sequence (``FF AA 27 03 00``).

    The sensor streams at its saved rate (10 Hz out of the box) from the moment notifications
    are enabled, and frames carry no timestamp or rate: the reply, which comes in the same
    stream as the frames and after the rate took effect, marks where frames at the configured
    rate begin.
    """
    return ConfigReadback(GattWrite(WRITE_UUID, read_command(REG_RATE)), 0, rate_answer(rate_hz))


def stop() -> list[GattWrite]:
    """Nothing to write: streaming stops when notifications are disabled."""
    return []


def decoder_config(rate_hz: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    rate = nearest_rate(RATE_CODES, rate_hz)
    return {"rate_hz": rate, "acc_range_g": ACC_RANGE_G, "gyr_range_dps": GYR_RANGE_DPS}


PROFILE_INFO = register_profile(
    SensorProfile(
        name=PROFILE,
        vendor="WitMotion BLE 5.0 (BWT901BLECL5.0 / WT9011DCL-BT50)",
        service_uuid=SERVICE_UUID,
        notify_uuids=(NOTIFY_UUID,),
        command_uuid=WRITE_UUID,
        rates_hz=tuple(sorted(RATE_CODES)),
        recognise=recognise,
        start=start,
        stop=stop,
        decoder_config=decoder_config,
        readback=readback,
    )
)
