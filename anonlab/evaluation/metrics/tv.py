"""Marginal fidelity: how far the release's 1-, 2- and 3-way marginal distributions are from the real ones.

For each set of columns, both tables are counted over the discretised codes (numeric columns in quantile bins of
the real column) and the total variation distance (TVD, half the L1 distance between the two distributions) is
taken: 0 when the release reproduces that marginal exactly, 1 when the two put their mass on disjoint cells.
1-way TVD checks each column's distribution; 2- and 3-way TVD check that relations between columns survived (a
release whose columns were shuffled independently keeps its 1-way marginals and loses its 2-way ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["MarginalResult", "marginal_tvd", "choose_sets"]


@dataclass(frozen=True)
class MarginalResult:
    """TVD over the ``n_sets`` column sets of one order (1, 2 or 3).

    mean_tvd, max_tvd : average and worst TVD over the sets; ``worst`` names the worst set.
    n_possible : how many sets exist; when above ``n_sets`` a uniform random subset was measured.
    per_set : for order 1 and 2, ``{"a" or "a|b": tvd}`` (drawn in the report).
    """

    order: int
    n_sets: int
    n_possible: int
    mean_tvd: float
    max_tvd: float
    worst: tuple[str, ...]
    per_set: dict[str, float]

    @property
    def score(self) -> float:
        """``1 - mean_tvd``: 1 is a perfect match of these marginals."""
        return 1.0 - self.mean_tvd

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "n_sets": self.n_sets,
            "n_possible": self.n_possible,
            "mean_tvd": self.mean_tvd,
            "max_tvd": self.max_tvd,
            "score": self.score,
            "worst": list(self.worst),
            "per_set": self.per_set if self.order <= 2 else {},
        }


def _tvd(a: np.ndarray, b: np.ndarray, size: int) -> float:
    import numpy as np

    return counts_tvd(np.bincount(a, minlength=size), np.bincount(b, minlength=size))


def counts_tvd(p: np.ndarray, q: np.ndarray) -> float:
    """The total variation distance between the distributions of two count vectors over the same cells."""
    import numpy as np

    p, q = p.astype(float), q.astype(float)
    return 0.5 * float(np.abs(p / max(p.sum(), 1) - q / max(q.sum(), 1)).sum())


def choose_sets(cols: list[str], order: int, max_sets: int = 300) -> tuple[list[tuple[str, ...]], int]:
    """The column sets of one order that are measured, and how many exist.

    When there are more than ``max_sets``, a uniform random subset is taken with a generator seeded from the column
    names alone, so that every release of a table (and every baseline) is measured on the same sets.
    """
    import zlib

    import numpy as np

    sets = list(combinations(cols, order))
    n_possible = len(sets)
    if len(sets) > max_sets:
        rng = np.random.default_rng(zlib.crc32("\x00".join(map(str, cols)).encode("utf-8")) + order)
        pick = np.sort(rng.choice(len(sets), max_sets, replace=False))
        sets = [sets[i] for i in pick]
    return sets, n_possible


def marginal_tvd(
    real: pd.DataFrame,
    release: pd.DataFrame,
    cardinality: dict[str, int],
    order: int,
    *,
    rng: np.random.Generator | None = None,
    max_sets: int = 300,
    sets: list[tuple[str, ...]] | None = None,
) -> MarginalResult:
    """TVD of every ``order``-way marginal (or ``max_sets`` of them, :func:`choose_sets`) between two frames of
    codes.

    ``real`` and ``release`` hold int64 codes from the same :class:`~anonlab.evaluation.metrics.discretise.Discretiser`;
    ``cardinality`` bounds each column's codes. ``sets`` gives the sets to measure (default: :func:`choose_sets`);
    ``rng`` is not used (kept for callers of the earlier signature).
    """
    import numpy as np

    cols = list(cardinality)
    if sets is None:
        sets, n_possible = choose_sets(cols, order, max_sets)
    else:
        import math

        n_possible = math.comb(len(cols), order)
    ra = {c: real[c].to_numpy() for c in cols}
    rb = {c: release[c].to_numpy() for c in cols}
    per: dict[str, float] = {}
    values = []
    for s in sets:
        ka = np.zeros(len(real), dtype=np.int64)
        kb = np.zeros(len(release), dtype=np.int64)
        size = 1
        for c in s:
            ka = ka * cardinality[c] + ra[c]
            kb = kb * cardinality[c] + rb[c]
            size *= cardinality[c]
        if size > 5_000_000:  # compact sparse keys
            uniq, inv = np.unique(np.concatenate([ka, kb]), return_inverse=True)
            ka, kb, size = inv[: len(ka)], inv[len(ka) :], len(uniq)
        t = _tvd(ka, kb, size)
        values.append(t)
        per["|".join(s)] = t
    if not values:
        return MarginalResult(order, 0, n_possible, 0.0, 0.0, (), {})
    i = int(np.argmax(values))
    return MarginalResult(
        order=order,
        n_sets=len(sets),
        n_possible=n_possible,
        mean_tvd=float(np.mean(values)),
        max_tvd=float(values[i]),
        worst=tuple(sets[i]),
        per_set=per if order <= 2 else {},
    )
