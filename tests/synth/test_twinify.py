"""twinify's NAPSU-MQ and DPVI through anonlab: one tiny real fit each by default, larger ones marked slow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonlab.schema import Column, Schema
from anonlab.synth import Budget, Synthesizer, get_method


def _binary(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, Schema]:
    rng = np.random.default_rng(seed)
    a = rng.choice(["p", "q"], n)
    b = np.where(rng.random(n) < 0.8, a, rng.choice(["p", "q"], n))
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


def test_napsu_tiny_real_fit(cache, tmp_path):
    df, schema = _binary()
    m = get_method("napsu")(
        seed=1, missing=False, samples=50, warmup=50, queries=[("a", "b")], jax_cache=cache
    )
    m.fit(df, schema, Budget(2.0, 1e-6))
    assert m.privacy_.rho == pytest.approx(Budget(2.0, 1e-6).rho)
    assert m.privacy_.details["l2_sensitivity"] == pytest.approx(2.0)  # sqrt(2 x 2 marginals)
    syn = m.sample(200, seed=3)
    assert syn.shape == (200, 3) and syn["a"].dropna().isin(["p", "q"]).all()
    loaded = Synthesizer.load(m.save(tmp_path / "n.model"))
    assert loaded.sample(20, seed=1).shape == (20, 3)


def test_dpvi_tiny_real_fit(cache, tmp_path):
    df, schema = _binary()
    m = get_method("dpvi")(seed=1, missing=False, epochs=3, k=2, subsample_ratio=0.1, jax_cache=cache)
    m.fit(df, schema, Budget(2.0, 1e-6))
    assert m.privacy_.rho is None and "d3p" in m.privacy_.noise
    syn = m.sample(100, seed=2)
    assert syn.shape == (100, 3) and syn["c"].dropna().isin(["u", "v"]).all()
    loaded = Synthesizer.load(m.save(tmp_path / "d.model"))
    assert loaded.sample(10, seed=1).shape == (10, 3)


@pytest.mark.slow
def test_dpvi_learns_a_dependency(cache):
    df, schema = _binary(3000)
    m = get_method("dpvi")(seed=2, epochs=50, k=4, jax_cache=cache).fit(df, schema, Budget(3.0, 1e-6))
    syn = m.sample(3000, seed=1)
    assert (syn["a"] == syn["b"]).mean() > 0.6


@pytest.mark.slow
def test_napsu_default_queries_on_more_rows(cache):
    df, schema = _binary(2000)
    m = get_method("napsu")(seed=2, jax_cache=cache).fit(df, schema, Budget(3.0, 1e-6))
    syn = m.sample(2000, seed=1)
    assert (syn["a"] == syn["b"]).mean() > 0.6
