"""Marginal tables of an encoded table, and the workload error synthesizers are judged by.

A *marginal* on a set of columns (a clique) counts the rows in each combination of their codes. The workload
error of a synthetic table is the mean total variation distance between its marginals and the real ones, over a
workload of cliques (all 2-way, all 3-way): 0 means identical, 1 means disjoint. These counts read the real data
and are not private on their own: DP code measures them only through :mod:`anonlab.privacy.mechanisms`.

A fit usually reads the marginals from an in-memory ``(n, d)`` array of codes; a :class:`MarginalSource` answers the
same counts without the rows in memory (:mod:`anonlab.distributed.marginals` counts them on a Dask cluster), and
:func:`marginal` takes either.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

__all__ = ["MarginalSource", "marginal", "tv_distance", "workload", "workload_error"]


class MarginalSource(ABC):
    """The exact marginals of an encoded table whose rows are not in memory, in place of its ``(n, d)`` codes.

    A marginal-based fit (MST, AIM) reads its table only through :func:`marginal`, ``shape[0]`` (the row count, for
    a DP row count) and :func:`anonlab.synth.compression.compress_codes`; a source answers each with the same exact
    numbers the array would give. Like the array, it is private: DP code releases it only with noise.
    """

    shape: tuple[int, int]  #: (rows, columns), as the array of codes

    @abstractmethod
    def marginal(self, sizes: Sequence[int], clique: tuple[int, ...]) -> np.ndarray:
        """:func:`marginal` of the table's codes (float counts shaped ``[sizes[c] for c in clique]``)."""

    @abstractmethod
    def compressed(self, compression) -> MarginalSource:
        """The same table with ``compression`` (:class:`~anonlab.synth.compression.Compression`) applied."""


def marginal(codes: np.ndarray | MarginalSource, sizes: Sequence[int], clique: Sequence[int]) -> np.ndarray:
    """Counts of ``codes`` (``(n, d)`` ints, or a :class:`MarginalSource`) over the columns ``clique``, shaped
    ``[sizes[c] for c in clique]``."""
    clique = tuple(clique)
    if isinstance(codes, MarginalSource):
        return codes.marginal(sizes, clique)
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
