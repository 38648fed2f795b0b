"""The maximum-entropy model of NAPSU-MQ on the enumerated joint domain, and its canonical marginal queries.

NAPSU-MQ (Raisa, Jälkö, Kaski, Honkela 2023, "Noise-aware statistical inference with differentially private
synthetic data", AISTATS) models the data as the maximum-entropy distribution p(x) proportional to
exp(lambda . f(x)) whose sufficient statistics f are marginal queries. This module holds anonlab's own version of
the two parts twinify 2.0 provided: :func:`canonical_queries` (twinify's ``FullMarginalQuerySet(...)
.get_canonical_queries()``: the same queries) and :class:`JointMaxEnt` (the distribution, the log-partition, and
the mean and covariance of f, as twinify's ``MarkovNetwork`` computes them by variable elimination; here on the
whole joint table, which is exact and compiles in seconds while the joint domain is small).

Nothing here reads data: the domain is anonlab's public encoding (codes ``0 .. size - 1`` per column).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from anonlab.errors import UsageError

__all__ = ["CanonicalQueries", "canonical_queries", "JointMaxEnt", "brute_force_probs"]


class CanonicalQueries:
    """Marginal queries in canonical form: each is one cell of one of the measured marginals.

    ``cliques[g]`` is the g-th marginal (column indices, as given); ``group[k]`` is the marginal of query k,
    ``values[k]`` its cell (codes in the order of ``cliques[group[k]]``). The queries of one marginal are distinct
    cells of it, hence disjoint events: one record satisfies at most one query per marginal, so adding or removing a
    record moves the vector of counts by at most ``sqrt(len(cliques))`` in L2 (replacing one: ``sqrt(2 x that)``).
    """

    def __init__(
        self,
        cliques: list[tuple[int, ...]],
        group: np.ndarray,
        values: list[tuple[int, ...]],
        sizes: Sequence[int],
    ):
        self.sizes = tuple(int(s) for s in sizes)
        self.cliques = cliques
        self.group = np.asarray(group, dtype=np.int64)
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @property
    def marginals(self) -> int:
        """How many marginals carry at least one query (the L2 sensitivity is the square root of this)."""
        return len(set(self.group.tolist()))

    def counts(self, codes: np.ndarray) -> np.ndarray:
        """How many rows of ``codes`` (n x d integer codes) satisfy each query (vectorised per marginal)."""
        out = np.zeros(len(self), dtype=np.int64)
        for g, clique in enumerate(self.cliques):
            ks = np.flatnonzero(self.group == g)
            if not len(ks):
                continue
            shape = tuple(self.sizes[i] for i in clique)
            vals = np.array([self.values[k] for k in ks], dtype=np.int64)
            cell = np.ravel_multi_index(tuple(codes[:, i] for i in clique), shape)
            table = np.bincount(cell, minlength=int(np.prod(shape)))
            out[ks] = table[np.ravel_multi_index(tuple(vals.T), shape)]
        return out

    def as_tuples(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Each query as (column indices, cell), e.g. to build twinify's ``MarginalQuery`` in the benchmark."""
        return [(self.cliques[g], v) for g, v in zip(self.group.tolist(), self.values, strict=True)]


