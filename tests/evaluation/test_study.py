"""A study from Python: built from a list of releases or a recipe, run, and shown."""

import pandas as pd
import pytest

from anonlab.errors import UsageError
from anonlab.evaluation import Recipe, Study, StudyResult, default_recipe_path, run_study

_EVAL = {"skip": ["anonymeter", "quality", "tstr"]}


@pytest.fixture(scope="module")
def table(splits):
    cols = [
        "age",
        "sex",
        "race",
        "education",
        "hours-per-week",
        "income-per-year",
    ]  # few columns: quick figures
    return splits["train"].loc[:299, cols]


@pytest.fixture(scope="module")
def result(table):
    study = Study.from_releases(
        [{"method": "copy"}, {"method": "kanonymity", "k": [5, 20]}],
        name="py",
        target="income-per-year",
        quasi=["age", "sex", "race"],
        config=_EVAL,
    )
    assert [s.label for s in study.recipe.releases] == [
        "copy of train",
        "k-anonymity k=5",
        "k-anonymity k=20",
    ]
    assert "3 releases" in repr(study)
    return study.run(table, seed=0)


def test_study_from_releases_runs_and_renders(result, tmp_path, check_self_contained):
    assert isinstance(result, StudyResult)
    assert [e.label for e in result.evaluations] == ["copy of train", "k-anonymity k=5", "k-anonymity k=20"]
    f = result.to_frame()
    assert isinstance(f, pd.DataFrame) and list(f.label) == [e.label for e in result.evaluations]
    assert f.loc[f.label == "k-anonymity k=20", "k"].iloc[0] >= 20
    assert result.to_dict()["study"] == "py"
    check_self_contained(result.to_html(tmp_path / "s.html"))
    h = result._repr_html_()
    assert "<img" not in h and "k-anonymity k=5" in h
    assert result.summary_lines()[0].startswith("py: 3 releases evaluated, 0 failed")


def test_compare_and_run_study_are_the_same_study(table, result):
    again = Study.compare(
        table,
        [{"method": "copy"}, {"method": "kanonymity", "k": [5, 20]}],
        name="py",
        target="income-per-year",
        quasi=["age", "sex", "race"],
        config=_EVAL,
        seed=0,
    )
    assert [r["utility_2way"] for r in again.rows()] == [r["utility_2way"] for r in result.rows()]
    recipe = Recipe.from_dict(
        {
            "study": {"name": "py", "target": "income-per-year", "quasi": ["age", "sex", "race"]},
            "evaluate": _EVAL,
            "release": [{"method": "copy"}, {"method": "kanonymity", "k": [5, 20]}],
        }
    )
    old = run_study(table, recipe, seed=0)  # the old name stays
    assert [r["mia_auc"] for r in old.rows()] == [r["mia_auc"] for r in result.rows()]


def test_study_constructors_and_bad_arguments(table):
    assert Study().recipe.name == Recipe.read(default_recipe_path()).name  # the bundled study
    assert Study(default_recipe_path()).recipe.releases == Study().recipe.releases
    with pytest.raises(UsageError, match="recipe= must be"):
        Study(42)
    with pytest.raises(UsageError, match="not both"):
        Study.compare(table, [{"method": "copy"}], recipe=default_recipe_path())
    with pytest.raises(UsageError, match="goes with releases="):
        Study.compare(table, quasi=["age"])
    with pytest.raises(UsageError, match="unknown method"):
        Study.from_releases([{"method": "magic"}])
