"""Mechanisms: values, costs against OpenDP's maps, reproducibility of seeded noise."""

import numpy as np
import opendp.prelude as dp
import pytest

from anonlab.errors import UsageError
from anonlab.privacy.accounting import ZCDP, PureDP
from anonlab.privacy.mechanisms import exponential, gaussian, laplace
from anonlab.privacy.noise import NoiseSource

dp.enable_features("contrib")

SOURCES = [pytest.param(None, id="opendp"), pytest.param(11, id="seeded")]


@pytest.mark.parametrize("seed", SOURCES)
def test_gaussian_cost_shape_and_type(seed):
    ns = NoiseSource(seed)
    r = gaussian(np.zeros((3, 4)), 2.0, l2_sensitivity=3.0, noise=ns)
    assert r.value.shape == (3, 4) and r.value.dtype == np.float64
    assert isinstance(r.cost, ZCDP) and r.cost.rho == pytest.approx(9 / 8)
    assert r.mechanism == "gaussian" and r.seeded == (seed is not None)
    ri = gaussian(np.arange(5), 2.0, integer=True, noise=ns)
    assert ri.value.dtype == np.int64 and ri.mechanism == "discrete_gaussian"
    assert ri.cost.rho == pytest.approx(1 / 8)
    assert isinstance(gaussian(3.0, 1.0, noise=ns).value, float)


@pytest.mark.parametrize("seed", SOURCES)
def test_laplace_cost_shape_and_type(seed):
    ns = NoiseSource(seed)
    r = laplace([1.0, 2.0], 4.0, l1_sensitivity=2.0, noise=ns)
    assert isinstance(r.cost, PureDP) and r.cost.epsilon == pytest.approx(0.5)
    ri = laplace(7, 1.0, integer=True, noise=ns)
    assert isinstance(ri.value, int) and ri.mechanism == "discrete_laplace"


@pytest.mark.parametrize("seed", SOURCES)
def test_costs_equal_opendp_maps(seed):
    ns = NoiseSource(seed)
    meas = dp.m.make_gaussian(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float), scale=1.7
    )
    assert gaussian([0.0] * 3, 1.7, l2_sensitivity=1.3, noise=ns).cost.rho == pytest.approx(meas.map(1.3))
    meas = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float), scale=1.7
    )
    assert laplace([0.0] * 3, 1.7, l1_sensitivity=1.3, noise=ns).cost.epsilon == pytest.approx(meas.map(1.3))
    meas = dp.m.make_noisy_max(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float, monotonic=False),
        dp.max_divergence(),
        scale=4.0,
    )
    _, cost = exponential([1.0, 2.0], 0.5, noise=ns)
    assert cost.epsilon == pytest.approx(meas.map(1.0))


def test_seed_reproduces_and_differs():
    a = gaussian(np.arange(10.0), 1.0, noise=NoiseSource(5)).value
    b = gaussian(np.arange(10.0), 1.0, noise=NoiseSource(5)).value
    c = gaussian(np.arange(10.0), 1.0, noise=NoiseSource(6)).value
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert exponential(np.zeros(50), 1.0, noise=NoiseSource(3)) == exponential(
        np.zeros(50), 1.0, noise=NoiseSource(3)
    )


def test_seeded_noise_has_the_stated_spread():
    ns = NoiseSource(123)
    g = gaussian(np.zeros(4000), 3.0, noise=ns).value
    assert g.std() == pytest.approx(3.0, rel=0.06)
    lap = laplace(np.zeros(4000), 2.0, noise=ns).value
    assert lap.std() == pytest.approx(2.0 * np.sqrt(2), rel=0.08)
    gi = gaussian(np.zeros(4000, dtype=int), 3.0, integer=True, noise=ns).value
    assert abs(gi.mean()) < 0.2 and gi.std() == pytest.approx(3.0, rel=0.06)


def test_exponential_picks_clear_winner():
    for seed in (None, 1):
        idx, _ = exponential([0.0, 0.0, 1000.0, 0.0], 1.0, noise=NoiseSource(seed))
        assert idx == 2


def test_bad_inputs():
    with pytest.raises(UsageError):
        gaussian([1.0, float("nan")], 1.0)
    with pytest.raises(UsageError):
        laplace([1.0], 0.0)
    with pytest.raises(UsageError):
        laplace([1.5], 1.0, integer=True)
    with pytest.raises(UsageError):
        exponential([], 1.0)
    with pytest.raises(UsageError):
        exponential([1.0], -1.0)
    with pytest.raises(UsageError):
        NoiseSource("42")


def test_noise_source_describes_itself_without_the_seed():
    ns = NoiseSource(987654321)
    assert "987654321" not in repr(ns) and "987654321" not in str(ns.describe())
    assert ns.describe()["seeded"] is True and NoiseSource().describe()["seeded"] is False


@pytest.mark.parametrize("kind,scale", [("gaussian", 1.5), ("laplace", 1.5), ("gaussian", 0.4)])
def test_seeded_samplers_match_the_exact_pmf(kind, scale):
    """Anonlab's own exact samplers (seeded path) against the discrete Gaussian / Laplace probability mass."""
    ns = NoiseSource(77)
    n = 8000
    draw = ns.discrete_gaussian if kind == "gaussian" else ns.discrete_laplace
    z = np.asarray(draw(scale, n))
    support = np.arange(-30, 31)
    if kind == "gaussian":
        w = np.exp(-(support.astype(float) ** 2) / (2 * scale * scale))
    else:
        w = np.exp(-np.abs(support) / scale)
    pmf = w / w.sum()
    emp = np.array([(z == k).mean() for k in support])
    assert 0.5 * np.abs(emp - pmf).sum() < 0.02  # total variation distance
    assert abs(z.mean()) < 4 * z.std() / np.sqrt(n)
