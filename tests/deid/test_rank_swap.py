"""Rank swapping: every column's values are released exactly (a permutation), each value moves to a record whose
rank differs by less than the window (checked by ranking independently), swaps are pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anonlab
from anonlab.deid.rank_swap import RankSwap, rank_swap
from anonlab.errors import UsageError


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 300), st.integers(2, 40), st.integers(0, 2**31))
def test_bounded_pair_swaps(n, window, seed):
    x = np.random.default_rng(seed).permutation(n).astype(float)  # distinct values: rank = value
    y = rank_swap(x, window, np.random.default_rng(seed + 1))
    assert sorted(y) == sorted(x)
    assert (np.abs(y - x) < window).all()
    moved = np.flatnonzero(y != x)
    # a swap is a pair: the record whose value I took took mine
    pos = {v: i for i, v in enumerate(x)}
    assert all(y[pos[y[i]]] == x[i] for i in moved)


def test_adult_marginals_exact(adult):
    q = ["age", "fnlwgt", "hours-per-week"]
    out, rep = anonlab.anonymize(adult, quasi=q, method="rankswap", p=5, seed=4)
    for c in q:
        assert sorted(out[c]) == sorted(adult[c]) and out[c].dtype == adult[c].dtype
        assert rep.columns[c]["window_records"] == int(0.05 * len(adult))
    assert rep.columns["fnlwgt"]["share_changed"] > 0.9
    assert rep.information_loss["il1s"] > 0


def test_refusals():
    with pytest.raises(UsageError, match="p="):
        RankSwap(p=0)
    with pytest.raises(UsageError, match="does not apply"):
        anonlab.anonymize(pd.DataFrame({"a": [1, 2]}), quasi=["a"], sensitive=["a"], method="rankswap")
