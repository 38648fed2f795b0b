"""PRAM: the released matrix is a transition matrix and invariant (checked with loops written from the paper's
formula), the released marginals match the original within sampling error, the matrix corrects a subgroup's
counts, the seed never reaches the report, bad parameters are refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import anonlab
from anonlab.deid.pram import PRAM, correct_frequencies, invariant_matrix
from anonlab.errors import UsageError


def test_matrix_is_invariant_and_stochastic():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    r = invariant_matrix(p, 0.7, 0.6, np.random.default_rng(3))
    assert np.allclose(r.sum(axis=1), 1) and (r >= 0).all()
    for j in range(4):  # p R = p, one column at a time
        assert sum(p[i] * r[i, j] for i in range(4)) == pytest.approx(p[j])
    assert (np.diag(r) >= 0.4 - 1e-12).all()  # alpha mixes at least (1 - alpha) of the identity


def test_hand_worked_two_values():
    # P = [[a, 1-a], [1-b, b]]; with alpha = 1, R = P Q; check one entry by hand for a = b = 1 (no change)
    r = invariant_matrix(np.array([0.25, 0.75]), 1.0, 1.0, np.random.default_rng(0))
    assert np.allclose(r, np.eye(2))


def test_adult_marginals_kept_and_subgroups_corrected(adult):
    q = ["race", "marital-status"]
    out, rep = anonlab.anonymize(adult, quasi=q, method="pram", pd=0.6, alpha=0.8, seed=7)
    assert rep.columns["race"]["cells_changed"] > 500
    n = len(adult)
    for c in q:
        orig = adult[c].value_counts()
        rel = out[c].value_counts().reindex(orig.index, fill_value=0)
        p = orig / n
        # released counts are sums of independent draws: within 5 standard deviations of the original
        assert (np.abs(rel - orig) <= 5 * np.sqrt(n * p * (1 - p)) + 5).all(), c
    m = rep.released["pram_transition_matrices"]["race"]
    women = out["sex"] == "Female"
    released = out.loc[women, "race"].value_counts().reindex(m["values"], fill_value=0).to_numpy()
    truth = adult.loc[women, "race"].value_counts().reindex(m["values"], fill_value=0).to_numpy()
    fixed = correct_frequencies(released, m["matrix"])
    assert np.abs(fixed - truth).sum() < np.abs(released - truth).sum()
    others = [c for c in adult.columns if c not in q]
    pd.testing.assert_frame_equal(out[others], adult[others])


def test_seed_reproducible_and_not_reported(adult):
    a, ra = anonlab.anonymize(adult.head(500), quasi=["race"], method="pram", seed=11)
    b, _ = anonlab.anonymize(adult.head(500), quasi=["race"], method="pram", seed=11)
    pd.testing.assert_frame_equal(a, b)
    text = json.dumps(ra.to_dict(), default=str)
    assert "seed" not in text and "11" not in json.dumps(ra.parameters)


def test_missing_stays_missing():
    df = pd.DataFrame({"c": ["a", None, "b", "a", None, "b"] * 20})
    out, _ = anonlab.anonymize(df, quasi=["c"], method="pram", pd=0.1, seed=1)
    assert out["c"].isna().tolist() == df["c"].isna().tolist()


def test_bad_parameters():
    with pytest.raises(UsageError, match="pd="):
        PRAM(pd=0)
    with pytest.raises(UsageError, match="alpha="):
        PRAM(alpha=1.5)
    with pytest.raises(UsageError, match="seed="):
        PRAM(seed="x")
    df = pd.DataFrame({"c": list("ab")})
    with pytest.raises(UsageError, match="takes no parameter k="):
        anonlab.anonymize(df, quasi=["c"], k=2, method="pram")
    with pytest.raises(UsageError, match="needs the columns"):
        anonlab.anonymize(df, method="pram")
