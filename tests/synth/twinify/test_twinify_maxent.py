"""NAPSU-MQ's canonical queries and max-entropy model against independent brute-force computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("jax", reason="the synth extra (JAX) is not installed")

from anonlab.errors import UsageError  # noqa: E402
from anonlab.synth.twinify.maxent import JointMaxEnt, brute_force_probs, canonical_queries  # noqa: E402

# twinify 2.0.0's FullMarginalQuerySet([(a, b), (b, c), (a, c)], sizes 3, 2, 3).get_canonical_queries(), listed
# with the old stack (each query as sorted (column, code) pairs)
TWINIFY_QUERIES = [
    ((0, 0), (1, 1)), ((0, 1), (1, 0)), ((0, 1), (1, 1)), ((0, 1), (2, 1)), ((0, 1), (2, 2)), ((0, 2), (1, 0)),
    ((0, 2), (1, 1)), ((0, 2), (2, 1)), ((0, 2), (2, 2)), ((1, 0), (2, 1)), ((1, 0), (2, 2)), ((1, 1), (2, 1)),
    ((1, 1), (2, 2)),
]  # fmt: skip


def _grid(sizes):
    return np.array(list(itertools.product(*(range(s) for s in sizes))), dtype=np.int64)


def test_canonical_queries_are_twinifys():
    q = canonical_queries([(0, 1), (1, 2), (0, 2)], (3, 2, 3))
    ours = sorted(tuple(sorted(zip(inds, val, strict=True))) for inds, val in q.as_tuples())
    assert ours == TWINIFY_QUERIES
    assert q.marginals == 3  # (a, c) keeps its all-non-zero cells


def test_canonical_queries_span_the_full_marginals_and_are_independent():
    sizes, cliques = (3, 2, 4, 2), [(0, 1), (1, 2), (2, 3), (0, 3)]
    q = canonical_queries(cliques, sizes)
    grid = _grid(sizes)
    f = np.stack([q.counts(row[None, :]) for row in grid])  # (cells, queries): f(x) for every joint cell
    full = []  # indicators of every cell of every marginal, plus the constant
    for c in cliques:
        for v in itertools.product(*(range(sizes[i]) for i in c)):
            full.append(np.all(grid[:, list(c)] == v, axis=1))
    full = np.column_stack(full + [np.ones(len(grid), dtype=bool)]).astype(float)
    with_one = np.column_stack([f, np.ones(len(grid))])
    # linearly independent (with the constant), and spanning the same space as the full marginals
    assert np.linalg.matrix_rank(with_one) == f.shape[1] + 1 == np.linalg.matrix_rank(full)
    assert np.linalg.matrix_rank(np.column_stack([full, f])) == np.linalg.matrix_rank(full)
    # one record satisfies at most one query per marginal (the L2 sensitivity is sqrt(marginals))
    for g in range(len(cliques)):
        assert f[:, q.group == g].sum(axis=1).max() <= 1
    assert q.marginals == len(cliques)


def test_counts_are_the_brute_force_counts():
    rng = np.random.default_rng(0)
    sizes = (3, 2, 4)
    codes = np.column_stack([rng.integers(0, s, 500) for s in sizes])
    q = canonical_queries([(0, 1), (2, 1)], sizes)
    expect = [int(np.all(codes[:, list(i)] == v, axis=1).sum()) for i, v in q.as_tuples()]
    assert q.counts(codes).tolist() == expect


def test_repeated_marginals_are_refused():
    with pytest.raises(UsageError, match="repeat"):
        canonical_queries([(0, 1), (1, 0)], (2, 2))


def test_joint_maxent_equals_brute_force_to_1e_9():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    sizes = (3, 2, 4, 2)
    q = canonical_queries([(0, 1), (1, 2), (2, 3), (0, 3)], sizes)
    model = JointMaxEnt(sizes, q)
    lam = np.random.default_rng(1).normal(scale=1.5, size=model.lambda_d)
    p = brute_force_probs(sizes, q, lam)
    assert np.max(np.abs(model.probs_numpy(lam) - p)) < 1e-9
    assert np.max(np.abs(np.asarray(model._probs(jnp.asarray(lam))).ravel() - p)) < 1e-9
    # mean and covariance of the statistics, and the log-partition, by enumeration
    grid = _grid(sizes)
    f = np.stack([q.counts(row[None, :]) for row in grid]).astype(float)
    mean = p @ f
    cov = (f * p[:, None]).T @ f - np.outer(mean, mean)
    m, c = model.suff_stat_mean_and_cov(jnp.asarray(lam))
    assert np.max(np.abs(np.asarray(m) - mean)) < 1e-9 and np.max(np.abs(np.asarray(c) - cov)) < 1e-9
    assert np.max(np.abs(np.asarray(model.suff_stat_mean(jnp.asarray(lam))) - mean)) < 1e-9
    logz = np.log(np.sum(np.exp(f @ lam)))
    assert abs(float(model.lambda0(jnp.asarray(lam))) - logz) < 1e-9
