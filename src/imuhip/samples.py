"""Plain containers for inertial data as it flows through the pipeline.

Units: acceleration m/s² (specific force, reads +9.81 along the up axis at rest), angular rate
rad/s, magnetic field µT, time float64 seconds. All vectors are in the sensor's own frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ChannelKind = Literal["acc", "gyr", "mag"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("acc", "gyr", "mag")


@dataclass(frozen=True)
class ImuSamples:
    """Time-stamped samples of one sensor on one time base.

    Attributes:
        t: (N,) float64 seconds, strictly increasing.
        acc: (N, 3) float64 specific force in m/s², sensor frame.
        gyr: (N, 3) float64 angular rate in rad/s, sensor frame.
        mag: (N, 3) float64 magnetic field in µT, sensor frame, or None when not measured.
        quat: (N, 4) float64 unit quaternions ``[w, x, y, z]``, sensor to the vendor's local
            earth frame (ENU, z up), when the sensor's vendor gave its orientation instead of
            raw samples (``acc`` and ``gyr`` are then derived from it:
            :func:`imuhip.fusion.vendor.vendor_samples`); None for measured samples.
    """

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray
    mag: np.ndarray | None = None
    quat: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.t.shape[0]
        if self.t.ndim != 1:
            raise ValueError(f"t must be 1-D, got shape {self.t.shape}")
        for name in ("acc", "gyr", "mag"):
            arr = getattr(self, name)
            if arr is None:
                continue
            if arr.shape != (n, 3):
                raise ValueError(f"{name} must have shape ({n}, 3), got {arr.shape}")
        if self.quat is not None and self.quat.shape != (n, 4):
            raise ValueError(f"quat must have shape ({n}, 4), got {self.quat.shape}")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from first to last sample, seconds (0 for fewer than two samples)."""
        return float(self.t[-1] - self.t[0]) if len(self) > 1 else 0.0

    def slice(self, start: int, stop: int, *, copy: bool = False) -> ImuSamples:
        """Samples ``start:stop`` as a new container sharing memory (``copy``: in their own
        memory, so that a short piece kept does not keep the whole block under it alive)."""

        def part(a: np.ndarray | None) -> np.ndarray | None:
            if a is None:
                return None
            return a[start:stop].copy() if copy else a[start:stop]

        t, acc, gyr = part(self.t), part(self.acc), part(self.gyr)
        assert t is not None and acc is not None and gyr is not None
        return ImuSamples(t, acc, gyr, part(self.mag), part(self.quat))

    @staticmethod
    def concatenate(parts: list[ImuSamples]) -> ImuSamples:
        """Join blocks in order. Magnetometer data (and a vendor orientation) is kept only when
        every block has it."""
        if not parts:
            return ImuSamples(np.empty(0), np.empty((0, 3)), np.empty((0, 3)), None)
        has_mag = all(p.mag is not None for p in parts)
        has_quat = all(p.quat is not None for p in parts)
        return ImuSamples(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.acc for p in parts]),
            np.concatenate([p.gyr for p in parts]),
            np.concatenate([p.mag for p in parts]) if has_mag else None,  # type: ignore[misc]
            np.concatenate([p.quat for p in parts]) if has_quat else None,  # type: ignore[misc]
        )


@dataclass(frozen=True)
class OrientationSamples:
    """A sensor's orientation as its vendor computed it (orientation-only exports such as the
    Movella DOT "Extended" modes), on one time base.

    Attributes:
        t: (N,) float64 seconds, strictly increasing.
        quat: (N, 4) float64 quaternions ``[w, x, y, z]``, sensor frame to the vendor's local
            earth frame (ENU, z up): ``v_earth = q ⊗ v_sensor ⊗ q*``.
        free_acc: (N, 3) float64 acceleration with gravity removed, m/s², earth frame, or None.
    """

    t: np.ndarray
    quat: np.ndarray
    free_acc: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.t.shape[0]
        if self.t.ndim != 1:
            raise ValueError(f"t must be 1-D, got shape {self.t.shape}")
        if self.quat.shape != (n, 4):
            raise ValueError(f"quat must have shape ({n}, 4), got {self.quat.shape}")
        if self.free_acc is not None and self.free_acc.shape != (n, 3):
            raise ValueError(f"free_acc must have shape ({n}, 3), got {self.free_acc.shape}")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def slice(self, start: int, stop: int) -> OrientationSamples:
        """Samples ``start:stop`` as a new container sharing memory."""
        fa = None if self.free_acc is None else self.free_acc[start:stop]
        return OrientationSamples(self.t[start:stop], self.quat[start:stop], fa)

    @staticmethod
    def concatenate(parts: list[OrientationSamples]) -> OrientationSamples:
        """Join blocks in order; free acceleration is kept only when every block has it."""
        if not parts:
            return OrientationSamples(np.empty(0), np.empty((0, 4)))
        has_fa = all(p.free_acc is not None for p in parts)
        return OrientationSamples(
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.quat for p in parts]),
            np.concatenate([p.free_acc for p in parts]) if has_fa else None,  # type: ignore[misc]
        )


@dataclass(frozen=True)
class ChannelBlock:
    """Samples of one channel decoded from one notification (or one batch of them).

    Attributes:
        kind: "acc" (m/s²), "gyr" (rad/s) or "mag" (µT).
        t: (n,) float64 seconds. On the sensor's clock when ``sensor_clock`` is True (profiles
            with timestamps in the frame), otherwise the host receive time of the notification.
        values: (n, 3) float64 in SI units, sensor frame.
        sensor_clock: whether ``t`` is sensor time (True) or host receive time (False).
    """

    kind: ChannelKind
    t: np.ndarray
    values: np.ndarray
    sensor_clock: bool
