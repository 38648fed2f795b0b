"""delta-presence (Nergiz, Atzori and Clifton, SIGMOD 2007; ARX's model): bound what the release tells about who is
in the sample.

The research sample T is a subset of a public population table P (the attacker knows P, e.g. a voter list, and
that T was drawn from it). After generalisation, a population individual whose class E holds ``|T ∩ E|`` sample
records among ``|P ∩ E|`` population records is in the sample with probability ``|T ∩ E| / |P ∩ E|`` to that
attacker. The release is (delta_min, delta_max)-present when this lies within ``[delta_min, delta_max]`` for every
class of the population, classes without any sample record included (probability 0): the attacker can neither
be sure that someone is in the sample (delta_max < 1) nor that someone is not (delta_min > 0).

Full-domain generalisation, the lattice searched for the least GCP (:mod:`anonlab.deid.model_lattice`). The
property is monotone: merging classes gives a probability between theirs, so every node below a failing one fails.
Suppression: a suppressed class's population individuals would be known to be absent (probability 0), so records
may be suppressed only when ``delta_min = 0``.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.model_lattice import LatticeModel, NodeClasses
from anonlab.deid.population import PopulationParams
from anonlab.errors import UsageError

__all__ = ["DeltaPresence", "presence"]

_EPS = 1e-12


def presence(node_classes: NodeClasses) -> np.ndarray:
    """Each class's ``|T ∩ E| / |P ∩ E|`` (sample records over population records)."""
    pop = node_classes.population
    if pop is None:  # pragma: no cover - delta-presence always has a population
        raise UsageError("delta-presence needs population counts")
    return node_classes.sample / np.maximum(pop, 1)


class DeltaPresence(PopulationParams, LatticeModel):
    """delta-presence with a population table (ARX's ``DPresence``): every class of the generalised population
    holds the sample's records in a share between ``delta_min`` and ``delta_max``.

    Parameters (keyword only):

    - ``population``: the public population table (a DataFrame or a table's path) holding every sample record's
      quasi-identifiers (the sample must be a subset; checked).
    - ``delta_min``, ``delta_max``: bounds (0 <= delta_min <= delta_max <= 1) on the probability, to an attacker
      who knows the population and the release, that a population individual is in the sample. The share of the
      sample in the population (``len(sample) / len(population)``) must lie between them or no generalisation can
      meet them.
    - ``k``: also k-anonymity in the sample (1: delta-presence alone).
    - ``max_suppression``, ``suppress_mark``: as in :class:`~anonlab.deid.methods.Anonymizer`; only with
      ``delta_min = 0``.

    >>> DeltaPresence(k=1, population=pop, delta_min=0.05, delta_max=0.5).apply(sample, quasi=q)  # doctest: +SKIP
    """

    name = "presence"

    def __init__(
        self,
        *,
        k: int,
        population=None,
        delta_min: float = 0.0,
        delta_max: float = 1.0,
        max_suppression: float = 0.0,
        suppress_mark: bool = False,
        progress: bool = False,
    ):
        self.population = population
        self.delta_min = delta_min
        self.delta_max = delta_max
        super().__init__(k=k, max_suppression=max_suppression, suppress_mark=suppress_mark, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        for name in ("delta_min", "delta_max"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not 0 <= v <= 1:
                raise UsageError(f"{name}={v!r}: must lie between 0 and 1 (a probability)")
        if self.delta_min > self.delta_max:
            raise UsageError(f"delta_min={self.delta_min!r} is above delta_max={self.delta_max!r}")
        if self.max_suppression and self.delta_min > 0:
            raise UsageError(
                "max_suppression= needs delta_min=0: the population individuals of a suppressed class would be "
                "known to be absent from the sample"
            )
        if self.population is None:
            raise UsageError("population= is needed: the public population table the sample was drawn from")

    def _class_ok(self, nc: NodeClasses, table) -> np.ndarray:
        d = presence(nc)
        return (d >= self.delta_min - _EPS) & (d <= self.delta_max + _EPS)

    def _search_extra(self, table, classes, nc) -> dict:
        d = presence(nc)
        live = nc.population > 0
        released = np.unique(nc.inv[classes.order]) if classes.n_classes else np.zeros(0, dtype=np.int64)
        return {
            "population_records": int(table.n_population),
            "delta_achieved": [float(d[live].min()), float(d[released].max()) if len(released) else 0.0],
            "delta_bounds": [float(self.delta_min), float(self.delta_max)],
        }
