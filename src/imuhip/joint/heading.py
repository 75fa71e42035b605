"""Relative heading between the thigh's and the shin's orientation estimates.

Without a magnetometer each sensor's heading (rotation about world z) is arbitrary at the start
and drifts on its own. The knee is nearly a hinge whose axis stays perpendicular to the femur's
long axis: with the knee axis ``j`` seen by the shin and the femur axis ``f`` seen by the thigh,
``(Rz(δ) j)·f = c0`` pins the heading offset ``δ`` of the shin's world frame relative to the
thigh's, independently of soft tissue on the thigh (rotation about ``f`` does not move ``f``).
``c0`` is the small non-perpendicularity measured during calibration.

Each sample gives a root ``δ_i`` of that equation (the one nearest the calibrated offset) and a
weight, its squared sensitivity. The tracked offset is their exponentially weighted mean with time
constant ``tau_s``, started from the calibrated offset with the weight of ``tau_s`` seconds of
data: a causal linear filter, so the batch form (one pass) and the streaming form
(state carried between chunks) give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imuhip.align.numeric import DecayingSum
from imuhip.joint.geometry import wrap

_F = np.ndarray | float  # an array, or one value of it


def _root_pairs(
    j_world_shin: np.ndarray, f_world_thigh: np.ndarray, c0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre ``phi`` and half-gap ``spread`` of the two roots ``phi ± spread`` (radians) of
    ``(Rz(δ) j)·f = c0`` per sample, and the weight (squared sensitivity; 0 without a root)."""
    a, f = j_world_shin, f_world_thigh
    A = a[:, 0] * f[:, 0] + a[:, 1] * f[:, 1]
    B = a[:, 0] * f[:, 1] - a[:, 1] * f[:, 0]
    C = a[:, 2] * f[:, 2] - c0
    R = np.hypot(A, B)
    phi = np.arctan2(B, A)
    spread = np.arccos(np.clip(-C / np.maximum(R, 1e-9), -1.0, 1.0))
    weight = (R * np.sin(spread)) ** 2
    weight = np.where(np.abs(C) > R, 0.0, weight)  # no exact root: no information
    return phi, spread, weight


def _nearest_root(phi: np.ndarray, spread: np.ndarray | None, ref: float) -> np.ndarray:
    """The root ``phi ± spread`` nearest ``ref``, relative to it (``spread`` None: ``phi``)."""
    if spread is None:
        return wrap(phi - ref)
    r1 = wrap(phi + spread - ref)
    r2 = wrap(phi - spread - ref)
    return np.where(np.abs(r1) <= np.abs(r2), r1, r2)


