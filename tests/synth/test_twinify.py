"""twinify's NAPSU-MQ and DPVI through anonlab: small real fits by default, larger ones marked slow."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from anonlab.privacy.ledger import Ledger
from anonlab.schema import Column, Schema
from anonlab.synth import Budget, Synthesizer, get_method


def _binary(n: int = 300, seed: int = 0, same: float = 0.8) -> tuple[pd.DataFrame, Schema]:
    rng = np.random.default_rng(seed)
    a = rng.choice(["p", "q"], n)
    b = np.where(rng.random(n) < same, a, np.where(a == "p", "q", "p"))
    c = rng.choice(["u", "v"], n)
    schema = Schema(
        tuple(
            Column(k, type="categorical", categories=v)
            for k, v in (("a", ("p", "q")), ("b", ("p", "q")), ("c", ("u", "v")))
        )
    )
    return pd.DataFrame({"a": a, "b": b, "c": c}), schema


@pytest.fixture
def cache(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "jax-cache")


def test_joint_maxent_matches_twinify_markov_network():
    """anonlab's dense max-entropy model is twinify's model: same log-partition, mean and covariance."""
    import jax.numpy as jnp
    import twinify  # noqa: F401  (enables float64 in JAX, as twinify requires)
    from twinify.napsu_mq.marginal_query import FullMarginalQuerySet
    from twinify.napsu_mq.markov_network import MarkovNetwork

    from anonlab.synth.twinify_methods import JointMaxEnt, _quiet

    dom = {"a": [0, 1, 2], "b": [0, 1], "c": [0, 1, 2, 3], "d": [0, 1]}
    sets = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    q = _quiet(lambda: FullMarginalQuerySet(sets, dom).get_canonical_queries())
    ours, theirs = JointMaxEnt(dom, q), MarkovNetwork(dom, q)
    assert ours.lambda_d == theirs.lambda_d
    lam = jnp.asarray(np.random.default_rng(0).normal(size=ours.lambda_d))
    m1, c1 = ours.suff_stat_mean_and_cov(lam)
    m2, c2 = theirs.suff_stat_mean_and_cov(lam)
    assert np.allclose(m1, m2, atol=1e-12) and np.allclose(c1, c2, atol=1e-12)
    assert float(ours.lambda0(lam)) == pytest.approx(float(theirs.lambda0(lam)), abs=1e-10)
    p = ours.probs_numpy(np.asarray(lam))
    assert p.shape == (48,) and p.sum() == pytest.approx(1.0)


def test_napsu_tiny_real_fit(cache, tmp_path):
    df, schema = _binary()
    m = get_method("napsu")(
        seed=1, missing=False, samples=50, warmup=50, queries=[("a", "b")], jax_cache=cache
    )
    m.fit(df, schema, Budget(2.0, 1e-6))
    assert m.privacy_.rho == pytest.approx(Budget(2.0, 1e-6).rho)
    assert m.privacy_.details["l2_sensitivity"] == pytest.approx(2.0)  # sqrt(2 x 2 marginals)
    assert m.privacy_.details["model"] == "JointMaxEnt"
    syn = m.sample(200, seed=3)
    assert syn.shape == (200, 3) and syn["a"].dropna().isin(["p", "q"]).all()
    loaded = Synthesizer.load(m.save(tmp_path / "n.model"))
    assert loaded.sample(20, seed=1).equals(m.sample(20, seed=1))


def test_napsu_fixed_seed_identical_and_ledger_charged(cache, tmp_path):
    df, schema = _binary(400, same=0.9)
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5)
    kw = dict(seed=5, missing=False, posterior="laplace", samples=30, queries=[("a", "b")], jax_cache=cache)
    m1 = get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6))
    m2 = get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6))
    assert np.array_equal(m1.posterior_, m2.posterior_)
    assert m1.sample(100, seed=2).equals(m2.sample(100, seed=2))
    # a ledger-charged release forks its own noise keystream (ledger entry in the label)
    get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path))
    entries = Ledger.open(path).entries
    assert len(entries) == 1 and entries[0].rho == pytest.approx(Budget(1.0, 1e-6).rho)


def test_napsu_bad_posterior_name(cache):
    df, schema = _binary(50)
    with pytest.raises(Exception, match="posterior"):
        get_method("napsu")(seed=1, missing=False, posterior="vi", jax_cache=cache).fit(
            df, schema, Budget(1.0, 1e-6)
        )


def test_dpvi_tiny_real_fit_accounting_and_seed(cache, tmp_path):
    from fourier_accountant.compute_eps import get_epsilon_S

    df, schema = _binary()
    kw = dict(seed=1, missing=False, epochs=3, k=2, batch_size=30, jax_cache=cache)
    m = get_method("dpvi")(**kw).fit(df, schema, Budget(2.0, 1e-6))
    d = m.privacy_.details
    assert m.privacy_.rho is None and "d3p" in m.privacy_.noise
    assert d["steps"] == math.ceil(3 * 300 / 30) and d["sampling_ratio"] == pytest.approx(0.1)
    # the noise multiplier really keeps those steps within epsilon under d3p's (Fourier) accountant
    eps = get_epsilon_S(1e-6, d["noise_multiplier"], d["sampling_ratio"], ncomp=d["steps"], L=20, nx=1e6)
    assert d["accounted_epsilon"] <= 2.0 and eps <= 2.0 + 1e-3
    syn = m.sample(100, seed=2)
    assert syn.shape == (100, 3) and syn["c"].dropna().isin(["u", "v"]).all()
    again = get_method("dpvi")(**kw).fit(df, schema, Budget(2.0, 1e-6))
    assert all(np.array_equal(m.params_[k], again.params_[k]) for k in m.params_)
    loaded = Synthesizer.load(m.save(tmp_path / "d.model"))
    assert loaded.sample(10, seed=1).equals(m.sample(10, seed=1))


def test_dpvi_ledger_needs_basic_accounting_and_is_charged(cache, tmp_path):
    df, schema = _binary(100)
    path = tmp_path / "b.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5, accounting="basic")
    get_method("dpvi")(seed=1, missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache).fit(
        df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path)
    )
    entries = Ledger.open(path).entries
    assert len(entries) == 1 and entries[0].epsilon == pytest.approx(1.0)


def _pair_tv(real: pd.DataFrame, syn: pd.DataFrame, cols: tuple[str, str]) -> float:
    a = real.groupby(list(cols)).size() / len(real)
    b = syn.groupby(list(cols)).size() / len(syn)
    return 0.5 * float(a.sub(b, fill_value=0).abs().sum())


@pytest.mark.slow
def test_napsu_reproduces_planted_dependency(cache):
    df, schema = _binary(2000, same=0.9)
    m = get_method("napsu")(seed=2, missing=False, jax_cache=cache).fit(df, schema, Budget(1.0, 1e-6))
    syn = m.sample(2000, seed=1)
    assert (syn["a"] == syn["b"]).mean() > 0.8


@pytest.mark.slow
def test_dpvi_beats_independent_columns(cache):
    df, schema = _binary(3000, same=0.9)
    m = get_method("dpvi")(seed=2, missing=False, k=4, jax_cache=cache).fit(df, schema, Budget(1.0, 1e-6))
    syn = m.sample(3000, seed=1)
    rng = np.random.default_rng(0)
    indep = df.apply(lambda s: s.to_numpy()[rng.permutation(len(s))])
    assert _pair_tv(df, syn, ("a", "b")) < 0.7 * _pair_tv(df, indep, ("a", "b"))
