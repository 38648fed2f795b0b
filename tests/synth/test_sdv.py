"""SDV baselines through the same interface: real SDV fits, no privacy claims, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("sdv", reason="the sdv extra (SDV, torch's CPU build) is not installed")

from anonlab.errors import InputError, UsageError
from anonlab.synth import Synthesizer, get_method


def test_gaussian_copula_fits_samples_and_says_no_guarantee(planted, schema, tmp_path):
    m = get_method("gaussian-copula")(seed=1).fit(planted.head(400), schema)
    syn = m.sample(200, seed=2)
    assert syn.shape == (200, 6)
    assert syn["a"].dropna().isin(["w", "x", "y", "z"]).all()
    assert pd.api.types.is_integer_dtype(syn["age"]) and syn["age"].between(18, 89).all()
    assert m.summary()["privacy"] == "no formal privacy guarantee"
    pd.testing.assert_frame_equal(syn, m.sample(200, seed=2))
    loaded = Synthesizer.load(m.save(tmp_path / "gc.model"))
    assert loaded.sample(10, seed=1).shape == (10, 6)


def test_baselines_cannot_be_charged_to_a_ledger(planted, schema):
    with pytest.raises(UsageError, match="no formal privacy guarantee"):
        get_method("gaussian-copula")().fit(planted, schema, ledger=object())


def test_baselines_refuse_a_single_row_and_an_all_missing_column(planted, schema):
    with pytest.raises(InputError, match="at least 2 rows"):
        get_method("gaussian-copula")().fit(planted.head(1), schema)
    with pytest.raises(InputError, match="column 'city' is entirely missing"):
        get_method("gaussian-copula")().fit(planted.head(50).assign(city=None), schema)


@pytest.mark.slow
def test_ctgan_tiny_fit(planted, schema):
    m = get_method("ctgan")(seed=1, epochs=2, batch_size=100).fit(planted.head(300), schema)
    assert m.sample(50, seed=1).shape == (50, 6)


def test_gaussian_copula_keeps_point_masses_of_a_small_integer_column():
    """An integer column with few public values (one code each) is modelled as categorical, so its marginal
    survives: a continuous fit would spread 70% at one value over its neighbours."""
    import numpy as np

    from anonlab.schema import Column, Schema

    rng = np.random.default_rng(0)
    grade = np.where(rng.random(1500) < 0.7, 9, rng.integers(1, 17, size=1500))
    df = pd.DataFrame({"grade": grade, "group": rng.choice(["a", "b"], size=1500)})
    schema = Schema(
        (
            Column("grade", "quasi", "integer", lower=1, upper=16),
            Column("group", "quasi", "categorical", categories=("a", "b")),
        )
    )
    syn = get_method("gaussian-copula")(seed=3).fit(df, schema).sample(1500, seed=4)
    assert pd.api.types.is_integer_dtype(syn["grade"]) and syn["grade"].between(1, 16).all()
    real = df["grade"].value_counts(normalize=True)
    fake = syn["grade"].value_counts(normalize=True).reindex(real.index, fill_value=0.0)
    assert 0.5 * (real - fake).abs().sum() < 0.05
