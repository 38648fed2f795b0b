"""Microaggregation by MDAV, and the information loss sdcMicro reports for it (IL1s, eigenvalue-based).

MDAV (Maximum Distance to Average Vector; Domingo-Ferrer and Mateo-Sanz 2002, Domingo-Ferrer and Torra 2005)
groups records of numeric quasi-identifiers into groups of at least ``k`` close records (on standardised columns)
and releases each record's group mean: while 3k or more records are left, take the record ``r`` farthest from
the centroid of those left and the record ``s`` farthest from ``r``, and form a group of the ``k`` records nearest
``r`` (r included) and then one of the ``k`` nearest ``s``; with 2k to 3k - 1 left, one group around the farthest
record and the rest as the last group; with fewer than 2k left, one group. Every group has ``k`` records except
the last (``k`` to ``2k - 1``), so the release is k-anonymous on the aggregated columns (records with equal means
share a class, still at least ``k``).

Each step is a pass of numpy over the records left (a matrix-vector product and a partial sort); removed records
are masked out and the arrays compacted when half are gone, so there is no Python loop over records.

Information loss (as sdcMicro's ``dUtility``): ``il1s`` (Yancey, Winkler and Creecy 2002) is the mean over cells
of ``|x - x'| / S * sqrt(2)`` with ``S`` the original column's standard deviation, computed exactly as sdcMicro's
code does (the paper divides by ``sqrt(2) S``; sdcMicro multiplies, so its figure is twice the paper's);
``eigen`` is the sum over eigenvalues of the correlation matrix of ``|lambda - lambda'| / lambda`` (the perturbed
matrix standardised by its own scale, as ``var(scale(xm))`` does).
"""

from __future__ import annotations

import numpy as np

from anonlab.deid.methods import Anonymizer, Classes, NotSatisfiable, Partition
from anonlab.errors import UsageError

__all__ = ["MDAV", "mdav_groups", "il1s", "eigen_loss"]


class MDAV(Anonymizer):
    """Multivariate microaggregation by MDAV: numeric quasi-identifiers replaced by the mean of groups of at least
    ``k`` similar records (sdcMicro's ``microaggregation(method="mdav")``).

    Parameters (keyword only):

    - ``k``: the group size (aggregation level); each released mean vector is shared by at least ``k`` records.
    - ``standardise``: group on columns scaled to unit variance (as sdcMicro), so no column dominates the
      distance by its unit; ``False`` groups on raw values.
    - ``progress``: accepted for the contract.

    Every quasi-identifier must be numeric with no missing value. The report's ``search`` holds ``il1s`` and
    ``eigen`` (see the module docstring). Privacy meaning: k-anonymity on the aggregated columns against an
    attacker who knows them exactly; an attacker who knows a record's value can still tell which group it is in.

    >>> released, report = MDAV(k=5).apply(df, quasi=["age", "hours-per-week"])  # doctest: +SKIP
    """

    name = "mdav"

    def __init__(self, *, k: int, standardise: bool = True, progress: bool = False):
        self.standardise = standardise
        super().__init__(k=k, progress=progress)

    def _partition(self, table, criteria) -> Partition:
        x = _numeric_matrix(table)
        groups = mdav_groups(x, int(criteria.k), standardise=bool(self.standardise))
        sizes = np.bincount(groups)
        means = np.stack([np.bincount(groups, weights=x[:, j]) / sizes for j in range(x.shape[1])], axis=1)
        # records whose group means coincide are one released class
        _, cls = np.unique(means, axis=0, return_inverse=True)
        cls = cls.ravel()[groups]
        order = np.argsort(cls, kind="stable")
        csizes = np.bincount(cls)
        ends = np.cumsum(csizes)
        classes = Classes(order, ends - csizes, ends)
        first = order[ends - csizes]
        released = means[groups]
        labels = [released[first, j].astype(object) for j in range(x.shape[1])]
        from anonlab.deid.mondrian import describe_classes

        _, ncp = describe_classes(classes, table.quasi, with_labels=False)
        generalisation = {
            q.name: {
                "kind": "microaggregation (group mean)",
                "distinct_released": int(len(np.unique(released[:, j]))),
                "distinct_original": int(q.n_codes),
            }
            for j, q in enumerate(table.quasi)
        }
        search = {
            "groups": int(len(sizes)),
            "largest_group": int(sizes.max()),
            "il1s": il1s(x, released),
            "eigen": eigen_loss(x, released),
        }
        return Partition(classes, labels, ncp, generalisation, search)


