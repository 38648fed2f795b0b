"""The achieved k, l and t that `anonymize` reports agree with `anonlab assess` (deid.risk) on the release."""

from __future__ import annotations

import pytest

from anonlab.datasets import ADULT_QUASI, ADULT_SENSITIVE
from anonlab.deid.recipe import AnonymizeConfig
from anonlab.deid.recipe import anonymize_config as anonymize
from anonlab.deid.risk import assess


@pytest.mark.parametrize("method", ["mondrian", "global"])
def test_report_matches_assess(adult, method):
    df = adult.head(8000).reset_index(drop=True)
    r = anonymize(
        df,
        AnonymizeConfig(
            quasi=ADULT_QUASI,
            k=6,
            sensitive=ADULT_SENSITIVE,
            l=2,
            t=0.25,
            method=method,
            max_suppression=0.02,
        ),
    )
    rep = assess(r.data, ADULT_QUASI, list(ADULT_SENSITIVE))
    assert rep.k == r.k and rep.classes == r.n_classes
    s = rep.sensitive_for(ADULT_SENSITIVE[0])
    mine = r.sensitive[ADULT_SENSITIVE[0]]
    assert s.l_distinct == mine["l_distinct"]
    assert s.l_entropy == pytest.approx(mine["l_entropy"])
    assert s.t_closeness == pytest.approx(mine["t"])
