"""Marginal total variation distance on a known answer."""

import numpy as np
import pandas as pd
import pytest

from anonlab.evaluation.metrics.tv import marginal_tvd


def test_tvd_known_answer():
    real = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1]})
    rel = pd.DataFrame({"a": [0, 0, 0, 0], "b": [0, 1, 0, 1]})
    m1 = marginal_tvd(real, rel, {"a": 2, "b": 2}, 1, rng=np.random.default_rng(0))
    assert m1.per_set == {"a": 0.5, "b": 0.0}
    m2 = marginal_tvd(real, rel, {"a": 2, "b": 2}, 2, rng=np.random.default_rng(0))
    assert m2.mean_tvd == pytest.approx(0.5)
