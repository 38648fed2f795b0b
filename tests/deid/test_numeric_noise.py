"""addNoise: the noise has the scale and structure sdcMicro's formulas give (measured on large draws), missing
cells stay missing, other columns untouched, bad parameters refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import anonlab
from anonlab.deid.numeric_noise import AdditiveNoise
from anonlab.errors import UsageError


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    a = rng.normal(50, 10, 40_000)
    return pd.DataFrame({"a": a, "b": 2 * a + rng.normal(0, 5, 40_000), "c": ["x"] * 40_000})


def test_additive_scale(table):
    out, rep = anonlab.anonymize(table, quasi=["a", "b"], method="noise", noise=50, seed=1)
    e = out[["a", "b"]].to_numpy() - table[["a", "b"]].to_numpy()
    np.testing.assert_allclose(e.std(axis=0), 0.5 * table[["a", "b"]].std().to_numpy(), rtol=0.03)
    assert abs(np.corrcoef(e.T)[0, 1]) < 0.03  # independent per column
    assert rep.columns["a"]["share_changed"] == 1.0 and rep.information_loss["il1s"] > 0
    assert out["c"].equals(table["c"])


def test_correlated_keeps_correlation(table):
    out, _ = anonlab.anonymize(table, quasi=["a", "b"], method="noise", kind="correlated", noise=100, seed=2)
    r0 = table[["a", "b"]].corr().iloc[0, 1]
    assert out[["a", "b"]].corr().iloc[0, 1] == pytest.approx(r0, abs=0.01)
    np.testing.assert_allclose(
        out[["a", "b"]].cov().to_numpy(), 2 * table[["a", "b"]].cov().to_numpy(), rtol=0.05
    )


def test_correlated2_keeps_mean_and_variance(table):
    out, _ = anonlab.anonymize(table, quasi=["a", "b"], method="noise", kind="correlated2", delta=0.3, seed=3)
    np.testing.assert_allclose(out[["a", "b"]].mean(), table[["a", "b"]].mean(), rtol=0.01)
    np.testing.assert_allclose(out[["a", "b"]].std(), table[["a", "b"]].std(), rtol=0.03)


def test_missing_and_refusals():
    df = pd.DataFrame({"a": [1.0, None, 3.0, 4.0], "s": list("wxyz")})
    out, _ = anonlab.anonymize(df, quasi=["a"], method="noise", seed=0)
    assert out["a"].isna().tolist() == [False, True, False, False]
    with pytest.raises(UsageError, match="not numeric"):
        anonlab.anonymize(df, quasi=["s"], method="noise")
    with pytest.raises(UsageError, match="two columns"):
        anonlab.anonymize(df, quasi=["a"], method="noise", kind="correlated")
    for bad in ({"kind": "x"}, {"noise": 0}, {"delta": 1}, {"delta": True}):
        with pytest.raises(UsageError):
            AdditiveNoise(**bad)
