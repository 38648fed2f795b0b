"""Empirical privacy audits of each mechanism as anonlab wires it, and proof that the audit catches a factor-2
scale bug.

Each audit runs the mechanism N times on neighbouring inputs (a value of 0 against 1, sensitivity 1; or scores
(0, 0) against (1, -1) for selection), lower-bounds the true epsilon with Clopper-Pearson intervals and checks it does
not exceed the claimed cost. Seeded runs are deterministic (alpha 1e-3); OpenDP runs are random, so they use
alpha 1e-6 (a false alarm about once in a million runs). Gaussian claims are zCDP: the audit checks their tight
(epsilon, delta) conversion at delta = 0.2, where a halved sigma is cheap to detect (a zCDP claim holds at every
delta, so any delta is a fair test).
"""

import numpy as np
import pytest

from anonlab.privacy.accounting import ZCDP, PureDP
from anonlab.privacy.audit import audit_outputs, clopper_pearson, index_events, threshold_events
from anonlab.privacy.mechanisms import exponential, gaussian, laplace
from anonlab.privacy.noise import NoiseSource

AUDIT_DELTA = 0.2


def _claimed(cost) -> tuple[float, float]:
    if isinstance(cost, PureDP):
        return cost.epsilon, 0.0
    return cost.to_approx(AUDIT_DELTA).epsilon, AUDIT_DELTA


# name -> (run(values, noise, scale_factor) -> (outputs, cost), events)
def _lap(v, ns, f):
    r = laplace(np.asarray(v, dtype=float), 1.0 * f, noise=ns)
    return r.value, laplace(0.0, 1.0, noise=NoiseSource(0)).cost


def _dlap(v, ns, f):
    r = laplace(np.asarray(v, dtype=np.int64), 1.0 * f, integer=True, noise=ns)
    return r.value, laplace(0, 1.0, integer=True, noise=NoiseSource(0)).cost


def _gauss(v, ns, f):
    r = gaussian(np.asarray(v, dtype=float), 1.0 * f, noise=ns)
    return r.value, gaussian(0.0, 1.0, noise=NoiseSource(0)).cost


def _dgauss(v, ns, f):
    r = gaussian(np.asarray(v, dtype=np.int64), 1.0 * f, integer=True, noise=ns)
    return r.value, gaussian(0, 1.0, integer=True, noise=NoiseSource(0)).cost


def _expo(v, ns, f):
    # neighbours: scores (0, 0) and (1, -1); a scale bug is an epsilon passed twice too large
    out = np.array([exponential([x, -x], 1.0 / f, noise=ns)[0] for x in v])
    return out, exponential([0.0, 0.0], 1.0, noise=NoiseSource(0))[1]


MECHANISMS = {
    "laplace": (_lap, threshold_events([1.0])),
    "discrete_laplace": (_dlap, threshold_events([1])),
    "gaussian": (_gauss, threshold_events([1.0, 1.25, 1.5])),
    "discrete_gaussian": (_dgauss, threshold_events([1, 2])),
    "exponential": (_expo, index_events(2)),
}


def _audit(name, seed, n, factor=1.0, alpha=None):
    run, events = MECHANISMS[name]
    ns = NoiseSource(seed)
    out_a, cost = run(np.zeros(n), ns, factor)
    out_b, _ = run(np.ones(n), ns, factor)
    eps, delta = _claimed(cost)
    alpha = alpha or (1e-3 if seed is not None else 1e-6)
    return audit_outputs(out_a, out_b, events, claimed_epsilon=eps, delta=delta, alpha=alpha)


FAST_OPENDP = ["laplace", "discrete_laplace", "discrete_gaussian"]


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_seeded_mechanism_passes_audit(name):
    result = _audit(name, seed=20261128, n=3000)
    assert result.passed, result.to_dict()


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_audit_catches_factor_two_scale_bug_seeded(name):
    """The same mechanism with its noise scale halved but its cost unchanged: the audit must fail."""
    result = _audit(name, seed=20261128, n=3000, factor=0.5)
    assert not result.passed, result.to_dict()
    assert result.epsilon_lower > 1.3 * result.claimed_epsilon


@pytest.mark.parametrize("name", FAST_OPENDP)
def test_opendp_mechanism_passes_audit(name):
    result = _audit(name, seed=None, n=3000)
    assert result.passed, result.to_dict()


@pytest.mark.parametrize("name", FAST_OPENDP)
def test_audit_catches_factor_two_scale_bug_opendp(name):
    result = _audit(name, seed=None, n=3000, factor=0.5)
    assert not result.passed, result.to_dict()


def test_bug_inside_the_seeded_sampler_is_caught(monkeypatch):
    """A bug in anonlab's own exact sampler (a halved Laplace scale) with the mechanism's claim left intact."""
    orig = NoiseSource._discrete_laplace_one
    monkeypatch.setattr(NoiseSource, "_discrete_laplace_one", lambda self, scale: orig(self, scale / 2))
    assert not _audit("discrete_laplace", seed=7, n=3000).passed
    assert not _audit("laplace", seed=7, n=3000).passed


def test_bug_inside_the_seeded_gaussian_sampler_is_caught(monkeypatch):
    orig = NoiseSource._discrete_gaussian_one
    monkeypatch.setattr(NoiseSource, "_discrete_gaussian_one", lambda self, s2: orig(self, s2 / 4))
    assert not _audit("gaussian", seed=7, n=3000).passed
    assert not _audit("discrete_gaussian", seed=7, n=3000).passed


def test_clopper_pearson_bounds():
    lo, hi = clopper_pearson(50, 100, 0.025)
    assert 0.39 < lo < 0.5 < hi < 0.61
    assert clopper_pearson(0, 10, 0.05)[0] == 0.0 and clopper_pearson(10, 10, 0.05)[1] == 1.0


def test_audit_of_a_correct_claim_at_many_seeds_is_not_flaky():
    fails = sum(not _audit("discrete_laplace", seed=s, n=1000).passed for s in range(10))
    assert fails == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gaussian", "exponential"])
def test_opendp_slow_mechanism_audits(name):
    n = 3000 if name == "gaussian" else 1500
    assert _audit(name, seed=None, n=n).passed
    assert not _audit(name, seed=None, n=n, factor=0.5).passed


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MECHANISMS))
def test_large_audits_stay_below_the_claim(name):
    n = 20000 if name != "exponential" else 8000
    result = _audit(name, seed=99, n=n)
    assert result.passed, result.to_dict()
    assert (
        result.epsilon_lower > 0.3 * result.claimed_epsilon
    )  # the audit has power: the bound is not vacuous


def test_zcdp_claim_type():
    assert isinstance(gaussian(0.0, 1.0, noise=NoiseSource(1)).cost, ZCDP)
