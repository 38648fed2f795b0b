"""twinify's NAPSU-MQ and DPVI through anonlab: small real fits by default, larger ones marked slow.

Both release under add/remove neighbours (a DP row count first) unless the ledger is replace-one (n public)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import PrivacyError
from anonlab.privacy.ledger import Ledger
from anonlab.schema import Column, Schema
from anonlab.synth import Budget, Synthesizer, get_method
from anonlab.synth.twinify_methods import N_ESTIMATE_SHARE, _resize

# fits without a ledger warn (PrivacyWarning) by design; tests/synth/test_methods.py tests the warning
pytestmark = pytest.mark.filterwarnings("ignore::anonlab.errors.PrivacyWarning")


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


def _two(n: int = 200) -> tuple[pd.DataFrame, Schema]:
    df, schema = _binary(n)
    return df[["a", "b"]], Schema(tuple(c for c in schema if c.name in ("a", "b")))


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
    # add/remove (no ledger): sqrt(2 marginals), (a, b) and (c,)
    assert m.privacy_.details["l2_sensitivity"] == pytest.approx(math.sqrt(2))
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
    assert m.privacy_.rho is None and "d3p" in m.privacy_.noise and "Mironov" in m.privacy_.noise
    n_hat = d["n_estimate"]  # add/remove (no ledger): DP-SGD runs on a table of exactly n_hat rows
    assert d["steps"] == math.ceil(3 * n_hat / 30) and d["sampling_ratio"] == pytest.approx(30 / n_hat)
    # the noise multiplier really keeps those steps within the SGD's share under d3p's (Fourier) accountant
    sgd_eps = 2.0 * (1 - N_ESTIMATE_SHARE)
    eps = get_epsilon_S(1e-6, d["noise_multiplier"], d["sampling_ratio"], ncomp=d["steps"], L=20, nx=1e6)
    assert d["accounted_epsilon"] <= sgd_eps and eps <= sgd_eps + 1e-3
    assert "final_elbo_per_row" not in d
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


# -- neighbour relations: a DP row count under add/remove, the exact n on a replace-one ledger -----------------


def test_napsu_add_remove_charges_and_uses_a_dp_row_count(cache, tmp_path):
    df, schema = _two()
    kw = dict(seed=3, missing=False, posterior="laplace", samples=20, jax_cache=cache)
    budget = Budget(0.5, 1e-6)
    path = tmp_path / "ar.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5)
    m = get_method("napsu")(**kw).fit(df, schema, budget, ledger=Ledger.open(path))
    d = m.privacy_.details
    assert m.neighbours_ == "add/remove" and m.privacy_.neighbours.startswith("add/remove")
    assert d["n_estimate_rho"] == pytest.approx(N_ESTIMATE_SHARE * budget.rho)
    assert d["l2_sensitivity"] == pytest.approx(1.0)  # one marginal (a, b): sqrt(1) under add/remove
    assert d["n_estimate"] == m.n_estimate_ != len(df)  # the noisy count, used by the model
    assert len(m.sample()) == d["n_estimate"]  # default rows: the DP estimate
    (entry,) = Ledger.open(path).entries  # the count is part of the one charged release
    assert entry.neighbours == "add/remove" and entry.rho == pytest.approx(budget.rho)
    # on a replace-one ledger (n public): no count, the exact n, sqrt(2 x marginals)
    path = tmp_path / "r1.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5, neighbours="replace-one", population_size=len(df))
    r = get_method("napsu")(**kw).fit(df, schema, budget, ledger=Ledger.open(path))
    assert (
        r.neighbours_ == "replace-one" and r.n_estimate_ == len(df) and "n_estimate" not in r.privacy_.details
    )
    assert r.privacy_.details["l2_sensitivity"] == pytest.approx(math.sqrt(2))
    (entry,) = Ledger.open(path).entries
    assert entry.neighbours == "replace-one" and entry.group == 1
    with pytest.raises(PrivacyError, match="population size"):
        get_method("napsu")(**kw).fit(df.head(150), schema, budget, ledger=Ledger.open(path))
    assert len(Ledger.open(path).entries) == 1  # refused before the charge


def test_dpvi_add_remove_count_and_d3p_key_from_the_release_stream(cache, monkeypatch):
    import d3p.random

    class _Stop(Exception):
        pass

    keys, stop = [], []
    real = d3p.random.PRNGKey

    def spy(seed=None):
        keys.append(seed)
        if stop:  # later fits stop once their DP-SGD key is made (the training itself is tested elsewhere)
            raise _Stop
        return real(seed)

    monkeypatch.setattr(d3p.random, "PRNGKey", spy)
    df, schema = _two()
    kw = dict(seed=1, missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache)
    m = get_method("dpvi")(**kw).fit(df, schema, Budget(1.0, 1e-6))
    d = m.privacy_.details
    assert m.neighbours_ == "add/remove" and d["n_estimate_epsilon"] == pytest.approx(N_ESTIMATE_SHARE)
    assert m.n_estimate_ == d["n_estimate"] and d["steps"] == math.ceil(d["n_estimate"] / 20)
    stop.append(True)
    for extra in ({}, {"bins": 16}):  # the same release again; one that differs only in bins (same data)
        with pytest.raises(_Stop):
            get_method("dpvi")(**kw, **extra).fit(df, schema, Budget(1.0, 1e-6))
    # the DP-SGD key is 32 bytes of the release's stream: reproducible, and different for another release
    assert len(keys) == 3 and all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    assert keys[0] == keys[1] != keys[2]


def test_dpvi_on_a_replace_one_ledger_keeps_the_exact_n(cache, tmp_path, monkeypatch):
    import d3p.random

    from anonlab.synth import twinify_methods

    class _Stop(Exception):
        pass

    def stop(seed=None):  # the fit is charged and resized by now; the training itself is tested elsewhere
        raise _Stop

    counts = []
    real_resize = twinify_methods._resize
    monkeypatch.setattr(twinify_methods, "_resize", lambda *a: (counts.append(a[1]), real_resize(*a))[1])
    monkeypatch.setattr(d3p.random, "PRNGKey", stop)
    df, schema = _two()
    path = tmp_path / "r1.ledger"
    Ledger.create(
        path, epsilon=3.0, delta=1e-5, neighbours="replace-one", population_size=len(df), accounting="basic"
    )
    kw = dict(seed=1, missing=False, epochs=1, k=2, batch_size=20, jax_cache=cache)
    with pytest.raises(_Stop):
        get_method("dpvi")(**kw).fit(df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path))
    (entry,) = Ledger.open(path).entries
    assert entry.neighbours == "replace-one" and entry.group == 1 and counts == []  # no count, no resizing
    with pytest.raises(_Stop):
        get_method("dpvi")(**kw).fit(df, schema, Budget(1.0, 1e-6))  # add/remove: count and resize
    assert len(counts) == 1 and counts[0] != len(df)


def test_resize_subsets_or_pads_from_the_public_domain():
    rng = np.random.default_rng(0)
    codes = np.column_stack([np.arange(10) % 3, np.arange(10) % 2]).astype(np.int64)
    sub = _resize(codes, 6, (3, 2), rng)
    assert sub.shape == (6, 2) and {tuple(r) for r in sub} <= {tuple(r) for r in codes}
    big = _resize(codes, 25, (3, 2), rng)
    assert big.shape == (25, 2) and np.array_equal(big[:10], codes)
    assert big[10:, 0].max() < 3 and big[10:, 1].max() < 2 and big.min() >= 0
