"""Local suppression: k confirmed by pycanon on the released table (a star is a value), every released cell is the
original value or a star, importance weights steer which columns are blanked, hand-worked tables."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pycanon.anonymity as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anonlab
from anonlab.deid.suppression import LocalSuppression, suppression_patterns
from anonlab.errors import UsageError

Q = ["age", "sex", "race", "marital-status", "education", "native-country", "workclass", "occupation"]


def _check(df, out, quasi, k):
    """Independent checks: pycanon's k, cells unchanged or starred, no record removed or reordered."""
    assert len(out) == len(df)
    assert pa.k_anonymity(out[quasi].astype(str), quasi) >= k
    for c in quasi:
        orig = df[c].astype(str).where(df[c].notna(), "NA").to_numpy()  # a lone missing value is released NA
        rel = out[c].astype(str).to_numpy()
        assert ((rel == orig) | (rel == "*")).all(), c
    others = [c for c in df.columns if c not in quasi]
    pd.testing.assert_frame_equal(out[others], df[others])


@pytest.mark.parametrize(
    "k", [pytest.param(2, marks=pytest.mark.slow), 5, pytest.param(10, marks=pytest.mark.slow)]
)
def test_adult_k_confirmed_by_pycanon(adult, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, rep = anonlab.anonymize(adult, quasi=Q, k=k, method="suppression")
    _check(adult, out, Q, k)
    stars = int((out[Q].astype(str) == "*").to_numpy().sum())
    assert rep.search["cells_suppressed"] == stars
    assert sum(g["cells_suppressed"] for g in rep.generalisation.values()) == stars
    assert rep.k >= k and rep.n_suppressed == 0


def test_hand_worked_fewest_cells():
    # (a,x) and (a,y) are unique; blanking the second column of both makes (a,*) twice: 2 cells, the optimum
    df = pd.DataFrame({"c0": ["a", "a", "b", "b"], "c1": ["x", "y", "z", "z"]})
    out, rep = anonlab.anonymize(df, quasi=["c0", "c1"], k=2, method="suppression")
    assert out.values.tolist() == [["a", "*"], ["a", "*"], ["b", "z"], ["b", "z"]]
    assert rep.search["cells_suppressed"] == 2


def test_importance_moves_the_blanks():
    # (x,a) and (y,a) differ in c0 only: blanking c0 of both is the only one-cell-per-record fix, whatever weights
    df = pd.DataFrame({"c0": ["x", "y", "z", "z"], "c1": ["a", "a", "b", "b"]})
    out, _ = anonlab.anonymize(df, quasi=["c0", "c1"], k=2, method="suppression")
    assert out["c0"].tolist()[:2] == ["*", "*"]
    out, _ = anonlab.anonymize(
        df, quasi=["c0", "c1"], k=2, method="suppression", importance={"c0": 5.0, "c1": 1.0}
    )
    assert out["c0"].tolist()[:2] == ["*", "*"]  # still the only way with one cell per record
    df2 = pd.DataFrame(
        {"c0": ["x", "x", "y", "y", "p"], "c1": ["a", "b", "a", "b", "q"], "c2": list("mmmmm")}
    )
    lo, _ = anonlab.anonymize(
        df2, quasi=["c0", "c1"], k=2, method="suppression", importance={"c0": 1, "c1": 9}
    )
    hi, _ = anonlab.anonymize(
        df2, quasi=["c0", "c1"], k=2, method="suppression", importance={"c0": 9, "c1": 1}
    )
    assert (lo["c0"] == "*").sum() > (lo["c1"] == "*").sum()
    assert (hi["c1"] == "*").sum() > (hi["c0"] == "*").sum()


def test_leftover_topped_up_to_k():
    # (a,y) cannot be grouped with another unsafe record: the all-blank class takes whole classes to reach k
    df = pd.DataFrame({"c0": ["a", "a", "a", "b", "b"], "c1": ["x", "x", "y", "y", "y"]})
    out, rep = anonlab.anonymize(df, quasi=["c0", "c1"], k=2, method="suppression")
    _check(df, out, ["c0", "c1"], 2)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 4)), min_size=3, max_size=40),
    st.integers(2, 3),
)
def test_random_tables_are_k_anonymous(rows, k):
    df = pd.DataFrame(rows, columns=["a", "b", "c"]).astype(str)
    if len(df) < k:
        return
    out, _ = anonlab.anonymize(df, quasi=["a", "b", "c"], k=k, method="suppression")
    _check(df, out, ["a", "b", "c"], k)


def test_patterns_cheapest_first():
    pats = suppression_patterns(np.array([1.0, 5.0, 1.0]))
    assert pats[0] == () and pats[-1] == (0, 1, 2)
    assert pats[1:3] == [(0,), (2,)] and pats[3] == (0, 2)


def test_bad_parameters():
    with pytest.raises(UsageError, match="importance="):
        LocalSuppression(k=2, importance={"a": -1})
    with pytest.raises(UsageError, match="importance="):
        LocalSuppression(k=2, importance=[1, 2])
    df = pd.DataFrame({"a": list("xxyy")})
    with pytest.raises(UsageError, match="not a quasi-identifier"):
        anonlab.anonymize(df, quasi=["a"], k=2, method="suppression", importance={"b": 1})
    with pytest.raises(UsageError, match="takes no parameter l="):
        anonlab.anonymize(df, quasi=["a"], k=2, l=2, method="suppression")
    with pytest.raises(UsageError, match="needs k="):
        anonlab.anonymize(df, quasi=["a"], method="suppression")