def canonical_queries(cliques: Sequence[Sequence[int]], sizes: Sequence[int]) -> CanonicalQueries:
    """The canonical queries of the full marginals on ``cliques`` over a domain of ``sizes`` (code 0 is the base).

    The full marginals are over-complete (each marginal's cells sum to n, and marginals sharing columns agree on
    them); the canonical form keeps a linearly independent set spanning the same statistics, so the max-entropy
    model's parameters are identified. Every non-empty subset S of a marginal is owned by the first marginal that
    contains it; a cell v of marginal C is kept when some subset S owned by C has all its codes in v non-zero. That
    is twinify 2.0's ``get_canonical_queries`` (its own-subset queries x_S = v_S, all v_S non-zero, expanded to the
    cells of the owning marginal so each query stays a cell of a measured marginal and the sensitivity stays one
    per marginal), checked equal to it query for query on several designs; the order here is per marginal, cells in
    C order.
    """
    owned: set[frozenset[int]] = set()
    groups, values, out_cliques = [], [], []
    seen: set[tuple[int, ...]] = set()
    for g, clique in enumerate(cliques):
        clique = tuple(int(i) for i in clique)
        if len(set(clique)) != len(clique) or not clique:
            raise UsageError(f"napsu: a marginal names a column twice or none: {clique}")
        key = tuple(sorted(clique))
        if key in seen:
            raise UsageError("napsu: the marginal queries repeat a marginal; give each marginal once")
        seen.add(key)
        out_cliques.append(clique)
        subsets = [frozenset(s) for r in range(1, len(clique) + 1) for s in itertools.combinations(clique, r)]
        new = [s for s in subsets if s not in owned]
        owned.update(new)
        if not new:
            continue
        grid = np.array(list(itertools.product(*(range(int(sizes[i])) for i in clique))), dtype=np.int64)
        nonzero = grid != 0  # (cells, |C|)
        keep = np.zeros(len(grid), dtype=bool)
        for s in new:
            cols = [clique.index(i) for i in s]
            keep |= nonzero[:, cols].all(axis=1)
        for v in grid[keep]:
            groups.append(g)
            values.append(tuple(int(x) for x in v))
    return CanonicalQueries(out_cliques, np.asarray(groups, dtype=np.int64), values, sizes)


