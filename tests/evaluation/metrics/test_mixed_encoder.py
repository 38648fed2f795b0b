"""Distances in the mixed encoding are Gower-like."""

import numpy as np
import pandas as pd
import pytest

from anonlab.evaluation.metrics.mixed_encoder import MixedEncoder
from anonlab.evaluation.metrics.neighbours import knn_distances


def test_mixed_distance_is_gower_like():
    df = pd.DataFrame({"x": [0.0, 10.0, 5.0], "c": ["a", "b", "a"]})
    enc = MixedEncoder({"x": "numeric", "c": "categorical"}).fit(df)
    z = enc.transform(df)
    d = knn_distances(z[[0]], z[[1, 2]], k=2)[0]
    # row 0 vs row 2: half the range apart, same category -> 0.5; vs row 1: whole range + a mismatch -> sqrt(2)
    assert d == pytest.approx([0.5, np.sqrt(2)], abs=1e-6)
