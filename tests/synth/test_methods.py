"""AIM and MST end to end on a planted table: reproducibility, accounting, dtypes, persistence, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import BudgetExceededError, InputError, PrivacyError, SchemaError, UsageError
from anonlab.privacy.ledger import Ledger
from anonlab.schema import Column, Schema, infer_schema
from anonlab.synth import Budget, Synthesizer, available_methods, get_method, register
from anonlab.synth.marginals import tv_distance

FAST_AIM = {"max_time": 20.0, "rounds": 24, "iters": 200, "round_iters": 50}


def test_registry_lists_every_method_and_accepts_new_ones():
    assert {"aim", "mst", "napsu", "dpvi", "gaussian-copula", "ctgan"} <= set(available_methods())
    with pytest.raises(UsageError, match="unknown synthesis method"):
        get_method("nope")

    @register
    class Uniform(Synthesizer):
        name = "uniform-test"
        private = False

        def _fit_codes(self, codes, sizes, budget, noise):
            self.sizes_ = sizes
            self.n_estimate_ = len(codes)

        def _sample_codes(self, n, rng):
            return np.column_stack([rng.integers(0, s, n) for s in self.sizes_])

    assert get_method("uniform-test") is Uniform


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_fixed_seed_gives_identical_output(planted, schema, method):
    params = FAST_AIM if method == "aim" else {"iters": 200}
    a = get_method(method)(seed=11, **params).fit(planted, schema, Budget(1.0, 1e-9)).sample(500, seed=3)
    b = get_method(method)(seed=11, **params).fit(planted, schema, Budget(1.0, 1e-9)).sample(500, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_sampled_columns_keep_dtypes_and_domains(planted, schema):
    syn = get_method("mst")(seed=1, iters=200).fit(planted, schema, Budget(2.0, 1e-9)).sample(2000, seed=1)
    assert list(syn.columns) == list(planted.columns)
    assert syn["a"].dropna().isin(["w", "x", "y", "z"]).all()
    assert syn["city"].dropna().isin(["north", "south"]).all()
    assert pd.api.types.is_integer_dtype(syn["age"]) and syn["age"].dropna().between(18, 89).all()
    assert pd.api.types.is_float_dtype(syn["score"]) and syn["score"].dropna().between(0, 100).all()
    assert pd.api.types.is_datetime64_any_dtype(syn["day"])
    assert syn["day"].dropna().between("2020-01-01", "2020-12-31").all()
    assert 0.1 < syn["city"].isna().mean() < 0.3  # missing values are a category the model learns


def test_aim_reproduces_a_planted_dependency_at_epsilon_3(planted, schema):
    model = get_method("aim")(seed=5, **FAST_AIM).fit(planted, schema, Budget(3.0, 1e-9))
    syn = model.sample(len(planted), seed=2)
    assert (syn["a"] == syn["b"]).mean() > 0.85
    real_ab = pd.crosstab(planted["a"], planted["b"]).to_numpy()
    syn_ab = pd.crosstab(syn["a"], syn["b"]).reindex(index=list("wxyz"), columns=list("wxyz"), fill_value=0)
    assert tv_distance(real_ab, syn_ab.to_numpy()) < 0.08
    assert model.privacy_.details["rho_spent"] <= Budget(3.0, 1e-9).rho * (1 + 1e-9)


def test_mst_spends_exactly_its_budget(planted, schema):
    m = get_method("mst")(seed=2, iters=100).fit(planted, schema, Budget(1.0, 1e-9))
    assert m.privacy_.rho == pytest.approx(Budget(1.0, 1e-9).rho)
    assert m.privacy_.details["rho_spent"] == pytest.approx(m.privacy_.rho)
    assert len(m.privacy_.details["measured"]) == 6 + 5  # all 1-ways and a spanning tree


def test_ledger_records_each_fit_and_refuses_past_the_budget(planted, schema, tmp_path):
    path = tmp_path / "l.jsonl"
    Ledger.create(path, epsilon=1.2, delta=1e-9)  # zCDP: two fits at epsilon 1 need about 1.45
    led = Ledger.open(path)
    get_method("mst")(seed=1, iters=50).fit(planted, schema, Budget(1.0, 1e-9), ledger=led)
    entries = Ledger.open(path).entries
    assert (
        len(entries) == 1
        and entries[0].what == "synth mst"
        and entries[0].rho == pytest.approx(Budget(1.0, 1e-9).rho)
    )
    synth = get_method("mst")(seed=1, iters=50)
    with pytest.raises(BudgetExceededError):
        synth.fit(planted, schema, Budget(1.0, 1e-9), ledger=Ledger.open(path))
    assert not hasattr(synth, "model_")  # refused before any noise was drawn
    assert len(Ledger.open(path).entries) == 1
    other = planted.head(100)
    with pytest.raises(PrivacyError):
        get_method("mst")(seed=1).fit(other, schema, Budget(0.1, 1e-9), ledger=Ledger.open(path))


def test_saved_model_samples_without_the_data(planted, schema, tmp_path):
    m = get_method("mst")(seed=3, iters=100).fit(planted, schema, Budget(1.0, 1e-9))
    path = m.save(tmp_path / "m.model")
    with pytest.raises(Exception, match="exists"):
        m.save(path)
    loaded = Synthesizer.load(path)
    assert loaded.name == "mst" and loaded.privacy_.rho == m.privacy_.rho
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), m.sample(300, seed=4))
    assert abs(loaded.sample(seed=1).shape[0] - len(planted)) < 200  # default rows: a DP estimate of n


def test_load_refuses_files_that_are_not_models(tmp_path):
    bad = tmp_path / "x.model"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not an anonlab synthesis model"):
        Synthesizer.load(bad)
    with pytest.raises(InputError, match="no such model"):
        Synthesizer.load(tmp_path / "missing.model")


def test_dp_method_refuses_domains_read_from_the_data(planted):
    with pytest.raises(PrivacyError, match="trust-domains"):
        get_method("mst")(seed=1).fit(planted, infer_schema(planted), Budget(1.0, 1e-9))
    m = get_method("mst")(seed=1, trust_domains=True, iters=20).fit(
        planted, infer_schema(planted), Budget(1.0, 1e-9)
    )
    assert m.privacy_.trusted_domains


def test_budget_is_required_and_validated(planted, schema):
    with pytest.raises(UsageError, match="budget"):
        get_method("aim")().fit(planted, schema, None)
    with pytest.raises(UsageError):
        Budget(-1.0, 1e-9)
    with pytest.raises(UsageError):
        Budget(1.0, 1.5)


def test_constant_all_missing_and_single_row_tables_work_or_fail_clearly(schema):
    const = pd.DataFrame(
        {
            "a": ["x"] * 50,
            "b": ["x"] * 50,
            "age": [30] * 50,
            "score": [1.0] * 50,
            "day": ["2020-05-05"] * 50,
            "city": [None] * 50,
        }
    )
    syn = get_method("mst")(seed=1, iters=100).fit(const, schema, Budget(3.0, 1e-9)).sample(100, seed=1)
    assert syn.shape == (100, 6)
    one = const.head(1)
    assert get_method("mst")(seed=1, iters=20).fit(one, schema, Budget(1.0, 1e-9)).sample(
        5, seed=1
    ).shape == (5, 6)
    with pytest.raises(InputError, match="no rows"):
        get_method("mst")(seed=1).fit(const.head(0), schema, Budget(1.0, 1e-9))
    with pytest.raises(InputError, match="column 'age', row 1"):
        get_method("mst")(seed=1).fit(const.assign(age="old"), schema, Budget(1.0, 1e-9))
    with pytest.raises(InputError, match="no column named 'city'"):
        get_method("mst")(seed=1).fit(const.drop(columns="city"), schema, Budget(1.0, 1e-9))
    with pytest.raises(SchemaError):
        Schema((Column("a", type="categorical", categories=("x", "x")),))
