"""Privacy accounting for DPVI's DP-SGD: Google's ``dp-accounting`` PLD accountant for Poisson subsampling.

DPVI's sampler (:mod:`anonlab.synth.twinify.dpvi`) takes each row into each step's batch independently with
probability q (Poisson subsampling), clips each row's gradient to L2 norm C and adds N(0, (sigma C)^2) noise to the
batch's sum; T steps. That is T self-composed Poisson-subsampled Gaussian mechanisms with noise multiplier sigma,
whose privacy loss distribution (PLD; Koskela, Jälkö, Honkela 2020; Doroshenko et al. 2022) the PLD accountant of
``dp_accounting`` bounds (pessimistic discretisation: the epsilon it reports is an upper bound). Poisson
subsampling is analysed under add/remove-one-record neighbours directly, and under replace-one (``REPLACE_ONE``)
when the ledger declares n public.
"""

from __future__ import annotations

__all__ = ["dpsgd_event", "pld_epsilon", "calibrate_noise_multiplier"]

#: PLD discretisation of the privacy loss (smaller: tighter and slower; the bound is pessimistic either way)
VALUE_DISCRETIZATION = 1e-3


def dpsgd_event(noise_multiplier: float, q: float, steps: int):
    """The ``dp_accounting`` event of T Poisson-subsampled Gaussian steps."""
    import dp_accounting as dpa

    return dpa.SelfComposedDpEvent(
        dpa.PoissonSampledDpEvent(float(q), dpa.GaussianDpEvent(float(noise_multiplier))), int(steps)
    )


def _relation(neighbours: str):
    import dp_accounting as dpa

    if neighbours == "add/remove":
        return dpa.NeighboringRelation.ADD_OR_REMOVE_ONE
    if neighbours == "replace-one":
        return dpa.NeighboringRelation.REPLACE_ONE
    raise ValueError(f"unknown neighbour relation {neighbours!r}")


def pld_epsilon(
    noise_multiplier: float, q: float, steps: int, delta: float, neighbours: str = "add/remove"
) -> float:
    """Epsilon at ``delta`` of T Poisson-subsampled Gaussian steps (PLD accountant, an upper bound)."""
    from dp_accounting.pld import PLDAccountant

    acc = PLDAccountant(_relation(neighbours), value_discretization_interval=VALUE_DISCRETIZATION)
    acc.compose(dpsgd_event(noise_multiplier, q, steps))
    return float(acc.get_epsilon(float(delta)))


#: the search's floor: a smaller noise multiplier makes the PLD's support (and memory) explode, and below it the
#: guarantee is weak anyway; when even the floor is within the target, the floor is used (more private than asked)
MIN_NOISE_MULTIPLIER = 0.3


def calibrate_noise_multiplier(
    epsilon: float, delta: float, q: float, steps: int, neighbours: str = "add/remove", rtol: float = 2e-3
) -> tuple[float, float]:
    """The smallest noise multiplier (to relative ``rtol``, at least :data:`MIN_NOISE_MULTIPLIER`) whose PLD epsilon at
    ``delta`` is at most ``epsilon``, found by bisection on :func:`pld_epsilon`; returns (noise multiplier, its
    epsilon). The search reads public parameters only (epsilon, delta, q, T), never data.
    """

    def eps(s: float) -> float:
        return pld_epsilon(s, q, steps, delta, neighbours)

    lo = MIN_NOISE_MULTIPLIER
    e_lo = eps(lo)
    if e_lo <= epsilon:
        return lo, e_lo
    hi = 1.0
    e_hi = eps(hi)
    while e_hi > epsilon:  # bracket: epsilon falls as the noise grows
        lo, hi = hi, hi * 2
        if hi > 1e4:
            raise ValueError(f"no noise multiplier up to 1e4 reaches epsilon {epsilon:g}")
        e_hi = eps(hi)
    while hi - lo > rtol * hi:
        mid = (lo + hi) / 2
        e_mid = eps(mid)
        if e_mid <= epsilon:
            hi, e_hi = mid, e_mid
        else:
            lo = mid
    return float(hi), float(e_hi)
