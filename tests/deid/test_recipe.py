"""The [anonymize] recipe (deid/recipe.py): read_recipe gives anonymize()'s keywords; AnonymizeConfig checks them."""

from __future__ import annotations

import pycanon.anonymity as pa
import pytest

from anonlab.deid import anonymize, read_recipe
from anonlab.deid.recipe import AnonymizeConfig, anonymize_config
from anonlab.errors import InputError, UsageError


def test_read_recipe_runs_and_overrides(tmp_path, adult):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "sex.csv").write_text("Male;*\nFemale;*\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        '[anonymize]\nquasi = ["age", "sex"]\nk = 10\nmethod = "global"\nloss = "discernibility"\n'
        '[anonymize.hierarchies]\nsex = "h/sex.csv"\n'
    )
    params = read_recipe(recipe, k=20, quasi=None)
    assert params["k"] == 20 and params["quasi"] == ["age", "sex"]
    assert params["hierarchies"] == {"sex": str(tmp_path / "h" / "sex.csv")}
    out, rep = anonymize(adult.head(3000), **params)
    assert pa.k_anonymity(out, ["age", "sex"]) >= 20 and rep.parameters["loss"] == "discernibility"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[anonymize]\nquasi = ["age"]\nk = 5\nstrict = true\nmethod = "global"\n', "unknown key 'strict'"),
        ('[anonymize]\nquasi = ["age"]\nk = 5\nfoo = 1\n', "unknown key 'foo'"),
        ("[anonymize]\nhierarchies = 3\n", "'hierarchies' must be a table"),
        ('[anonymize]\norders = {a = "x"}\n', "'orders' must be a table"),
        ("[anonymize\n", "not a valid TOML recipe"),
    ],
)
def test_bad_recipes(tmp_path, text, message):
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    with pytest.raises(InputError, match=message):
        read_recipe(recipe)
    with pytest.raises(InputError, match="no such recipe"):
        read_recipe(tmp_path / "none.toml")


def test_config_checks_and_runs(adult):
    cfg = AnonymizeConfig(quasi=["age", "sex"], k=10, method="global", max_suppression=0.01)
    assert cfg.anonymizer().get_params()["max_suppression"] == 0.01
    res = anonymize_config(adult.head(3000), cfg)
    assert pa.k_anonymity(res.data, ["age", "sex"]) == res.k >= 10
    assert res.to_dict()["method"] == "global" and res.report.n_classes == res.n_classes
    with pytest.raises(UsageError, match="strict= does not apply to method='global'"):
        AnonymizeConfig(quasi=["age"], k=5, method="global", strict=True)
    with pytest.raises(UsageError, match="k=1"):
        AnonymizeConfig(quasi=["age"], k=1)
    with pytest.raises(UsageError, match="sensitive column"):
        AnonymizeConfig(quasi=["age"], k=5, t=0.2)
