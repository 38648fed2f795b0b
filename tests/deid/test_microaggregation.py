"""MDAV microaggregation: groups of k (the last k..2k-1) confirmed by pycanon on the released table; the groups
equal those of a plain-loop MDAV written from the paper (Domingo-Ferrer and Torra 2005); IL1s and the
eigenvalue loss worked by hand and against sdcMicro's formulas written out independently."""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np
import pandas as pd
import pycanon.anonymity as pa
import pytest

import anonlab
from anonlab.deid.microaggregation import MDAV, eigen_loss, il1s, mdav_groups
from anonlab.errors import UsageError

NUM = ["age", "education-num", "hours-per-week", "capital-gain", "capital-loss", "fnlwgt"]


def reference_mdav(x, k):
    """MDAV as the paper states it, one record at a time (lists and loops, no vectorisation)."""
    sd = [statistics.stdev(col) for col in zip(*x, strict=False)]
    mu = [statistics.fmean(col) for col in zip(*x, strict=False)]
    z = [[(v - m) / s for v, m, s in zip(row, mu, sd, strict=False)] for row in x]
    left = list(range(len(z)))
    groups = []

    def dist(a, b):
        return sum((p - q) ** 2 for p, q in zip(a, b, strict=False))

    def nearest(p):
        return sorted(left, key=lambda i: dist(z[i], z[p]))[:k]

    def centroid():
        return [sum(z[i][j] for i in left) / len(left) for j in range(len(z[0]))]

    while len(left) >= 3 * k:
        c = centroid()
        r = max(left, key=lambda i: dist(z[i], c))
        s = max(left, key=lambda i: dist(z[i], z[r]))
        g = nearest(r)
        groups.append(frozenset(g))
        left = [i for i in left if i not in g]
        g = nearest(s)
        groups.append(frozenset(g))
        left = [i for i in left if i not in g]
    if len(left) >= 2 * k:
        c = centroid()
        r = max(left, key=lambda i: dist(z[i], c))
        g = nearest(r)
        groups.append(frozenset(g))
        left = [i for i in left if i not in g]
    if left:
        groups.append(frozenset(left))
    return set(groups)


def _as_sets(groups):
    return {frozenset(np.nonzero(groups == g)[0].tolist()) for g in np.unique(groups)}


@pytest.mark.parametrize("k,n,d,seed", [(3, 61, 2, 0), (5, 103, 3, 1), (4, 40, 1, 2)])
def test_groups_equal_the_reference(k, n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d)) * [10, 1, 100][:d]
    assert _as_sets(mdav_groups(x, k)) == reference_mdav(x.tolist(), k)


def test_hand_worked_one_column():
    df = pd.DataFrame({"v": [1, 2, 3, 10, 11, 12], "other": list("abcdef")})
    out, rep = anonlab.anonymize(df, quasi=["v"], k=3, method="mdav")
    assert out["v"].astype(float).tolist() == [2, 2, 2, 11, 11, 11]
    assert out["other"].tolist() == list("abcdef")
    sd = statistics.stdev([1, 2, 3, 10, 11, 12])
    assert rep.search["il1s"] == pytest.approx(4 / 6 * math.sqrt(2) / sd)
    assert rep.search["eigen"] == pytest.approx(0.0)
    assert rep.k == 3 and rep.n_classes == 2


def test_adult_k_confirmed_by_pycanon(adult):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, rep = anonlab.anonymize(adult, quasi=NUM, k=5, method="mdav")
    assert pa.k_anonymity(out[NUM].astype(str), NUM) >= 5
    sizes = out.groupby(NUM).size()
    assert sizes.min() >= 5
    x = adult[NUM].to_numpy(float)
    xm = out[NUM].to_numpy(float)
    # group means preserve the column means exactly
    np.testing.assert_allclose(xm.mean(axis=0), x.mean(axis=0), rtol=1e-9)
    assert rep.search["il1s"] == pytest.approx(il1s(x, xm))
    assert 0 < rep.search["il1s"] < 0.2


def test_information_loss_formulas():
    # sdcMicro: IL1 = 1/(p n) sum |x - xm| / sd(x) * sqrt(2); eigen = sum |e1 - e2| / e1 over cor eigenvalues
    x = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]])
    xm = np.array([[1.5, 1.5], [1.5, 1.5], [3.5, 4.0], [3.5, 4.0]])
    by_hand = 0.0
    for j in range(2):
        s = statistics.stdev(x[:, j])
        by_hand += sum(abs(a - b) / s * math.sqrt(2) for a, b in zip(x[:, j], xm[:, j], strict=False))
    assert il1s(x, xm) == pytest.approx(by_hand / 8)
    r1 = np.corrcoef(x.T)[0, 1]
    r2 = np.corrcoef(xm.T)[0, 1]  # 2x2 correlation matrices have eigenvalues 1 + |r| and 1 - |r|
    e1, e2 = [1 + abs(r1), 1 - abs(r1)], [1 + abs(r2), 1 - abs(r2)]
    assert eigen_loss(x, xm) == pytest.approx(sum(abs(a - b) / a for a, b in zip(e1, e2, strict=False)))
    assert eigen_loss(x, np.ones_like(x)) is None


def test_refuses_categories_and_missing():
    df = pd.DataFrame({"a": ["x", "y", "z", "w"], "b": [1.0, 2.0, None, 4.0]})
    with pytest.raises(UsageError, match="numeric columns only"):
        anonlab.anonymize(df, quasi=["a"], k=2, method="mdav")
    with pytest.raises(UsageError, match="missing values"):
        anonlab.anonymize(df, quasi=["b"], k=2, method="mdav")


def test_params_and_repr():
    m = MDAV(k=4, standardise=False)
    assert m.get_params() == {"k": 4, "standardise": False, "progress": False}
    assert repr(m) == "MDAV(k=4, standardise=False)"
