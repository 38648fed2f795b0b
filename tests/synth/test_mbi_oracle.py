"""private-pgm's mbi 2 as the oracle for anonlab's own estimation (anonlab.synth.estimation stays the engine; see
docs/synth.md and benchmarks/results/mbi_compare.md). Both minimise the same weighted least-squares loss over
graphical models, which is strictly convex in the measured marginals, so their measured marginals must agree."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from anonlab.synth.estimation import Measurement, estimate, estimate_total
from anonlab.synth.marginals import marginal

jax = pytest.importorskip("jax", reason="mbi needs the synth extra (JAX)")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # mbi warns about float32 and the persistent compilation cache at import
    mbi = pytest.importorskip("mbi", reason="mbi (private-pgm) is not installed")


def _noisy(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 3000
    a = rng.integers(0, 3, n)
    b = (a + (rng.random(n) < 0.25)) % 3
    c = (b + rng.integers(0, 2, n)) % 2
    codes, sizes = np.column_stack([a, b, c]), (3, 3, 2)
    # MST's shape: noisier pairs than one-way marginals, so the weights (1 / sigma^2) matter
    meas = []
    for q, sigma in [((0,), 5.0), ((1,), 5.0), ((2,), 5.0), ((0, 1), 10.0), ((1, 2), 10.0)]:
        counts = marginal(codes, sizes, q)
        meas.append(Measurement(q, counts + rng.normal(0, sigma, counts.shape), sigma))
    return sizes, meas


def test_mirror_descent_matches_mbi_on_a_small_model():
    sizes, meas = _noisy()
    total = estimate_total(meas)
    ours = estimate(sizes, meas, total=total, iters=1500, tol=1e-12)

    from mbi import Domain, LinearMeasurement, estimation

    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        names = [f"c{i}" for i in range(len(sizes))]
        theirs = estimation.MirrorDescent().estimate(
            Domain(names, sizes),
            [LinearMeasurement(m.y.ravel(), tuple(names[i] for i in m.clique), stddev=m.sigma) for m in meas],
            known_total=total,
            iters=1500,
        )
        fits = {
            "ours": lambda c: total * ours.marginal(c),
            "mbi": lambda c: np.asarray(theirs.project(tuple(names[i] for i in c)).datavector(flatten=False)),
        }
        loss = {
            k: sum(float(((f(m.clique) - m.y) ** 2).sum()) / m.sigma**2 for m in meas)
            for k, f in fits.items()
        }
        # the same optimum: losses within 1%, ours no worse; every measured cell within one record of 3,000
        assert loss["ours"] <= loss["mbi"] * 1.001 and loss["mbi"] <= loss["ours"] * 1.01, loss
        for m in meas:
            np.testing.assert_allclose(
                fits["ours"](m.clique), fits["mbi"](m.clique), atol=1.0, err_msg=str(m.clique)
            )
    finally:
        jax.config.update("jax_enable_x64", x64)
