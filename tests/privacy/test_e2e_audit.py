"""An empirical privacy audit of one whole DP synthesis release: MST end to end, from the table to synthetic rows.

D is a tiny table of identical records; D' is D plus one record that D has nowhere ((1, 1) against all (0, 0)),
the neighbour that is easiest to spot. Each run fits MST without a seed (OpenDP's noise, fresh every run) and draws
synthetic rows; the distinguishing events are "the synthetic sample holds at least t rows equal to the added
record". If the release is (epsilon, delta)-DP as claimed, the Clopper-Pearson lower bound on epsilon from those
events (anonlab.privacy.audit) stays at or below the claim. MST's claim is zCDP (rho), which holds at every delta;
it is checked at delta = 0.2, where the conversion is cheapest to refute (as tests/privacy/test_audit.py does).

The fast version (a few hundred runs) is loose: it catches only a gross error, for example noise that is missing
or far too small. The slow version runs ten times more and shows the audit's power: the same release with its
noise scale cut by 4 while its claimed cost is unchanged fails it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import anonlab.privacy.mechanisms as mechanisms
from anonlab.errors import PrivacyWarning
from anonlab.privacy.accounting import zcdp_epsilon
from anonlab.privacy.audit import audit_outputs
from anonlab.schema import Column, Schema
from anonlab.synth import Budget, get_method

AUDIT_DELTA = 0.2
EPSILON = 2.0  # the budget the release is asked for (at AUDIT_DELTA)
SYNTHETIC_ROWS = 100
EVENTS = [(f"synthetic rows equal to the added record >= {t}", lambda x, t=t: x >= t) for t in (1, 3, 10)]

SCHEMA = Schema(tuple(Column(k, type="categorical", categories=("0", "1")) for k in "ab"))
D = pd.DataFrame({"a": ["0"] * 20, "b": ["0"] * 20})
D_PRIME = pd.concat([D, pd.DataFrame({"a": ["1"], "b": ["1"]})], ignore_index=True)


def _runs(df: pd.DataFrame, runs: int) -> tuple[np.ndarray, float]:
    """``runs`` unseeded MST releases of ``df``: how many synthetic rows equal the added record, and the claimed
    zCDP rho."""
    out = np.empty(runs, dtype=np.int64)
    rho = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)  # no ledger, on purpose
        for i in range(runs):
            model = get_method("mst")(iters=30, missing=False).fit(df, SCHEMA, Budget(EPSILON, AUDIT_DELTA))
            syn = model.sample(SYNTHETIC_ROWS)
            out[i] = int(((syn["a"] == "1") & (syn["b"] == "1")).sum())
            rho = model.privacy_.rho
    assert model.privacy_.details["rho_spent"] <= rho * (1 + 1e-9)
    return out, rho


def _audit(runs: int):
    a, rho = _runs(D, runs)
    b, _ = _runs(D_PRIME, runs)
    claimed = zcdp_epsilon(rho, AUDIT_DELTA)
    assert claimed <= EPSILON * (1 + 1e-9)
    return audit_outputs(a, b, EVENTS, claimed_epsilon=claimed, delta=AUDIT_DELTA, alpha=1e-6), a, b


def test_mst_end_to_end_audit_stays_below_the_claim():
    result, a, b = _audit(150)
    assert result.passed, result.to_dict()
    # the release is not degenerate: the added record shows in D' runs more often than in D runs
    assert (b >= 1).mean() > (a >= 1).mean()


def _scale_bug(monkeypatch, factor: float) -> None:
    """Make every Gaussian measurement use ``factor`` times its noise while claiming the original cost."""
    real = mechanisms.gaussian

    def buggy(values, scale, **kw):
        rel = real(values, scale * factor, **kw)
        claimed = real(0, scale, l2_sensitivity=kw.get("l2_sensitivity", 1.0), integer=True).cost
        return mechanisms.Release(rel.value, claimed, rel.mechanism, scale, rel.seeded)

    monkeypatch.setattr(mechanisms, "gaussian", buggy)


@pytest.mark.slow
def test_mst_end_to_end_audit_large_and_catches_a_scale_bug(monkeypatch):
    result, _, _ = _audit(2000)
    assert result.passed, result.to_dict()
    assert result.epsilon_lower > 0.05  # the audit is not vacuous
    _scale_bug(monkeypatch, 0.25)
    buggy, _, _ = _audit(2000)
    assert not buggy.passed, buggy.to_dict()