class JointMaxEnt:
    """NAPSU-MQ's maximum-entropy model p(x) proportional to exp(lambdas . f(x)), f the canonical queries.

    The joint table over the public domain is one tensor (a sum of broadcast clique tables gathered from lambdas);
    the mean of f is gathered from clique marginals and its covariance from the marginals on each pair of cliques:
    a few dozen array operations that XLA compiles in seconds, exact in float64. Only practical while the joint
    domain is small (``cells``); :class:`anonlab.synth.twinify.napsu.NapsuMQ` refuses larger ones. Reads no data.
    Same interface as twinify's ``MarkovNetwork`` (``suff_stat_d``, ``lambda_d``, ``lambda0``, ``suff_stat_mean``,
    ``suff_stat_mean_and_cov``).
    """

    def __init__(self, sizes: Sequence[int], queries: CanonicalQueries) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        self.cells = int(np.prod(self.sizes, dtype=np.float64))
        self.queries = queries
        self.suff_stat_d = self.lambda_d = d = len(queries)
        groups: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
        for k, (inds, val) in enumerate(queries.as_tuples()):
            order = np.argsort(inds)
            key = tuple(int(inds[i]) for i in order)
            groups.setdefault(key, []).append((k, tuple(int(val[i]) for i in order)))
        self.cliques = list(groups)
        # per clique: the queries' positions in the flat clique table, and the table's gather index into lambdas
        # padded with one zero (cells no canonical query covers have log-potential 0)
        self._pos, self._table, qorder = [], [], []
        for c in self.cliques:
            shape = tuple(self.sizes[i] for i in c)
            vals = np.array([v for _, v in groups[c]], dtype=np.int64)
            pos = np.ravel_multi_index(tuple(vals.T), shape)
            table = np.full(int(np.prod(shape)), d, dtype=np.int64)
            table[pos] = [k for k, _ in groups[c]]
            self._pos.append(pos)
            self._table.append(table)
            qorder += [k for k, _ in groups[c]]
        self._inverse = np.argsort(np.asarray(qorder, dtype=np.int64))  # clique order -> query order
        # covariance blocks: for cliques A, B, the index of each (query in A, query in B) into the flattened
        # marginal on A | B, or the padding zero where the two queries disagree on a shared column
        self._pairs = []
        for a, ca in enumerate(self.cliques):
            for b, cb in enumerate(self.cliques):
                if b < a:
                    continue
                union = tuple(sorted(set(ca) | set(cb)))
                ushape = tuple(self.sizes[i] for i in union)
                va = np.array([v for _, v in groups[ca]], dtype=np.int64)
                vb = np.array([v for _, v in groups[cb]], dtype=np.int64)
                full = np.zeros((len(va), len(vb), len(union)), dtype=np.int64)
                agree = np.ones((len(va), len(vb)), dtype=bool)
                for u, col in enumerate(union):
                    ia = ca.index(col) if col in ca else None
                    ib = cb.index(col) if col in cb else None
                    if ia is not None and ib is not None:
                        agree &= va[:, ia][:, None] == vb[:, ib][None, :]
                    full[:, :, u] = va[:, ia][:, None] if ia is not None else vb[:, ib][None, :]
                flat = np.ravel_multi_index(tuple(np.moveaxis(full, 2, 0)), ushape)
                flat = np.where(agree, flat, int(np.prod(ushape)))
                self._pairs.append((a, b, union, flat))

    def _log_joint(self, lambdas):
        import jax.numpy as jnp

        padded = jnp.concatenate([lambdas, jnp.zeros(1, dtype=lambdas.dtype)])
        out = jnp.zeros(self.sizes, dtype=lambdas.dtype)
        for c, table in zip(self.cliques, self._table, strict=True):
            shape = [self.sizes[i] if i in c else 1 for i in range(len(self.sizes))]
            out = out + padded[table].reshape(shape)
        return out

    def _probs(self, lambdas):
        import jax

        return jax.nn.softmax(self._log_joint(lambdas).ravel()).reshape(self.sizes)

    def _marginal(self, p, axes: tuple[int, ...]):
        import jax.numpy as jnp

        other = tuple(i for i in range(len(self.sizes)) if i not in axes)
        return jnp.sum(p, axis=other).ravel() if other else p.ravel()

    def lambda0(self, lambdas):
        """Log-partition function log sum_x exp(lambdas . f(x))."""
        import jax

        return jax.scipy.special.logsumexp(self._log_joint(lambdas))

    def suff_stat_mean(self, lambdas):
        """E[f(x)] under p_lambdas (the gradient of the log-partition)."""
        import jax.numpy as jnp

        p = self._probs(lambdas)
        parts = [self._marginal(p, c)[pos] for c, pos in zip(self.cliques, self._pos, strict=True)]
        return jnp.concatenate(parts)[self._inverse]

    def suff_stat_mean_and_cov(self, lambdas):
        """E[f(x)] and Cov[f(x)] under p_lambdas (gradient and Hessian of the log-partition)."""
        import jax.numpy as jnp

        p = self._probs(lambdas)
        marg = {c: self._marginal(p, c) for c in self.cliques}
        mean = jnp.concatenate([marg[c][pos] for c, pos in zip(self.cliques, self._pos, strict=True)])
        blocks: dict[tuple[int, int], object] = {}
        for a, b, union, flat in self._pairs:
            m = marg[union] if union in marg else self._marginal(p, union)
            block = jnp.concatenate([m, jnp.zeros(1, dtype=m.dtype)])[flat]
            blocks[(a, b)] = block
            if a != b:
                blocks[(b, a)] = block.T
        n = len(self.cliques)
        second = jnp.concatenate(
            [jnp.concatenate([blocks[(a, b)] for b in range(n)], axis=1) for a in range(n)], axis=0
        )
        cov = second - jnp.outer(mean, mean)
        inv = self._inverse
        return mean[inv], cov[inv][:, inv]

    def probs_numpy(self, lambdas: np.ndarray) -> np.ndarray:
        """The joint distribution (flattened, C order over ``sizes``) for one parameter vector, in numpy."""
        padded = np.concatenate([np.asarray(lambdas, dtype=np.float64), [0.0]])
        logits = np.zeros(self.sizes)
        for c, table in zip(self.cliques, self._table, strict=True):
            shape = [self.sizes[i] if i in c else 1 for i in range(len(self.sizes))]
            logits = logits + padded[table].reshape(shape)
        logits = logits.ravel()
        w = np.exp(logits - logits.max())
        return w / w.sum()


def brute_force_probs(sizes: Sequence[int], queries: CanonicalQueries, lambdas: np.ndarray) -> np.ndarray:
    """The same distribution by enumeration: for every joint cell x, exp(sum of lambdas of the queries x satisfies),
    normalised (a slow, independent reference for tests and benchmarks; C order over ``sizes``)."""
    grid = np.array(list(itertools.product(*(range(int(s)) for s in sizes))), dtype=np.int64)
    logits = np.zeros(len(grid))
    for k, (inds, val) in enumerate(queries.as_tuples()):
        hit = np.all(grid[:, list(inds)] == np.asarray(val), axis=1)
        logits += np.where(hit, float(lambdas[k]), 0.0)
    w = np.exp(logits - logits.max())
    return w / w.sum()
