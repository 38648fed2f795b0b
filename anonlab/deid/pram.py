"""PRAM, the post-randomisation method, with an invariant transition matrix released beside the data.

PRAM (Gouweleeuw, Kooiman, Willenborg and de Wolf 1998) replaces each categorical value ``i`` by a value drawn from
row ``i`` of a transition matrix ``R`` (``R[i, j]`` = P(released ``j`` | original ``i``)). The matrix is built as
sdcMicro's ``pram`` builds it: a matrix ``P`` with diagonal drawn uniformly from ``[pd, 1]`` and the rest of each
row spread evenly over the other values; ``Q`` the matrix back (``Q[j, i] = P[i, j] p_i / (p P)_j``, with ``p``
the column's frequencies); ``R = alpha * P Q + (1 - alpha) * I``. ``R`` is *invariant*: ``p R = p``, so the
released frequencies equal the original ones in expectation and need no correction. Because ``R`` is published
(the report's ``released`` part), an analyst can correct any other estimate: the expected released frequencies
``f'`` of a subgroup are ``f R``, so ``f = f' R^-1`` (:func:`correct_frequencies`).

Privacy meaning: a released value is the original with probability ``R[i, i]`` only, so a matching value proves
nothing; this is plausible deniability, not differential privacy (``R`` is built from the data's frequencies, which
the release states anyway). Missing values are left missing.
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.perturbation import Perturbation, Perturbed
from anonlab.errors import UsageError

__all__ = ["PRAM", "invariant_matrix", "correct_frequencies"]


class PRAM(Perturbation):
    """Post-randomisation of categorical columns (sdcMicro's ``pram``) with an invariant transition matrix.

    Parameters (keyword only):

    - ``pd``: the smallest probability of keeping a value in the first matrix ``P`` (0 < pd <= 1); lower perturbs
      more. sdcMicro's default 0.8.
    - ``alpha``: how much of the invariant matrix is mixed with the identity (0 < alpha <= 1); lower keeps more
      values. sdcMicro's default 0.5.
    - ``seed``: for a reproducible draw (not written to the report); None draws fresh randomness.

    The report's ``released`` holds, per column, the values and the matrix ``R`` to publish with the data.

    >>> released, report = PRAM(pd=0.7).apply(df, quasi=["race", "marital-status"])  # doctest: +SKIP
    """

    name = "pram"
    column_kind = "category"

    def __init__(
        self, *, pd: float = 0.8, alpha: float = 0.5, seed: int | None = None, progress: bool = False
    ):
        self.pd = pd
        self.alpha = alpha
        super().__init__(seed=seed, progress=progress)

    def _validate(self) -> None:
        super()._validate()
        for name in ("pd", "alpha"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not 0 < v <= 1:
                raise UsageError(f"{name}={v!r}: must lie in (0, 1]")

    def _perturb(self, df, columns, rng) -> Perturbed:
        import pandas as pd

        values, released = {}, {}
        for c in columns:
            col = df[c]
            codes, cats = pd.factorize(col, sort=True)
            ok = codes >= 0
            freq = np.bincount(codes[ok], minlength=len(cats)).astype(np.float64)
            r = invariant_matrix(freq / freq.sum(), float(self.pd), float(self.alpha), rng)
            new = codes.copy()
            new[ok] = _draw(codes[ok], r, rng)
            out = np.asarray(col.to_numpy(), dtype=object).copy()
            out[ok] = np.asarray(cats, dtype=object)[new[ok]]
            values[c] = pd.Series(out, index=col.index).astype(col.dtype) if col.dtype != object else out
            released[c] = {"values": [str(v) for v in cats], "matrix": r.round(12).tolist()}
        return Perturbed(values, {"pram_transition_matrices": released})


def invariant_matrix(p: np.ndarray, pd: float, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """sdcMicro's invariant PRAM matrix for frequencies ``p`` (summing to 1): ``alpha * P Q + (1 - alpha) I``."""
    m = len(p)
    if m == 1:
        return np.ones((1, 1))
    diag = rng.uniform(pd, 1.0, size=m)
    big_p = np.tile(((1 - diag) / (m - 1))[:, None], (1, m))
    np.fill_diagonal(big_p, diag)
    back = p @ big_p  # the released distribution under P
    q = (big_p * p[:, None]).T / back[:, None]  # Q[j, i] = P[i, j] p_i / (p P)_j
    r = alpha * (big_p @ q) + (1 - alpha) * np.eye(m)
    return r / r.sum(axis=1, keepdims=True)  # rows sum to 1 (up to rounding already)


def _draw(codes: np.ndarray, r: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per record from row ``codes[i]`` of ``r``: inverse CDF, grouped by original value."""
    cum = np.cumsum(r, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(codes))
    out = np.empty_like(codes)
    for i in range(r.shape[0]):
        rows = np.nonzero(codes == i)[0]
        out[rows] = np.searchsorted(cum[i], u[rows], side="right")
    return np.minimum(out, r.shape[0] - 1)


def correct_frequencies(released_counts, matrix) -> np.ndarray:
    """Unbiased estimate of the original counts (in the matrix's value order) from counts of the released values:
    ``f = f' R^-1`` (Kooiman, Willenborg and Gouweleeuw 1997). May be negative for small groups."""
    r = np.asarray(matrix, dtype=np.float64)
    return np.linalg.solve(r.T, np.asarray(released_counts, dtype=np.float64))