def heading_roots(
    j_world_shin: np.ndarray, f_world_thigh: np.ndarray, c0: float, delta_ref: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample heading offset (radians, relative to ``delta_ref``) and weight.

    Args:
        j_world_shin: (N, 3) knee axis in the shin filter's world frame.
        f_world_thigh: (N, 3) femur axis in the thigh filter's world frame.
        c0: calibrated value of ``j·f``.
        delta_ref: reference offset; the root nearest to it is taken.
    """
    phi, spread, weight = _root_pairs(j_world_shin, f_world_thigh, c0)
    return _nearest_root(phi, spread, delta_ref), weight


@dataclass
class HeadingTracker:
    """Causal tracker of the shin-to-thigh heading offset (radians).

    Each sensor's heading drifts at its own rate (the vertical component of its gyro bias,
    which 6D fusion cannot observe; up to about 1°/s on cheap sensors), so the relative offset
    changes roughly linearly over minutes. The tracker fits ``δ(i) ≈ a + b·(i − n)`` to the
    per-sample roots by exponentially weighted least squares (time constant ``tau_s``) and
    reports ``a``, the value now: a steady drift is followed with little lag (the ridge on the
    slope, ``slope_prior``, leaves about 0.4° behind a steady 0.5°/s drift; without it none).
    The roots are taken nearest to the estimate at the end of the previous block of ``block_s``
    seconds (blocks counted from the first sample), so a batch run and any chunking of a stream
    give the same numbers.

    Args:
        delta0: calibrated offset, radians.
        c0: calibrated ``j·f``.
        rate_hz: sample rate.
        tau_s: time constant of the fit, seconds.
        max_step: roots further than this from the current estimate (radians) are ignored.
        prior_weight: weight of the calibrated offset at the start, in units of
            ``tau_s`` seconds of the best-conditioned samples (weight 1 each).
        slope_prior: ridge weight on the drift rate, relative to a full window's leverage.
        block_s: how often the root-selection reference moves, seconds (a 1°/s drift moves
            10° in a block, inside ``max_step``).
        drift_rate: drift already seen before the first sample (radians per second): the prior
            is then a line through ``delta0`` with this slope rather than a constant.
        keep_slope_s: for up to this long (seconds) without an observation (weight 0) the
            ridge on the slope ages with the data, so the estimate goes on along the last
            fitted line: a steady drift is followed through the gap. With 0 (or after it) the
            ridge stays while the data fade, the slope shrinks to 0 and the estimate falls
            back towards the mean of the old observations.
    """

    delta0: float
    c0: float
    rate_hz: float
    tau_s: float = 20.0
    max_step: float = np.radians(25.0)
    prior_weight: float = 0.5
    slope_prior: float = 0.02
    block_s: float = 10.0
    drift_rate: float = 0.0
    keep_slope_s: float = 0.0

    def __post_init__(self) -> None:
        lam = float(np.exp(-1.0 / (self.tau_s * self.rate_hz)))
        self._lam = lam
        self._block = max(1, round(self.block_s * self.rate_hz))
        window = self.tau_s * self.rate_hz
        self._rho = self.slope_prior * 2.0 * window**3
        p = self.prior_weight * window
        # sums S0, U1, U2, D0, D1 (see update) as if one observation of weight p at i = -1,
        # and, with a known drift rate, a second one a window earlier on the drift line
        zi = lam * p * np.array([1.0, -1.0, 1.0, self.delta0, -self.delta0, 0.0, 0.0])
        if self.drift_rate:
            m = round(window)
            d_m = self.delta0 - self.drift_rate * m / self.rate_hz
            i_m = -1.0 - m
            zi[:5] += lam ** (m + 1) * p * np.array([1.0, i_m, i_m * i_m, d_m, d_m * i_m])
        self._sums = DecayingSum(lam, zi[:5])
        # the rate observations' sums (mu, mu r) join the sums when the first comes: until
        # then they are sums of zeros, exactly 0 (a tracker given no rates needs none)
        self._rated = False
        self._n = 0
        self._ref = self.delta0
        self._since = 0  # samples since the last observation (the prior counts as one)

    def update(
        self,
        j_world_shin: np.ndarray,
        f_world_thigh: np.ndarray,
        trust: np.ndarray | None = None,
    ) -> np.ndarray:
        """Offsets (N,) in radians for the next N samples.

        ``trust`` (N,) in [0, 1] scales each sample's weight (e.g. lower while moving).
        """
        trust = np.ones(len(j_world_shin)) if trust is None else trust
        phi, spread, weight = _root_pairs(j_world_shin, f_world_thigh, self.c0)
        return self.track(phi, spread, weight * trust)

    def track(
        self,
        phi: np.ndarray,
        spread: np.ndarray | None,
        weight: np.ndarray,
        rate: np.ndarray | None = None,
        rate_weight: np.ndarray | None = None,
    ) -> np.ndarray:
        """Estimates (N,) from per-sample candidate pairs ``phi ± spread`` (radians; spread
        None or 0 for a single observation) and their weights: the general form of
        :meth:`update`.

        ``rate`` (N,), radians per sample, observes the drift's slope itself with
        ``rate_weight`` (N,) (in the units of ``weight`` times samples²): where the offset's
        change is seen but not its value (the leg held still away from where the value is
        known)."""
        if rate is None or rate_weight is None:
            rate = rate_weight = None if not self._rated else np.zeros(len(phi))
        elif not self._rated:  # the rate observations' sums join the others, from zeros
            self._sums = self._sums.grown(2)
            self._rated = True
        parts = []
        pos, n_total = 0, len(phi)
        while pos < n_total:
            take = min(n_total - pos, self._block - self._n % self._block)
            sl = slice(pos, pos + take)
            r = None if rate is None or rate_weight is None else (rate[sl], rate_weight[sl])
            sp = None if spread is None else spread[sl]
            parts.append(self._chunk(phi[sl], sp, weight[sl], r))
            pos += take
            if self._n % self._block == 0:  # the roots' reference: the estimate at the end
                i, sums, ridge = parts[-1]
                # in Python floats: the same IEEE arithmetic as on the arrays
                last = [float(x[-1]) for x in (i, *sums)]
                end = float(ridge[-1]) if _is_array(ridge) else float(ridge)
                try:
                    self._ref = self._estimate(*last, end)
                except ZeroDivisionError:  # (numpy's inf or NaN then, as on the arrays)
                    self._ref = float(self._estimate(*map(np.float64, last), np.float64(end)))
        if not parts:
            return np.empty(0)
        i = np.concatenate([p[0] for p in parts])
        sums = np.concatenate([p[1] for p in parts], axis=1)
        ridges = [p[2] for p in parts]
        ridge = np.concatenate(ridges) if _is_array(ridges[0]) else ridges[0]
        return self._estimate(i, *sums, ridge)

    def forget(self, keep: float) -> None:
        """Keep only the share ``keep`` (0..1] of the weight of everything seen so far, so the
        samples to come decide the offset (after a sensor's lost stretch, when its heading
        jumped by the turn its filter missed). The estimate itself stays where it was."""
        self._sums.scale(keep)

    def _chunk(
        self,
        phi: np.ndarray,
        spread: np.ndarray | None,
        w: np.ndarray,
        rated: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
        """A block's sample indices, the decaying sums after each of its samples (rows s0,
        u1, u2, d0, d1 and, with rates, m0, r0) and the slope's ridge."""
        d = _nearest_root(phi, spread, self._ref)
        w = np.where(np.abs(d) <= self.max_step, w, 0.0)
        d = d + self._ref
        i = self._n + np.arange(len(d), dtype=float)
        x = np.empty((7 if self._rated else 5, len(d)))  # w, w i, w i², w d, w d i, mu, mu r
        x[0] = w
        np.multiply(w, i, out=x[1])
        np.multiply(x[1], i, out=x[2])
        np.multiply(w, d, out=x[3])
        np.multiply(x[3], i, out=x[4])
        if self._rated:
            r, mu = rated if rated is not None else (np.zeros(len(d)), np.zeros(len(d)))
            x[5] = mu
            np.multiply(mu, r, out=x[6])
        sums = self._sums.run(x)
        self._n += len(d)
        return i, sums, self._ridge(w)

    def _estimate(self, i: _F, s0: _F, u1: _F, u2: _F, d0: _F, d1: _F, *rest: _F) -> _F:
        """The fitted line's value at samples ``i`` from the sums there (``rest``: the rate
        observations' sums m0, r0 if any, then the slope's ridge); arrays or scalars."""
        *rates, ridge = rest
        s1 = u1 - i * s0
        s2 = u2 - 2 * i * u1 + i * i * s0 + ridge
        sd1 = d1 - i * d0
        if rates:
            m0, r0 = rates
            s2 += m0
            sd1 += r0
        det = s0 * s2 - s1 * s1
        return (d0 * s2 - s1 * sd1) / det

    def _ridge(self, w: np.ndarray) -> np.ndarray | float:
        """The slope's ridge per sample: constant, or aged by ``lam`` per sample since the last
        observation (up to ``keep_slope_s``), as the data's sums are, so that a stretch without
        observations leaves the fitted line unchanged."""
        if self.keep_slope_s <= 0.0:
            return self._rho
        k = np.arange(len(w))
        last = np.maximum.accumulate(np.where(w > 0, k, -1))
        since = np.where(last >= 0, k - last, self._since + 1 + k)
        if len(w):
            self._since = int(since[-1])
        aged = np.minimum(since, round(self.keep_slope_s * self.rate_hz))
        return self._rho * self._lam ** aged.astype(float)


def _is_array(x: object) -> bool:
    return isinstance(x, np.ndarray)