def _numeric_matrix(table) -> np.ndarray:
    cols = []
    for q in table.quasi:
        if q.kind != "numeric":
            raise UsageError(f"mdav aggregates numeric columns only: quasi-identifier {q.name!r} is {q.kind}")
        if q.has_missing:
            raise UsageError(
                f"mdav: quasi-identifier {q.name!r} has missing values (impute or drop them first)"
            )
        cols.append(np.asarray(q.values, dtype=np.float64)[q.codes])
    return np.stack(cols, axis=1)


def mdav_groups(x: np.ndarray, k: int, *, standardise: bool = True) -> np.ndarray:
    """Group number of every row of ``x`` (rows x columns, numeric) under MDAV with group size ``k``."""
    n = len(x)
    if n < k:
        raise NotSatisfiable(f"the table has {n} records, fewer than k={k}")
    z = np.asarray(x, dtype=np.float64)
    if standardise:
        sd = z.std(axis=0, ddof=1) if n > 1 else np.ones(z.shape[1])
        z = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    groups = np.full(n, -1, dtype=np.int64)
    # columns x rows, single precision: each distance pass is one matrix-vector product over half the bytes
    zt = np.ascontiguousarray(z.T, dtype=np.float32)
    idx = np.arange(n)  # original row of each position
    sq = np.einsum("ij,ij->i", z, z).astype(np.float32)
    near_sq, far_sq = sq.copy(), sq.copy()  # +inf / -inf at removed positions: no mask per pass
    total = z.sum(axis=0)  # double precision: it is updated by subtraction thousands of times
    state = {"m": n, "g": 0}

    def take(pos):
        groups[idx[pos]] = state["g"]
        state["g"] += 1
        near_sq[pos], far_sq[pos] = np.inf, -np.inf
        state["m"] -= len(pos)
        return zt[:, pos].sum(axis=1, dtype=np.float64)

    def farthest_from_centroid(total):
        return int(np.argmax(far_sq - 2.0 * ((total / state["m"]).astype(np.float32) @ zt)))

    while state["m"] >= 3 * k:
        r = farthest_from_centroid(total)
        pr = np.float32(2.0) * (zt[:, r] @ zt)
        s = int(np.argmax(far_sq - pr))
        total = total - take(np.argpartition(near_sq - pr, k - 1)[:k])
        total = total - take(np.argpartition(near_sq - np.float32(2.0) * (zt[:, s] @ zt), k - 1)[:k])
        if state["m"] < 0.7 * len(idx):  # compact to the records left
            keep = np.flatnonzero(np.isfinite(near_sq))
            zt, idx, near_sq, far_sq = (
                np.ascontiguousarray(zt[:, keep]),
                idx[keep],
                near_sq[keep],
                far_sq[keep],
            )
    if state["m"] >= 2 * k:
        r = farthest_from_centroid(total)
        total = total - take(np.argpartition(near_sq - np.float32(2.0) * (zt[:, r] @ zt), k - 1)[:k])
    if state["m"] > 0:
        take(np.flatnonzero(np.isfinite(near_sq)))
    return groups


def il1s(x: np.ndarray, xm: np.ndarray) -> float:
    """sdcMicro's IL1s: mean over cells of ``|x - xm| / sd(x) * sqrt(2)`` (a column with sd 0 contributes 0 where
    unchanged)."""
    x = np.asarray(x, dtype=np.float64)
    xm = np.asarray(xm, dtype=np.float64)
    sd = x.std(axis=0, ddof=1)
    a = np.abs(x - xm) / np.where(sd > 0, sd, np.inf) * np.sqrt(2.0)
    return float(a.sum() / a.size)


def eigen_loss(x: np.ndarray, xm: np.ndarray) -> float | None:
    """sdcMicro's eigenvalue-based loss: ``sum |e1 - e2| / e1`` over the eigenvalues (descending) of the
    correlation matrices of ``x`` and ``xm``. None when a column is constant (no correlation matrix)."""
    x = np.asarray(x, dtype=np.float64)
    xm = np.asarray(xm, dtype=np.float64)
    if len(x) < 2 or (x.std(axis=0) == 0).any() or (xm.std(axis=0) == 0).any():
        return None
    e1 = np.sort(np.linalg.eigvalsh(np.atleast_2d(np.corrcoef(x, rowvar=False))))[::-1]
    e2 = np.sort(np.linalg.eigvalsh(np.atleast_2d(np.corrcoef(xm, rowvar=False))))[::-1]
    return float((np.abs(e1 - e2) / e1).sum())
