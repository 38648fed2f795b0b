"""ARX's models, SafePub and km-anonymity in a study (issue 22): each a release named by its registry method,
evaluated like every other release; SafePub's guarantee reaches the study's privacy column."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from anonlab.evaluation import Recipe, Study

_EVAL = {"skip": ["anonymeter", "quality", "tstr"]}
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "kanon_hierarchies"


def _setup(adult, tmp_path):
    table = adult.loc[:799, ["age", "sex", "race", "education", "income-per-year"]].copy()
    pop = tmp_path / "pop.csv"
    table.to_csv(pop, index=False)
    age = tmp_path / "age.csv"
    age.write_text("".join(f"{a};{a // 10 * 10}-{a // 10 * 10 + 9};*\n" for a in range(121)))
    income = tmp_path / "income.csv"
    income.write_text("<=50K;*\n>50K;*\n")
    hier = {"age": str(age), "sex": str(BENCH / "sex.csv"), "race": str(BENCH / "race.csv")}
    hier["income-per-year"] = str(income)
    table["items"] = table["race"] + ";" + table["education"]
    releases = [
        {"method": "presence", "k": 1, "population": str(pop), "delta_max": [0.8]},
        {"method": "kmap", "k": [5, 20], "estimator": "poisson", "sampling_fraction": 0.05},
        {"method": "likeness", "k": 2, "beta": 1.0, "sensitive": ["income-per-year"]},
        # a plumbing test on a few hundred training records: whichever pivot the private final selection takes
        # (near-random at this size), even the finest node keeps classes of k = 3 (epsilon 1, a loose delta 0.3;
        # even the last pivot of a 100-step walk: 0 empty releases in 25 samples of 200), so none is all suppressed
        {
            "method": "safepub",
            "epsilon": 1.0,
            "delta": 0.3,
            "quasi": [*hier],
            "hierarchies": hier,
        },
        {"method": "km", "k": 5, "m": 2, "quasi": ["items"]},
    ]
    return table, releases


def test_recipe_names_the_new_methods(adult, tmp_path):
    _, releases = _setup(adult, tmp_path)
    rec = Recipe.from_dict({"study": {"quasi": ["age", "sex"]}, "release": releases})
    labels = [s.label for s in rec.releases]
    assert labels == ["presence delta_max=0.8", "kmap k=5", "kmap k=20", "likeness", "safepub", "km"]
    assert rec.releases[4].options["hierarchies"]["sex"].endswith("sex.csv")


def test_safepub_in_a_study_carries_its_guarantee(adult, tmp_path):
    table, releases = _setup(adult, tmp_path)
    study = Study.from_releases(releases[3:4], target="income-per-year", quasi=["age", "sex"], config=_EVAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = study.run(table.head(400), seed=0)
    assert not result.failures, result.failures
    (row,) = result.rows()
    assert row["privacy"]["epsilon"] == 1.0 and row["privacy"]["neighbours"] == "add/remove"


@pytest.mark.slow
def test_study_runs_the_arx_models_safepub_and_km(adult, tmp_path):
    table, releases = _setup(adult, tmp_path)
    study = Study.from_releases(
        releases, target="income-per-year", quasi=["age", "sex", "race"], config=_EVAL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = study.run(table, seed=0)
    assert not result.failures, result.failures
    rows = {r["label"]: r for r in result.rows()}
    assert len(rows) == 6
    safepub = rows["safepub"]["privacy"]
    assert safepub["epsilon"] == 1.0 and safepub["delta"] == 0.3 and safepub["neighbours"] == "add/remove"
    assert all(rows[label]["privacy"] is None for label in rows if label != "safepub")
    assert result.to_frame()["utility_2way"].notna().all()
