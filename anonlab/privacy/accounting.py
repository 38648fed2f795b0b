"""Privacy measures as values, their conversions, and their composition.

A release's privacy cost is stated in the measure native to its mechanism: pure epsilon-DP (:class:`PureDP`) for
Laplace noise and the exponential mechanism, zero-concentrated DP (:class:`ZCDP`, a single ``rho``) for Gaussian
noise, approximate (epsilon, delta)-DP (:class:`ApproxDP`) for what users are told. Sequences of releases compose in
zCDP (the ``rho`` values add), and the total is converted once to (epsilon, delta) with the tight bound of Canonne,
Kamath and Steinke (2020, "The Discrete Gaussian for Differential Privacy", Corollary 13), the same bound OpenDP's
``make_zCDP_to_approxDP`` evaluates.

Every function validates its arguments and raises :class:`~anonlab.errors.UsageError` for a value that has no
privacy meaning (a negative epsilon, a delta of 1 or more), so nothing downstream ever claims a guarantee for a
nonsensical parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from anonlab.errors import UsageError

__all__ = [
    "PureDP",
    "ApproxDP",
    "ZCDP",
    "compose_zcdp",
    "compose_basic",
    "pure_to_zcdp",
    "zcdp_epsilon",
    "zcdp_delta",
    "rho_for",
    "gaussian_sigma_for_rho",
    "gaussian_rho",
    "laplace_scale_for",
    "laplace_epsilon",
    "calibrate_gaussian",
    "calibrate_laplace",
    "check_epsilon",
    "check_delta",
]


def check_epsilon(epsilon: float, name: str = "epsilon", *, allow_zero: bool = False) -> float:
    """Return ``epsilon`` as a float, or raise :class:`UsageError` unless it is finite and > 0 (>= 0 if allowed)."""
    try:
        eps = float(epsilon)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, got {epsilon!r}") from None
    if not math.isfinite(eps) or eps < 0 or (eps == 0 and not allow_zero):
        raise UsageError(f"{name} must be a finite number greater than 0, got {epsilon!r}")
    return eps


def check_delta(delta: float, name: str = "delta") -> float:
    """Return ``delta`` as a float, or raise :class:`UsageError` unless 0 <= delta < 1."""
    try:
        d = float(delta)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, got {delta!r}") from None
    if not (0.0 <= d < 1.0):
        raise UsageError(f"{name} must be at least 0 and below 1, got {delta!r}")
    return d


def _check_rho(rho: float) -> float:
    try:
        r = float(rho)
    except (TypeError, ValueError):
        raise UsageError(f"rho must be a number, got {rho!r}") from None
    if not math.isfinite(r) or r < 0:
        raise UsageError(f"rho must be a finite number of at least 0, got {rho!r}")
    return r


@dataclass(frozen=True)
class PureDP:
    """Pure epsilon-differential privacy: for neighbouring inputs, every output's probability changes by at most a
    factor ``exp(epsilon)``."""

    epsilon: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_epsilon(self.epsilon, allow_zero=True))

    def to_zcdp(self) -> ZCDP:
        """epsilon-DP implies (epsilon**2 / 2)-zCDP (Bun and Steinke 2016, Proposition 1.4)."""
        return pure_to_zcdp(self.epsilon)

    def to_approx(self, delta: float = 0.0) -> ApproxDP:
        return ApproxDP(self.epsilon, check_delta(delta))

    def to_dict(self) -> dict[str, Any]:
        return {"measure": "pure", "epsilon": self.epsilon}


@dataclass(frozen=True)
class ApproxDP:
    """Approximate (epsilon, delta)-DP: probabilities change by at most ``exp(epsilon)`` except on an event of
    probability at most ``delta``. ``delta`` should be far below 1 / (number of people in the data)."""

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", check_epsilon(self.epsilon, allow_zero=True))
        object.__setattr__(self, "delta", check_delta(self.delta))

    def to_dict(self) -> dict[str, Any]:
        return {"measure": "approx", "epsilon": self.epsilon, "delta": self.delta}


@dataclass(frozen=True)
class ZCDP:
    """rho-zero-concentrated DP (Bun and Steinke 2016): the Renyi divergence of order alpha between the outputs on
    neighbouring inputs is at most ``rho * alpha`` for every alpha > 1. Composes by adding ``rho``."""

    rho: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rho", _check_rho(self.rho))

    def to_approx(self, delta: float) -> ApproxDP:
        """The tight conversion to (epsilon, delta)-DP at the given ``delta`` (Canonne, Kamath, Steinke 2020)."""
        return ApproxDP(zcdp_epsilon(self.rho, delta), check_delta(delta))

    def __add__(self, other: ZCDP) -> ZCDP:
        if not isinstance(other, ZCDP):
            return NotImplemented
        return ZCDP(self.rho + other.rho)

    def to_dict(self) -> dict[str, Any]:
        return {"measure": "zcdp", "rho": self.rho}


def compose_zcdp(costs: Iterable[ZCDP | PureDP]) -> ZCDP:
    """Sequential (adaptive) composition in zCDP: the ``rho`` values add. Pure costs enter as epsilon**2 / 2."""
    total = 0.0
    for c in costs:
        if isinstance(c, PureDP):
            c = c.to_zcdp()
        if not isinstance(c, ZCDP):
            raise UsageError(f"cannot compose {type(c).__name__} in zCDP")
        total += c.rho
    return ZCDP(total)


def compose_basic(costs: Iterable[PureDP | ApproxDP]) -> ApproxDP:
    """Basic sequential composition: epsilons add and deltas add."""
    eps = 0.0
    delta = 0.0
    for c in costs:
        eps += c.epsilon
        delta += getattr(c, "delta", 0.0)
    return ApproxDP(eps, min(delta, math.nextafter(1.0, 0.0)))


def pure_to_zcdp(eps: float) -> ZCDP:
    """epsilon-DP implies (epsilon**2 / 2)-zCDP."""
    eps = check_epsilon(eps, allow_zero=True)
    return ZCDP(eps * eps / 2.0)


def _log_delta(rho: float, eps: float, alpha: float) -> float:
    # CKS 2020, Corollary 13: delta = exp((a-1)(a rho - eps)) / (a-1) * (1 - 1/a)**a, minimised over a > 1.
    return (alpha - 1.0) * (alpha * rho - eps) - math.log(alpha - 1.0) + alpha * math.log1p(-1.0 / alpha)


def _eps_at(rho: float, log_delta: float, alpha: float) -> float:
    # The same bound solved for epsilon at a fixed alpha.
    return alpha * rho + (-log_delta - math.log(alpha - 1.0) + alpha * math.log1p(-1.0 / alpha)) / (
        alpha - 1.0
    )


def _golden_min(f, lo: float, hi: float, iters: int = 200) -> float:
    """Minimum of a unimodal function on [lo, hi] (in log space for a wide bracket)."""
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(math.exp(c)), f(math.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(math.exp(d))
    return min(fc, fd)


def zcdp_epsilon(rho: float, delta: float) -> float:
    """The smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP, by the tight CKS 2020 bound.

    Never below the simpler bound's floor of 0; ``rho = 0`` gives 0. ``delta`` must be in (0, 1) unless rho is 0.
    """
    rho = _check_rho(rho)
    delta = check_delta(delta)
    if rho == 0:
        return 0.0
    if delta == 0:
        raise UsageError("a zCDP cost with rho > 0 has no finite epsilon at delta = 0; give a delta above 0")
    log_delta = math.log(delta)
    # The optimal alpha lies near 1 + sqrt(log(1/delta) / rho); bracket it generously.
    guess = 1.0 + math.sqrt(-log_delta / rho)
    lo, hi = 1.0 + 1e-9, max(guess * 100.0, 10.0)
    eps = _golden_min(lambda a: _eps_at(rho, log_delta, a), lo, hi)
    # The classic bound rho + 2 sqrt(rho log(1/delta)) is always valid too; never report worse than it.
    classic = rho + 2.0 * math.sqrt(rho * -log_delta)
    return max(0.0, min(eps, classic))


def zcdp_delta(rho: float, epsilon: float) -> float:
    """The smallest delta such that rho-zCDP implies (epsilon, delta)-DP (CKS 2020, Corollary 13)."""
    rho = _check_rho(rho)
    eps = check_epsilon(epsilon, allow_zero=True)
    if rho == 0:
        return 0.0
    guess = (eps + rho) / (2.0 * rho) + 1.0
    log_d = _golden_min(lambda a: _log_delta(rho, eps, a), 1.0 + 1e-9, max(guess * 100.0, 10.0))
    return min(1.0, math.exp(log_d))


def rho_for(epsilon: float, delta: float) -> float:
    """The largest rho whose tight conversion gives at most ``epsilon`` at ``delta``.

    Use it to turn a user's (epsilon, delta) budget into a zCDP budget to split between Gaussian measurements.
    """
    eps = check_epsilon(epsilon)
    delta = check_delta(delta)
    if delta == 0:
        raise UsageError("zCDP needs delta > 0 to state an (epsilon, delta) guarantee; give --delta above 0")
    lo, hi = 0.0, max(eps, 1.0)
    while zcdp_epsilon(hi, delta) <= eps:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if zcdp_epsilon(mid, delta) <= eps:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return lo


def gaussian_sigma_for_rho(rho: float, l2_sensitivity: float = 1.0) -> float:
    """The Gaussian noise standard deviation that makes one release of L2 sensitivity ``l2_sensitivity`` cost
    ``rho``-zCDP: sigma = sensitivity / sqrt(2 rho)."""
    rho = _check_rho(rho)
    if rho == 0:
        raise UsageError("rho must be greater than 0 to calibrate noise")
    sens = check_epsilon(l2_sensitivity, "l2_sensitivity")
    return sens / math.sqrt(2.0 * rho)


def gaussian_rho(sigma: float, l2_sensitivity: float = 1.0) -> ZCDP:
    """The zCDP cost of Gaussian noise of standard deviation ``sigma``: rho = sensitivity**2 / (2 sigma**2)."""
    sigma = check_epsilon(sigma, "scale")
    sens = check_epsilon(l2_sensitivity, "l2_sensitivity", allow_zero=True)
    return ZCDP(sens * sens / (2.0 * sigma * sigma))


def laplace_scale_for(epsilon: float, l1_sensitivity: float = 1.0) -> float:
    """The Laplace noise scale that makes one release of L1 sensitivity ``l1_sensitivity`` cost ``epsilon``-DP."""
    eps = check_epsilon(epsilon)
    return check_epsilon(l1_sensitivity, "l1_sensitivity") / eps


def laplace_epsilon(scale: float, l1_sensitivity: float = 1.0) -> PureDP:
    """The pure-DP cost of Laplace noise of scale ``scale``: epsilon = sensitivity / scale."""
    scale = check_epsilon(scale, "scale")
    return PureDP(check_epsilon(l1_sensitivity, "l1_sensitivity", allow_zero=True) / scale)


def calibrate_gaussian(epsilon: float, delta: float, measurements: int, l2_sensitivity: float = 1.0) -> float:
    """Noise standard deviation per measurement so that ``measurements`` Gaussian releases of L2 sensitivity
    ``l2_sensitivity``, composed in zCDP, cost at most (epsilon, delta) in total."""
    if not isinstance(measurements, int) or measurements < 1:
        raise UsageError(f"measurements must be a whole number of at least 1, got {measurements!r}")
    rho = rho_for(epsilon, delta) / measurements
    return gaussian_sigma_for_rho(rho, l2_sensitivity)


def calibrate_laplace(epsilon: float, measurements: int, l1_sensitivity: float = 1.0) -> float:
    """Laplace scale per measurement so that ``measurements`` releases of L1 sensitivity ``l1_sensitivity`` cost at
    most ``epsilon`` in total (basic composition of pure DP)."""
    if not isinstance(measurements, int) or measurements < 1:
        raise UsageError(f"measurements must be a whole number of at least 1, got {measurements!r}")
    return laplace_scale_for(check_epsilon(epsilon) / measurements, l1_sensitivity)
