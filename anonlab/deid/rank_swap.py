"""Rank swapping of numeric columns (Moore 1996; sdcMicro's ``rankSwap``): values exchanged between records whose
ranks are close.

Each column is swapped on its own. Its values are sorted; the ranks are cut into consecutive windows of
``p`` percent of the records (the windows start at a random offset), and inside each window the records are paired
at random and exchange their values (an odd one out keeps its own). So every value moves to a record whose rank
differs by less than ``p`` percent of the records, the bound of Moore's algorithm, while the column's values (its
whole distribution) are released exactly; what changes is which record holds which value, so relations between
columns are blurred. Moore's sequential draw picks each partner uniformly among the unswapped records within the
bound; pairing inside windows draws partners with the same bound in one vectorised pass.

Privacy meaning: a released value is some near-ranked record's value, so matching an exact value identifies no
one with certainty; not differential privacy. Missing values are not swapped.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.perturbation import Perturbation, Perturbed
from anonlab.errors import UsageError

__all__ = ["RankSwap", "rank_swap"]


class RankSwap(Perturbation):
    """Rank swapping (sdcMicro's ``rankSwap``): each value exchanged with one whose rank is within ``p`` percent.

    Parameters (keyword only):

    - ``p``: the largest rank distance of a swap, in percent of the records (0 < p <= 100; sdcMicro's ``P``,
      default 15).
    - ``seed``: for a reproducible draw (not written to the report).

    >>> released, report = RankSwap(p=5).apply(df, quasi=["age", "hours-per-week"])  # doctest: +SKIP
    """

    name = "rankswap"

    def __init__(self, *, p: float = 15.0, seed: int | None = None, progress: bool = False):
        self.p = p
        super().__init__(seed=seed, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        if (
            isinstance(self.p, bool)
            or not isinstance(self.p, int | float | np.number)
            or not 0 < self.p <= 100
        ):
            raise UsageError(f"p={self.p!r}: must be a percentage in (0, 100]")

    def _perturb(self, df, columns, rng) -> Perturbed:
        out, details = {}, {}
        for c in columns:
            x = df[c].to_numpy(dtype=np.float64)
            ok = np.flatnonzero(~np.isnan(x))
            window = max(2, int(np.floor(self.p / 100.0 * len(ok))))
            new = x.copy()
            new[ok] = rank_swap(x[ok], window, rng)
            out[c] = new.astype(df[c].dtype) if df[c].dtype.kind in "iu" and len(ok) == len(x) else new
            details[c] = {"window_records": window}
        return Perturbed(out, details=details)


def rank_swap(x: np.ndarray, window: int, rng: np.random.Generator) -> np.ndarray:
    """``x`` with values exchanged in random pairs inside windows of ``window`` consecutive ranks."""
    n = len(x)
    order = np.argsort(x, kind="stable")  # order[r] = record of rank r
    offset = int(rng.integers(0, window))
    block = (np.arange(n) + offset) // window  # window of each rank
    # shuffle ranks inside each window, then pair neighbours of the shuffled order
    key = block * 2.0 + rng.random(n)  # sorts by window, then at random inside it
    shuffled = np.argsort(key, kind="stable")
    starts = np.r_[0, np.flatnonzero(np.diff(block[shuffled])) + 1]
    pos_in_block = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    sizes = np.repeat(np.diff(np.r_[starts, n]), np.diff(np.r_[starts, n]))
    partner = np.arange(n)
    even = (pos_in_block % 2 == 0) & (pos_in_block + 1 < sizes)
    i = np.flatnonzero(even)
    partner[i], partner[i + 1] = i + 1, i
    ranks = shuffled  # rank at each shuffled position
    new_rank = np.empty(n, dtype=np.int64)
    new_rank[ranks] = ranks[partner]
    out = np.empty_like(x)
    out[order] = x[order[new_rank]]
    return out
