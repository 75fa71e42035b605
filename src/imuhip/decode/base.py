"""The decoder contract shared by every vendor profile.

A decoder turns the bytes of one BLE notification into :class:`~imuhip.samples.ChannelBlock`
objects in SI units. Decoders are pure with respect to I/O (no Bluetooth, no files) but may keep
state across notifications where the protocol needs it (Polar delta frames remember the previous
timestamp, Movesense reassembles split values, WitMotion resynchronises a byte stream).

Rules every decoder follows:
- ``feed`` never raises on bad bytes: a malformed notification is counted in ``stats`` with a
  reason and yields no samples.
- ``decode_many`` gives exactly the same blocks as calling ``feed`` on each notification in
  order; subclasses override it with a vectorised path where the frames allow it.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from imuhip.samples import ChannelBlock


@dataclass
class DecodeStats:
    """Counters a decoder keeps; shown by ``imuhip info`` and the live view.

    Attributes:
        notifications: notifications fed.
        samples: samples produced (per channel kind, summed).
        dropped: notifications rejected as malformed (no samples produced from them).
        lost_samples: samples the sensor sent that never arrived, detected from sequence
            counters or timestamps where the profile allows it.
        reasons: drop reason -> count.
    """

    notifications: int = 0
    samples: int = 0
    dropped: int = 0
    lost_samples: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: str) -> None:
        """Count one rejected notification."""
        self.dropped += 1
        self.reasons[reason] += 1


class Decoder(ABC):
    """Base class of vendor decoders.

    Class attributes:
        profile: registry name, e.g. ``"witmotion-ble5"``; stored in session headers.
        notify_uuids: notify characteristics the profile subscribes to, in channel order:
            channel ``i`` in a recording means notifications from ``notify_uuids[i]``.
    """

    profile: ClassVar[str]
    notify_uuids: ClassVar[tuple[str, ...]]

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.stats = DecodeStats()

    @abstractmethod
    def feed(self, data: bytes, t_host: float, channel: int = 0) -> list[ChannelBlock]:
        """Decode one notification received at host time ``t_host`` (seconds) on ``channel``."""

    def decode_many(
        self, t_host: np.ndarray, payloads: Sequence[bytes], channels: np.ndarray | None = None
    ) -> list[ChannelBlock]:
        """Decode notifications in order; same result as ``feed`` on each one."""
        out: list[ChannelBlock] = []
        for i, data in enumerate(payloads):
            ch = 0 if channels is None else int(channels[i])
            out.extend(self.feed(bytes(data), float(t_host[i]), ch))
        return out

    def decode_joined(
        self, t_host: np.ndarray, payload: bytes, offsets: np.ndarray, channels: np.ndarray
    ) -> list[ChannelBlock]:
        """Same as :meth:`decode_many` for payloads stored back to back: payload ``i`` is
        ``payload[offsets[i]:offsets[i + 1]]`` (the session file's layout). Decoders override
        it where they can work on the joined bytes without copying each payload."""
        off = np.asarray(offsets, np.int64).tolist()
        payloads = [payload[a:b] for a, b in itertools.pairwise(off)]
        return self.decode_many(t_host, payloads, channels)

    def reset(self) -> None:
        """Forget protocol state (after a reconnect or a stopped stream); keeps the stats."""
        return None
