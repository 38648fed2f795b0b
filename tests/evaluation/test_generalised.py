"""Generalised releases: cells are read back by uniform draws within them, and k comes from assess."""

import numpy as np
import pandas as pd
import pytest

from anonlab.evaluation.evaluating import EvaluationConfig, evaluate
from anonlab.evaluation.generalised import decode_generalised, looks_generalised


def test_decode_draws_within_each_cell():
    real = pd.DataFrame(
        {
            "age": [20, 35, 50, 90],
            "status": ["Divorced", "Separated", "Married", "Never"],
            "zip": ["02139", "02138", "02141", "10001"],
            "income": ["<=50K", ">50K", "<=50K", ">50K"],
        }
    )
    rel = pd.DataFrame(
        {
            "age": ["30-39"] * 500 + ["[40, 50)"] * 500 + ["*"] * 500,
            "status": ["{Divorced,Separated}"] * 1000 + ["*"] * 500,
            "zip": ["021**"] * 1500,
            "income": ["<=50K", ">50K", "<=50K"] * 500,
        }
    )
    kinds = {"age": "numeric", "status": "categorical", "zip": "categorical", "income": "categorical"}
    out, info = decode_generalised(rel, real, kinds, np.random.default_rng(0))
    age = out["age"].to_numpy()
    assert out["age"].dtype == np.int64
    assert set(age[:500]) == set(range(30, 40))  # inclusive integer interval, every value drawn
    assert age[500:1000].min() >= 40 and age[500:1000].max() <= 49  # half-open interval
    assert age[1000:].min() >= 20 and age[1000:].max() <= 90  # "*": the real column's range
    assert set(out["status"][:1000]) == {"Divorced", "Separated"}
    assert set(out["status"][1000:]) <= set(real["status"])
    assert set(out["zip"]) == {"02139", "02138", "02141"}  # mask matched against the real codes, not 10001
    assert out["income"].equals(rel["income"])  # a real category that looks like a range is kept
    assert info.generalised
    assert info.decoded == {"age": 1500, "status": 1500, "zip": 1500, "income": 0}
    assert info.suppressed["age"] == 500
    assert rel["age"].iloc[0] == "30-39"  # input untouched
    assert looks_generalised(rel["age"], real["age"]) and not looks_generalised(rel["income"], real["income"])


def test_unreadable_labels_are_counted_not_invented():
    real = pd.DataFrame({"status": ["Divorced", "Married"]})
    rel = pd.DataFrame({"status": ["Formerly-married", "Married", "{Divorced,Married}"]})
    out, info = decode_generalised(rel, real, {"status": "categorical"}, np.random.default_rng(0))
    assert out["status"].iloc[0] == "Formerly-married"
    assert info.unreadable["status"] == 1 and info.unreadable_labels["status"] == ["Formerly-married"]


@pytest.fixture(scope="module")
def kanon(splits):
    from anonlab.deid.recipe import AnonymizeConfig
    from anonlab.deid.recipe import anonymize_config as anonymize

    quasi = ["age", "sex", "race", "marital-status", "education"]
    res = anonymize(splits["train"], AnonymizeConfig(quasi=tuple(quasi), k=10))
    return quasi, res


def test_k_anonymous_release_reports_assess_k(splits, kanon):
    from anonlab.deid.risk import assess

    quasi, res = kanon
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "tstr"))
    ev = evaluate(splits["train"], res.data, splits["holdout"], quasi=quasi, config=cfg, seed=1)
    expected = assess(res.data, quasi, sensitive=["income-per-year"])
    assert ev.assess["k"] == expected.k == res.k
    assert ev.assess["k"] >= 10
    assert ev.assess["prosecutor"]["highest"] == pytest.approx(expected.prosecutor.highest)
    assert ev.decode.generalised
    assert any("drawn uniformly within" in n for n in ev.notes)
    assert {v.metric: v.verdict for v in ev.verdicts}["k-anonymity (assess)"] == "low"
    assert ev.headline()["k"] == expected.k


def test_generalised_quasi_default_to_generalised_columns(splits, kanon):
    quasi, res = kanon
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "tstr", "dcr", "membership"))
    ev = evaluate(splits["train"], res.data, config=cfg, seed=1)
    assert set(ev.quasi) <= set(quasi) and ev.quasi
    assert ev.assess is not None
