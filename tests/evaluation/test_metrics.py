"""Unit checks of the metric building blocks against independent computations."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from anonlab.evaluation.metrics.associations import cramers_v_matrix, theils_u_matrix
from anonlab.evaluation.metrics.discretise import Discretiser
from anonlab.evaluation.metrics.membership import auc_delong
from anonlab.evaluation.metrics.mixed_encoder import MixedEncoder
from anonlab.evaluation.metrics.neighbours import knn_distances
from anonlab.evaluation.metrics.tv import marginal_tvd
from anonlab.evaluation.report.plots import pareto_front


def test_delong_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 3000).astype(float)
    member = rng.random(3000) < 0.5
    scores[member] += 2
    auc, (lo, hi) = auc_delong(scores, member)
    assert auc == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    assert lo < auc < hi and hi - lo < 0.06


def test_mixed_distance_is_gower_like():
    df = pd.DataFrame({"x": [0.0, 10.0, 5.0], "c": ["a", "b", "a"]})
    enc = MixedEncoder({"x": "numeric", "c": "categorical"}).fit(df)
    z = enc.transform(df)
    d = knn_distances(z[[0]], z[[1, 2]], k=2)[0]
    # row 0 vs row 2: half the range apart, same category -> 0.5; vs row 1: whole range + a mismatch -> sqrt(2)
    assert d == pytest.approx([0.5, np.sqrt(2)], abs=1e-6)


def test_tvd_known_answer():
    real = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1]})
    rel = pd.DataFrame({"a": [0, 0, 0, 0], "b": [0, 1, 0, 1]})
    m1 = marginal_tvd(real, rel, {"a": 2, "b": 2}, 1, rng=np.random.default_rng(0))
    assert m1.per_set == {"a": 0.5, "b": 0.0}
    m2 = marginal_tvd(real, rel, {"a": 2, "b": 2}, 2, rng=np.random.default_rng(0))
    assert m2.mean_tvd == pytest.approx(0.5)


def test_cramers_v_and_theils_u_known_answers():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 5000)
    codes = pd.DataFrame({"a": a, "same": a, "indep": rng.integers(0, 3, 5000)})
    card = {"a": 4, "same": 4, "indep": 3}
    v = cramers_v_matrix(codes, list(card), card)
    u = theils_u_matrix(codes, list(card), card)
    assert v[0, 1] == pytest.approx(1.0, abs=1e-3) and v[0, 2] < 0.05
    assert u[0, 1] == pytest.approx(1.0) and u[0, 2] < 0.01


def test_discretiser_cuts_point_mass_tails():
    x = pd.DataFrame({"gain": [0] * 900 + list(range(1, 101))})
    d = Discretiser({"gain": "numeric"}).fit(x)
    assert d.cardinality("gain") > 5  # not one bin "0 or more"


def test_pareto_front():
    rows = [{"r": 0.9, "u": 1.0}, {"r": 0.5, "u": 0.8}, {"r": 0.6, "u": 0.7}, {"r": 0.5, "u": 0.6}]
    assert pareto_front(rows, "r", "u") == [rows[1], rows[0]]
