"""The junction-tree model and the mirror-descent estimator, checked against brute force."""

from __future__ import annotations

import itertools

import numpy as np

from anonlab.synth.estimation import Measurement, estimate, estimate_total
from anonlab.synth.graphical import GraphicalModel, JunctionTree, model_cells, triangulate
from anonlab.synth.marginals import marginal, tv_distance, workload_error


def _joint(model: GraphicalModel) -> np.ndarray:
    """The full joint distribution of a small model, by brute force from the junction-tree factorisation."""
    sizes = model.tree.sizes
    grid = np.array(list(itertools.product(*[range(s) for s in sizes])))
    p = np.ones(len(grid))
    parents = model.tree.parents()
    for i, c in enumerate(model.tree.cliques):
        p *= model.probs[i][tuple(grid[:, a] for a in c)]
        if i in parents:
            sep = model.tree.separator(parents[i], i)
            if sep:
                from anonlab.synth.graphical import project

                m = project(model.probs[i], c, sep)
                p /= m[tuple(grid[:, a] for a in sep)]
    return p.reshape(sizes)


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n)
    b = (a + (rng.random(n) < 0.2)) % 3
    c = (b + rng.integers(0, 2, n)) % 4
    d = rng.integers(0, 2, n)
    e = (c + d) % 3
    return np.column_stack([a, b, c, d, e]), (3, 3, 4, 2, 3)


def test_triangulation_covers_every_clique_and_is_a_junction_tree():
    sizes = (3, 3, 4, 2, 3)
    cliques = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]  # a 5-cycle needs fill-in
    tree = JunctionTree.build(sizes, cliques)
    for c in cliques:
        assert tree.containing(c) is not None
    assert len(tree.edges) == len(tree.cliques) - 1
    # running intersection: the cliques holding each column form a connected subtree
    for a in range(len(sizes)):
        holding = {i for i, c in enumerate(tree.cliques) if a in c}
        inner = {(p, c) for p, c in tree.edges if p in holding and c in holding}
        assert len(inner) == len(holding) - 1
    assert model_cells(sizes, cliques) == tree.cells()
    assert all(len(c) <= 3 for c in triangulate(sizes, cliques))


def test_estimator_recovers_exact_marginals_and_queries_are_exact():
    codes, sizes = _data()
    cliques = [(0, 1), (1, 2), (2, 3), (2, 4), (3, 4)]
    ms = [Measurement(c, marginal(codes, sizes, c), 1e-3) for c in cliques]
    model = estimate(sizes, ms, iters=3000)
    assert abs(model.total - len(codes)) < 1e-6
    for c in cliques:
        assert tv_distance(model.marginal(c), marginal(codes, sizes, c)) < 0.01
    joint = _joint(model)
    assert abs(joint.sum() - 1) < 1e-9
    for q in [(0, 4), (0, 2, 4), (1, 3)]:  # not inside one clique: contracted over a subtree
        axes = tuple(a for a in range(len(sizes)) if a not in q)
        assert np.allclose(model.marginal(q), joint.sum(axis=axes), atol=1e-9)


def test_sampling_follows_the_model():
    codes, sizes = _data()
    ms = [Measurement(c, marginal(codes, sizes, c), 1e-3) for c in [(0, 1), (1, 2), (2, 4)]]
    model = estimate(sizes, ms, iters=2000)
    syn = model.sample(20000, np.random.default_rng(1))
    assert syn.shape == (20000, 5)
    for c in [(0, 1), (1, 2), (2, 4), (0, 2)]:
        assert tv_distance(marginal(syn, sizes, c), model.marginal(c)) < 0.03
    same = model.sample(100, np.random.default_rng(5))
    assert (same == model.sample(100, np.random.default_rng(5))).all()
    assert workload_error(codes, syn, sizes, [(0, 1), (1, 2)]) < 0.05


def test_sampling_is_stratified_so_counts_sit_at_n_times_the_model_within_a_few_rows():
    """Each clique's new cells get counts within a few rows of their expected count (rounding), where independent
    draws would scatter them by about the square root (about 30 rows here); conditional independence given the
    separator is kept (the strata are dealt at random within each group)."""
    codes, sizes = _data()
    ms = [Measurement(c, marginal(codes, sizes, c), 1e-3) for c in [(0, 1), (1, 2), (2, 4), (3,)]]
    model = estimate(sizes, ms, iters=2000)
    n = 20011
    syn = model.sample(n, np.random.default_rng(3))
    for c in [(0, 1), (1, 2), (2, 4), (3,)]:
        expected = n * model.marginal(c) / model.marginal(c).sum()
        assert np.abs(marginal(syn, sizes, c) - expected).max() <= 6
    for c in [(0, 2), (0, 4), (3, 4), (0, 3)]:  # across cliques: close to the model's, as a sample is
        assert tv_distance(marginal(syn, sizes, c), model.marginal(c)) < 0.02
    # the rows come out in a random order, not grouped by the first clique's cells
    assert np.abs(np.diff(syn[:, 0])).sum() > n / 2


def test_total_is_estimated_from_noisy_sums():
    ms = [Measurement((0,), np.array([10.0, 20.0]), 1.0), Measurement((1,), np.array([15.0, 15.0, 2.0]), 1.0)]
    assert 30 < estimate_total(ms) < 32
