"""anonlab.distributed.evaluation.marginal_distances: evaluation's 1- and 2-way marginal TVD counted on a cluster
equals the in-process figures (the Discretiser fitted from aggregates: numpy's quantiles, pandas' tie order)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("distributed")

from anonlab.distributed.evaluation import _quantile, marginal_distances  # noqa: E402
from anonlab.errors import UsageError  # noqa: E402
from anonlab.evaluation.metrics.discretise import Discretiser  # noqa: E402
from anonlab.evaluation.metrics.tv import choose_sets, marginal_tvd  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([-3.5, 0.0, 0.0, 1e-9, 2.25, 7.0, 1e6]), min_size=1, max_size=400),
    st.integers(2, 40),
)
def test_quantiles_from_counts_are_numpys(values, bins):
    x = np.asarray(values, dtype=float)
    probs = np.linspace(0, 1, bins + 1)[1:-1]
    u, k = np.unique(x, return_counts=True)
    assert np.array_equal(_quantile(u, k, probs), np.quantile(x, probs))


def _split(df, parts):
    import dask.dataframe as dd

    return dd.from_pandas(df, npartitions=parts, sort=False)


def test_marginal_distances_equal_in_process(cluster, adult):
    rng = np.random.default_rng(0)
    cols = ["age", "workclass", "fnlwgt", "race", "sex", "capital-gain", "native-country"]
    real = adult[cols].iloc[:3000].reset_index(drop=True)
    real.loc[::11, "race"] = None  # missing values are a category of their own
    rel = real.sample(frac=0.8, random_state=1).reset_index(drop=True)
    rel["age"] = rel["age"] + rng.integers(-5, 5, len(rel))
    rel.loc[::7, "sex"] = "Female"
    rel.loc[::13, "workclass"] = "Unheard-of"  # not in the real table: "other"
    kinds = {c: "numeric" if pd.api.types.is_numeric_dtype(real[c]) else "categorical" for c in cols}
    for max_categories in (50, 3):  # 3: race's and workclass's tied or cut categories decide the codes
        got = marginal_distances(
            _split(real, 4), _split(rel, 3), kinds, max_categories=max_categories, scheduler=cluster
        )
        disc = Discretiser(kinds, max_categories=max_categories).fit(real)
        card = {c: disc.cardinality(c) for c in kinds}
        for order in (1, 2):
            sets, _ = choose_sets(list(card), order, 300)
            assert got[order] == marginal_tvd(
                disc.transform(real), disc.transform(rel), card, order, sets=sets
            )
    assert set(marginal_distances(real, rel, scheduler=cluster)) == {1, 2}  # kinds from the dtypes


def test_bad_orders_and_columns(cluster, adult):
    with pytest.raises(UsageError, match="only 1- and 2-way"):
        marginal_distances(adult.iloc[:50], adult.iloc[:50], orders=(3,), scheduler=cluster)
    with pytest.raises(UsageError, match="'nope'"):
        marginal_distances(adult.iloc[:50], adult.iloc[:50], {"nope": "numeric"}, scheduler=cluster)
