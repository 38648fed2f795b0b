"""The full verification sweep: Adult with 8 quasi-identifiers, k from 2 to 50, with and without l and t, each
claim confirmed by pycanon on the released table (slow: pycanon loops over classes in Python)."""

from __future__ import annotations

import pycanon.anonymity as pa
import pytest

from anonlab.datasets import ADULT_QUASI, ADULT_SENSITIVE
from anonlab.deid.recipe import AnonymizeConfig
from anonlab.deid.recipe import anonymize_config as anonymize

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method", ["mondrian", "global"])
@pytest.mark.parametrize("k", [2, 3, 5, 10, 20, 30, 50])
@pytest.mark.parametrize("extra", [{}, {"l": 2}, {"t": 0.2}, {"l": 2, "t": 0.15}])
def test_adult_sweep(adult, method, k, extra):
    sens = ADULT_SENSITIVE if extra else ()
    r = anonymize(
        adult,
        AnonymizeConfig(quasi=ADULT_QUASI, k=k, sensitive=sens, method=method, max_suppression=0.01, **extra),
    )
    out = r.data
    assert pa.k_anonymity(out, ADULT_QUASI) == r.k >= k
    if "l" in extra:
        l_pc = pa.l_diversity(out, ADULT_QUASI, ADULT_SENSITIVE)
        assert l_pc == r.l_distinct >= extra["l"]
    if "t" in extra:
        t_pc = pa.t_closeness(out, ADULT_QUASI, ADULT_SENSITIVE)
        assert t_pc <= extra["t"] + 1e-9
        assert r.t == pytest.approx(t_pc)
