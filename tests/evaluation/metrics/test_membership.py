"""Membership inference's AUC against scikit-learn's."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from anonlab.evaluation.metrics.membership import auc_delong


def test_delong_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 3000).astype(float)
    member = rng.random(3000) < 0.5
    scores[member] += 2
    auc, (lo, hi) = auc_delong(scores, member)
    assert auc == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    assert lo < auc < hi and hi - lo < 0.06
