"""The noise-adding mechanisms anonlab releases data through, each returning its value and its privacy cost.

Every mechanism states its cost as a value in its native measure (:mod:`anonlab.privacy.accounting`): Laplace noise
and selection cost pure epsilon-DP, Gaussian noise costs rho-zCDP. On the default path (``NoiseSource(None)``)
the noise is drawn by an OpenDP measurement and the cost is OpenDP's own privacy map evaluated at the stated
sensitivity. On the seeded path (``NoiseSource(seed)``) anonlab's exact samplers are used and the cost is the closed
form, which the tests check against OpenDP's maps.

Real-valued releases on the seeded path: the input is rounded to a power-of-two grid ``g`` far finer than the noise
(at most 2**-30 of the scale), exact integer noise is added in grid units, and the result is multiplied back by
``g``. Rounding can move each coordinate's difference between neighbours by up to one grid step, so the integer
noise scale is widened by the exact factor that keeps the cost at the nominal ``sensitivity / scale`` (for the
Gaussian, ``sensitivity**2 / (2 scale**2)``): the noise is at most a relative 2**-40 larger than asked, and the
privacy cost is exactly what is stated.

Neighbouring datasets are whatever the caller's sensitivity refers to; anonlab's DP statistics use add/remove-one-
record neighbours. Callers charge a :class:`~anonlab.privacy.ledger.Ledger` before calling a mechanism.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from anonlab.errors import UsageError
from anonlab.privacy.accounting import ZCDP, PureDP, check_epsilon
from anonlab.privacy.noise import NoiseSource

__all__ = ["Release", "gaussian", "laplace", "exponential", "exponential_scale"]


@dataclass(frozen=True)
class Release:
    """One noisy answer and what it cost.

    value : the released value (same shape as the input; a scalar for a scalar input).
    cost : its privacy cost, :class:`PureDP` (Laplace, exponential) or :class:`ZCDP` (Gaussian).
    mechanism : ``"gaussian"``, ``"discrete_gaussian"``, ``"laplace"``, ``"discrete_laplace"``.
    scale : the noise scale in the value's units (the Gaussian's standard deviation; the Laplace's b).
    seeded : whether the noise came from a seeded keystream (then private only while the seed stays secret).
    """

    value: np.ndarray | float | int
    cost: PureDP | ZCDP
    mechanism: str
    scale: float
    seeded: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        value = v.tolist() if isinstance(v, np.ndarray) else v
        return {
            "value": value,
            "cost": self.cost.to_dict(),
            "mechanism": self.mechanism,
            "scale": self.scale,
            "seeded": self.seeded,
            **({"details": self.details} if self.details else {}),
        }


# -- helpers ---------------------------------------------------------------------------------------------------


def _as_array(values, integer: bool) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(values) == 0
    try:
        arr = np.asarray(values, dtype=np.float64 if not integer else None)
    except (TypeError, ValueError):
        raise UsageError("values must be numbers") from None
    if integer:
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise UsageError("integer=True needs whole-number values")
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "iub":
            raise UsageError("integer=True needs whole-number values")
        arr = arr.astype(np.int64)
    else:
        if not np.all(np.isfinite(arr)):
            raise UsageError("values must be finite numbers (no NaN or infinity)")
    return arr, scalar


def _shape_back(out: np.ndarray, like: np.ndarray, scalar: bool):
    out = out.reshape(like.shape)
    if scalar:
        return out.item()
    return out


def _grid_exponent(scale: Fraction, sensitivity: Fraction, d: int) -> int:
    """k such that the grid 2**k is at most 2**-30 of the scale and 2**-40 of sensitivity / d."""
    k1 = math.floor(math.log2(scale)) - 30
    k2 = math.floor(math.log2(sensitivity / d)) - 40
    return min(k1, k2)


def _to_grid(arr: np.ndarray, k: int) -> list[int]:
    scaled = np.ldexp(arr.ravel(), -k)
    if not np.all(np.isfinite(scaled)):
        raise UsageError("values too large to release on the noise grid")
    return [int(v) for v in np.rint(scaled)]


def _from_grid(ints: list[int], k: int) -> np.ndarray:
    return np.ldexp(np.array([float(v) for v in ints], dtype=np.float64), k)


def _opendp():
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


# -- Gaussian --------------------------------------------------------------------------------------------------


def gaussian(
    values,
    scale: float,
    *,
    l2_sensitivity: float = 1.0,
    integer: bool = False,
    noise: NoiseSource | None = None,
) -> Release:
    """Add Gaussian noise of standard deviation ``scale`` to ``values`` (a number or an array of any shape).

    l2_sensitivity : the most the L2 norm of ``values`` can change between neighbouring datasets.
    integer : the values are whole numbers (counts); the noise is then the discrete Gaussian and the release stays
        integer.
    Cost: rho-zCDP with rho = l2_sensitivity**2 / (2 scale**2).
    """
    scale = check_epsilon(scale, "scale")
    sens = check_epsilon(l2_sensitivity, "l2_sensitivity")
    noise = noise or NoiseSource()
    arr, scalar = _as_array(values, integer)
    d = max(1, arr.size)
    mech = "discrete_gaussian" if integer else "gaussian"
    if not noise.seeded:
        dp = _opendp()
        T = "i64" if integer else float
        atom = dp.atom_domain(T=T) if integer else dp.atom_domain(T=float, nan=False)
        meas = dp.m.make_gaussian(dp.vector_domain(atom), dp.l2_distance(T=float), scale=scale)
        out = np.asarray(meas(arr.ravel().tolist()), dtype=np.int64 if integer else np.float64)
        cost = ZCDP(float(meas.map(sens)))
    else:
        S = Fraction(scale)
        if integer:
            z = noise.discrete_gaussian(S, arr.size)
            out = arr.ravel() + np.asarray(z, dtype=np.int64)
        else:
            D2 = Fraction(sens)
            k = _grid_exponent(S, D2, d)
            g = Fraction(2) ** k
            r = math.isqrt(d - 1) + 1  # an integer >= sqrt(d): the rounding's L2 slack in grid units
            sigma_int = S / g + S * r / D2
            ints = _to_grid(arr, k)
            z = noise.discrete_gaussian_var(sigma_int * sigma_int, len(ints))
            out = _from_grid([a + b for a, b in zip(ints, z, strict=True)], k)
        cost = ZCDP(sens * sens / (2.0 * scale * scale))
    return Release(_shape_back(out, arr, scalar), cost, mech, scale, noise.seeded)


# -- Laplace ---------------------------------------------------------------------------------------------------


def laplace(
    values,
    scale: float,
    *,
    l1_sensitivity: float = 1.0,
    integer: bool = False,
    noise: NoiseSource | None = None,
) -> Release:
    """Add Laplace noise of scale ``scale`` (density proportional to exp(-|z| / scale)) to ``values``.

    l1_sensitivity : the most the L1 norm of ``values`` can change between neighbouring datasets.
    integer : whole-number values; the noise is then the discrete Laplace (two-sided geometric).
    Cost: pure epsilon-DP with epsilon = l1_sensitivity / scale.
    """
    scale = check_epsilon(scale, "scale")
    sens = check_epsilon(l1_sensitivity, "l1_sensitivity")
    noise = noise or NoiseSource()
    arr, scalar = _as_array(values, integer)
    d = max(1, arr.size)
    mech = "discrete_laplace" if integer else "laplace"
    if not noise.seeded:
        dp = _opendp()
        atom = dp.atom_domain(T="i64") if integer else dp.atom_domain(T=float, nan=False)
        meas = dp.m.make_laplace(dp.vector_domain(atom), dp.l1_distance(T=float), scale=scale)
        out = np.asarray(meas(arr.ravel().tolist()), dtype=np.int64 if integer else np.float64)
        cost = PureDP(float(meas.map(sens)))
    else:
        S = Fraction(scale)
        if integer:
            z = noise.discrete_laplace(S, arr.size)
            out = arr.ravel() + np.asarray(z, dtype=np.int64)
        else:
            D1 = Fraction(sens)
            k = _grid_exponent(S, D1, d)
            g = Fraction(2) ** k
            t = S / g + S * d / D1
            ints = _to_grid(arr, k)
            z = noise.discrete_laplace(t, len(ints))
            out = _from_grid([a + b for a, b in zip(ints, z, strict=True)], k)
        cost = PureDP(sens / scale)
    return Release(_shape_back(out, arr, scalar), cost, mech, scale, noise.seeded)


# -- selection -------------------------------------------------------------------------------------------------


def exponential_scale(epsilon: float, sensitivity: float = 1.0, monotonic: bool = False) -> float:
    """The noise scale of report-noisy-max (exponential noise) that costs ``epsilon``-DP."""
    eps = check_epsilon(epsilon)
    sens = check_epsilon(sensitivity, "sensitivity")
    return (1.0 if monotonic else 2.0) * sens / eps


def exponential(
    scores,
    epsilon: float,
    *,
    sensitivity: float = 1.0,
    monotonic: bool = False,
    noise: NoiseSource | None = None,
) -> tuple[int, PureDP]:
    """Pick the index of a high score privately: report-noisy-max with exponential noise, which is the
    permute-and-flip mechanism (McKenna and Sheldon 2020) and never worse than the exponential mechanism.

    scores : one number per candidate, higher is better.
    sensitivity : the most any one score can change between neighbouring datasets.
    monotonic : all scores move in the same direction between neighbours (halves the noise needed).
    Returns (index, PureDP(epsilon)).
    """
    scale = exponential_scale(epsilon, sensitivity, monotonic)
    sens = float(sensitivity)
    noise = noise or NoiseSource()
    q = np.asarray(scores, dtype=np.float64).ravel()
    if q.size == 0:
        raise UsageError("exponential mechanism needs at least one candidate")
    if not np.all(np.isfinite(q)):
        raise UsageError("scores must be finite numbers")
    if not noise.seeded:
        dp = _opendp()
        meas = dp.m.make_noisy_max(
            dp.vector_domain(dp.atom_domain(T=float, nan=False)),
            dp.linf_distance(T=float, monotonic=monotonic),
            dp.max_divergence(),
            scale=scale,
        )
        idx = int(meas(q.tolist()))
        cost = PureDP(float(meas.map(sens)))
    else:
        # Permute and flip: visit candidates in random order, accept i with probability exp(-(max - q_i) / scale).
        best = Fraction(float(q.max()))
        S = Fraction(scale)
        idx = -1
        order = noise.permutation(q.size)
        while idx < 0:
            for i in order:
                if noise.bernoulli_exp((best - Fraction(float(q[i]))) / S):
                    idx = i
                    break
        cost = PureDP((1.0 if monotonic else 2.0) * sens / scale)
    return idx, cost
