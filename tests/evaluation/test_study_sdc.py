"""The SDC toolbox's methods in a study: a release named by its registry method (``method = "mdav"``), its list
parameters a grid, evaluated like every other release and placed on the frontier."""

from __future__ import annotations

import warnings

import pytest

from anonlab.errors import UsageError
from anonlab.evaluation import Recipe, Study

_EVAL = {"skip": ["anonymeter", "quality", "tstr"]}
RELEASES = [
    {"method": "suppression", "k": [3, 10]},
    {"method": "mdav", "k": 5, "quasi": ["age", "hours-per-week"]},
    {"method": "pram", "pd": 0.6, "quasi": ["race", "sex"], "seed": 1},
    {"method": "noise", "kind": "correlated", "noise": 50, "quasi": ["age", "hours-per-week"], "seed": 2},
    {"method": "rankswap", "p": [5], "quasi": ["age", "hours-per-week"], "seed": 3},
]


def test_recipe_expands_method_named_releases():
    rec = Recipe.from_dict({"study": {"quasi": ["age", "sex"]}, "release": RELEASES})
    labels = [s.label for s in rec.releases]
    assert labels == ["suppression k=3", "suppression k=10", "mdav", "pram", "noise", "rankswap p=5"]
    assert rec.releases[2].options == {"method": "mdav", "k": 5, "quasi": ["age", "hours-per-week"]}
    with pytest.raises(UsageError, match="or a method of anonlab anonymize: mondrian, global, suppression"):
        Recipe.from_dict({"release": [{"method": "magic"}]})


def test_study_runs_every_sdc_method(adult):
    table = adult.loc[:599, ["age", "sex", "race", "education", "hours-per-week", "income-per-year"]]
    study = Study.from_releases(
        [{"method": "copy"}, *RELEASES],
        target="income-per-year",
        quasi=["age", "sex", "race"],
        config=_EVAL,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = study.run(table, seed=0)
    frame = result.to_frame()
    assert len(frame) == 7
    failed = {e.label: e.error for e in result.evaluations if getattr(e, "error", None)}
    assert not failed, failed
    assert frame["utility_2way"].notna().all() and frame["mia_auc"].notna().all()
