"""Marginal tables of an encoded table, and the workload error synthesizers are judged by.

A *marginal* on a set of columns (a clique) counts the rows in each combination of their codes. The workload
error of a synthetic table is the mean total variation distance between its marginals and the real ones, over a
workload of cliques (all 2-way, all 3-way): 0 means identical, 1 means disjoint. These counts read the real data
and are not private on their own: DP code measures them only through :mod:`anonlab.privacy.mechanisms`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["marginal", "tv_distance", "workload", "workload_error"]


def marginal(codes: np.ndarray, sizes: Sequence[int], clique: Sequence[int]) -> np.ndarray:
    """Counts of ``codes`` (``(n, d)`` ints) over the columns ``clique``, shaped ``[sizes[c] for c in clique]``."""
    clique = tuple(clique)
    shape = tuple(int(sizes[c]) for c in clique)
    if not clique:
        return np.array(float(len(codes)))
    flat = np.ravel_multi_index(tuple(codes[:, c] for c in clique), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(float)


def tv_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two count tables of the same shape (each normalised to sum 1)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a = a / a.sum() if a.sum() > 0 else a
    b = b / b.sum() if b.sum() > 0 else b
    return 0.5 * float(np.abs(a - b).sum())


def workload(d: int, k: int) -> list[tuple[int, ...]]:
    """All ``k``-way cliques of ``d`` columns."""
    return list(itertools.combinations(range(d), k))


def workload_error(
    real: np.ndarray, synthetic: np.ndarray, sizes: Sequence[int], cliques: Sequence[Sequence[int]]
) -> float:
    """Mean total variation distance between the real and synthetic marginals over ``cliques``."""
    errs = [tv_distance(marginal(real, sizes, c), marginal(synthetic, sizes, c)) for c in cliques]
    return float(np.mean(errs)) if errs else 0.0
