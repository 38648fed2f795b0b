"""NAPSU-MQ (anonlab.synth.twinify.napsu): small real fits by default, larger ones marked slow.

It releases under add/remove neighbours (a DP row count first) unless the ledger is replace-one (n public)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numpyro", reason="the synth extra (JAX, NumPyro) is not installed")

from anonlab.errors import PrivacyError, UsageError  # noqa: E402
from anonlab.privacy.ledger import Ledger  # noqa: E402
from anonlab.synth import Budget, Synthesizer, get_method  # noqa: E402
from anonlab.synth.twinify import N_ESTIMATE_SHARE  # noqa: E402

# fits without a ledger warn (PrivacyWarning) by design; tests/synth/test_methods.py tests the warning
pytestmark = pytest.mark.filterwarnings("ignore::anonlab.errors.PrivacyWarning")


def test_napsu_tiny_real_fit(cache, tmp_path, tables):
    df, schema = tables.binary()
    m = get_method("napsu")(
        seed=1, missing=False, samples=50, warmup=50, queries=[("a", "b")], jax_cache=cache
    )
    m.fit(df, schema, Budget(2.0, 1e-6))
    assert m.privacy_.rho == pytest.approx(Budget(2.0, 1e-6).rho)
    # add/remove (no ledger): sqrt(2 marginals), (a, b) and (c,)
    assert m.privacy_.details["l2_sensitivity"] == pytest.approx(math.sqrt(2))
    assert m.privacy_.details["model"] == "JointMaxEnt"
    assert m.posterior_.shape == (50, 3 + 1)  # (a, b): all cells but (0, 0); (c,): one
    syn = m.sample(200, seed=3)
    assert syn.shape == (200, 3) and syn["a"].dropna().isin(["p", "q"]).all()
    loaded = Synthesizer.load(m.save(tmp_path / "n.model"))
    assert loaded.sample(20, seed=1).equals(m.sample(20, seed=1))


def test_napsu_fixed_seed_identical_and_ledger_charged(cache, tmp_path, tables):
    df, schema = tables.binary(400, same=0.9)
    path = tmp_path / "l.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5)
    kw = dict(seed=5, missing=False, posterior="laplace", samples=30, queries=[("a", "b")], jax_cache=cache)
    m1 = get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6))
    m2 = get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6))
    assert np.array_equal(m1.posterior_, m2.posterior_)
    assert m1.sample(100, seed=2).equals(m2.sample(100, seed=2))
    # the planted dependency shows even at this size (b = a 90% of the time)
    syn = m1.sample(2000, seed=1)
    assert (syn["a"] == syn["b"]).mean() > 0.75
    # a ledger-charged release forks its own noise keystream (ledger entry in the label)
    get_method("napsu")(**kw).fit(df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path))
    entries = Ledger.open(path).entries
    assert len(entries) == 1 and entries[0].rho == pytest.approx(Budget(1.0, 1e-6).rho)


def test_napsu_bad_posterior_name(cache, tables):
    df, schema = tables.binary(50)
    with pytest.raises(UsageError, match="posterior"):
        get_method("napsu")(seed=1, missing=False, posterior="vi", jax_cache=cache).fit(
            df, schema, Budget(1.0, 1e-6)
        )


def test_napsu_refuses_a_joint_domain_above_max_cells(cache, tmp_path, tables):
    df, schema = tables.binary(50)
    path = tmp_path / "m.ledger"
    Ledger.create(path, epsilon=3.0, delta=1e-5)
    with pytest.raises(UsageError, match="max_cells"):
        get_method("napsu")(seed=1, missing=False, max_cells=4, jax_cache=cache).fit(
            df, schema, Budget(1.0, 1e-6), ledger=Ledger.open(path)
        )
    assert Ledger.open(path).entries == []  # refused before the charge


def test_napsu_refuses_an_unknown_query_column(cache, tables):
    df, schema = tables.binary(50)
    with pytest.raises(UsageError, match="query column 'z'"):
        get_method("napsu")(seed=1, missing=False, queries=[("a", "z")], jax_cache=cache).fit(
            df, schema, Budget(1.0, 1e-6)
        )


def test_napsu_add_remove_charges_and_uses_a_dp_row_count(cache, tmp_path, tables):
    df, schema = tables.two()
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


def test_a_model_saved_with_twinifys_query_order_is_refused(cache, tmp_path, tables):
    import json
    import zipfile

    df, schema = tables.two(100)
    m = get_method("napsu")(seed=1, missing=False, posterior="laplace", samples=5, jax_cache=cache)
    path = m.fit(df, schema, Budget(1.0, 1e-6)).save(tmp_path / "n.model")
    old = tmp_path / "old.model"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(old, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith(".json") and b"query_layout" in data:
                doc = json.loads(data)
                doc["state"].pop("query_layout")
                data = json.dumps(doc).encode()
            zout.writestr(item, data)
    with pytest.raises(Exception, match="older anonlab"):
        Synthesizer.load(old)


@pytest.mark.slow
def test_napsu_reproduces_planted_dependency_with_nuts(cache, tables):
    df, schema = tables.binary(2000, same=0.9)
    m = get_method("napsu")(seed=2, missing=False, jax_cache=cache).fit(df, schema, Budget(1.0, 1e-6))
    syn = m.sample(2000, seed=1)
    assert (syn["a"] == syn["b"]).mean() > 0.8
