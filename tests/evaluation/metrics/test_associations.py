"""Cramer's V and Theil's U on known answers."""

import numpy as np
import pandas as pd
import pytest

from anonlab.evaluation.metrics.associations import cramers_v_matrix, theils_u_matrix


def test_cramers_v_and_theils_u_known_answers():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 5000)
    codes = pd.DataFrame({"a": a, "same": a, "indep": rng.integers(0, 3, 5000)})
    card = {"a": 4, "same": 4, "indep": 3}
    v = cramers_v_matrix(codes, list(card), card)
    u = theils_u_matrix(codes, list(card), card)
    assert v[0, 1] == pytest.approx(1.0, abs=1e-3) and v[0, 2] < 0.05
    assert u[0, 1] == pytest.approx(1.0) and u[0, 2] < 0.01
