"""k-map (Sweeney; El Emam and Dankar 2008; ARX's ``KMap``): every released class matches at least k individuals of
the population, not only k records of the sample.

A sample drawn from a larger population need not be k-anonymous in itself to protect against re-identification:
an attacker who links a released record to the population finds at least k candidates when its class holds at
least k population individuals. Two ways to know the population's class sizes:

- **a population table** (``population=``): counted exactly (the sample must be a subset of it; checked). A
  class's population count is ``|P ∩ E|``; the model holds when it is at least ``k`` for every released class.
- **an estimate** (``estimator=`` with ``sampling_fraction=``, no population table): as ARX does, the population
  count of a class of ``f`` sample records is modelled by a Poisson (``"poisson"``) or zero-truncated Poisson
  (``"zero-truncated-poisson"``) distribution of mean ``sampling_fraction * k`` and a *derived* k is computed: the
  sample class size at which the chance of a smaller population class falls to ``significance`` (ARX's
  ``calculateKPoisson`` / ``calculateKZeroPoisson``, capped at ``k`` and at the sample's size). The release is then
  k-anonymous in the sample at the derived k. This is a statistical estimate, not a guarantee: the report says
  which form was used.

Full-domain generalisation, the lattice searched for the least GCP (:mod:`anonlab.deid.model_lattice`). Monotone
(merged classes have more population individuals), suppression included.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from anonlab.deid.model_lattice import LatticeModel, NodeClasses
from anonlab.deid.population import PopulationParams
from anonlab.errors import UsageError

__all__ = ["KMap", "ESTIMATORS", "derived_k"]

ESTIMATORS = ("poisson", "zero-truncated-poisson")


@functools.lru_cache(maxsize=64)
def derived_k(k: int, sampling_fraction: float, significance: float, estimator: str) -> tuple[int, float]:
    """ARX's derived k for k-map estimated from a sampling fraction, and the type-I error it leaves.

    ``poisson``: the smallest ``c`` with ``P(X <= c) >= 1 - significance``, ``X ~ Poisson(sampling_fraction * k)``,
    plus 2 (ARX's ``calculateKPoisson``); ``zero-truncated-poisson``: the same sum over the zero-truncated
    distribution from 1, plus 1 (ARX's ``calculateKZeroPoisson``). Not capped here (see :class:`KMap`)."""
    lam = sampling_fraction * k
    threshold = 1.0 - significance

    def pmf(c: int) -> float:
        return math.exp(-lam + c * math.log(lam) - math.lgamma(c + 1)) if lam > 0 else float(c == 0)

    if estimator == "poisson":
        counter, value, cdf = 0, 0.0, 0.0
        while value < threshold:
            cdf += pmf(counter)
            value = min(cdf, 1.0)
            counter += 1
        return counter + 1, 1.0 - value
    v2 = 1.0 - pmf(0)
    counter, value = 1, 0.0
    while value < threshold:
        value += pmf(counter) / v2
        counter += 1
    return counter, 1.0 - value


class KMap(PopulationParams, LatticeModel):
    """k-map: each released class matches at least ``k`` individuals of the population (ARX's ``KMap``).

    Parameters (keyword only):

    - ``k``: the smallest number of population individuals a released class may match (re-identification of a
      released record by linking to the population at most 1/k).
    - ``population``: the population table (DataFrame or path; the sample a subset of it): counts are exact.
    - ``estimator`` (``"poisson"`` or ``"zero-truncated-poisson"``) with ``sampling_fraction`` (the sample's
      share of the population, 0 < f <= 1) and ``significance`` (the accepted chance that a class is smaller in
      the population than estimated; ARX's significance level): without a population table, the population
      counts are estimated (a derived k in the sample; not a guarantee).
    - ``max_suppression``, ``suppress_mark``: as in :class:`~anonlab.deid.methods.Anonymizer`.

    >>> KMap(k=10, population="census.csv").apply(sample, quasi=q)                       # doctest: +SKIP
    >>> KMap(k=10, estimator="poisson", sampling_fraction=0.01).apply(sample, quasi=q)   # doctest: +SKIP
    """

    name = "kmap"

    def __init__(
        self,
        *,
        k: int,
        population=None,
        estimator: str | None = None,
        sampling_fraction: float | None = None,
        significance: float = 0.01,
        max_suppression: float = 0.0,
        suppress_mark: bool = False,
        progress: bool = False,
    ):
        self.population = population
        self.estimator = estimator
        self.sampling_fraction = sampling_fraction
        self.significance = significance
        super().__init__(k=k, max_suppression=max_suppression, suppress_mark=suppress_mark, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        if (self.population is None) == (self.estimator is None):
            raise UsageError(
                "k-map needs either population= (a population table) or estimator= with sampling_fraction= "
                "(an estimate), not both"
            )
        if self.estimator is not None:
            if self.estimator not in ESTIMATORS:
                raise UsageError(
                    f"estimator={self.estimator!r} is not known (use one of {', '.join(ESTIMATORS)})"
                )
            f = self.sampling_fraction
            if isinstance(f, bool) or not isinstance(f, int | float | np.number) or not 0 < f <= 1:
                raise UsageError(
                    f"sampling_fraction={f!r}: must lie in (0, 1] (the sample's share of the population)"
                )
            s = self.significance
            if isinstance(s, bool) or not isinstance(s, int | float | np.number) or not 0 < s < 1:
                raise UsageError(f"significance={s!r}: must lie in (0, 1)")
        elif self.sampling_fraction is not None:
            raise UsageError(
                "sampling_fraction= goes with estimator= (with population= the counts are exact)"
            )

    def _derived(self) -> tuple[int, float]:
        if self.sampling_fraction is None or self.estimator is None:  # pragma: no cover - _validate checks
            raise UsageError("k-map's estimate needs estimator= and sampling_fraction=")
        return derived_k(int(self.k), float(self.sampling_fraction), float(self.significance), self.estimator)

    def criteria(self):
        from anonlab.deid.criteria import Criteria

        if self.estimator is None:
            return Criteria(k=1)
        return Criteria(k=max(1, min(int(self.k), self._derived()[0])))

    def _class_ok(self, nc: NodeClasses, table) -> np.ndarray:
        if nc.population is None:
            k_sample = min(self.criteria().k, table.n)
            return nc.sample >= k_sample
        # classes without sample records are not released: nothing to match there
        return (nc.population >= int(self.k)) | (nc.sample == 0)

    def _monotone(self) -> bool:
        return True

    def _search_extra(self, table, classes, nc) -> dict:
        if nc.population is None:
            dk, err = self._derived()
            return {
                "k_map_form": f"estimated ({self.estimator}, sampling fraction {self.sampling_fraction:g})",
                "k_derived": int(min(int(self.k), dk, table.n)),
                "type_1_error": float(err),
            }
        released = np.unique(nc.inv[classes.order])
        return {
            "k_map_form": "population table (exact counts)",
            "population_records": int(table.n_population),
            "k_map_achieved": int(nc.population[released].min()),
        }
