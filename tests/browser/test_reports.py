"""The evaluate report and the study report, opened in headless Chromium as a reader would open them.

Each must load with no network request and no console error, fit a 1,280 px window without a horizontal scroll
bar, have a table of contents whose links all resolve, and show every image. Screenshots: out/screenshots/.
"""

from __future__ import annotations

import numpy as np
import pytest

from anonlab.cli import main


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    from anonlab.datasets import adult_schema, load_adult

    folder = tmp_path_factory.mktemp("browser")
    # ten of Adult's columns (mixed types, a 40-category column): every part and figure, in a few seconds
    cols = ["age", "workclass", "education", "marital-status", "occupation", "race", "sex"]
    cols += ["hours-per-week", "native-country", "income-per-year"]
    adult = load_adult()[cols].sample(3000, random_state=0).reset_index(drop=True)
    train, holdout = adult.iloc[:1500], adult.iloc[1500:]
    rng = np.random.default_rng(0)
    # a release that keeps each column and none of the associations: independent columns
    release = train.apply(lambda s: s.to_numpy()[rng.permutation(len(s))])
    paths = {}
    for name, df in {"train": train, "holdout": holdout, "release": release, "adult": adult}.items():
        paths[name] = folder / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    paths["schema"] = folder / "adult-schema.toml"
    adult_schema().write(paths["schema"])
    paths["folder"] = folder
    return paths


def _assert_readable(check):
    assert check.requests == [], f"the report asked the network for {check.requests[:3]}"
    assert check.console_errors == [] and check.page_errors == [], check.console_errors + check.page_errors
    assert check.body_overflow <= 0, f"the page is {check.body_overflow}px wider than a 1,280px window"
    assert check.anchors >= 3, "no table of contents"
    assert check.broken_anchors == [], f"table-of-contents links to nothing: {check.broken_anchors[:5]}"
    assert check.broken_images == [], f"images that did not load: {check.broken_images[:5]}"


def test_evaluate_report_in_a_browser(tables, open_report, capsys):
    report = tables["folder"] / "evaluate.html"
    args = ["evaluate", str(tables["train"]), str(tables["release"]), "--holdout", str(tables["holdout"])]
    args += ["--schema", str(tables["schema"]), "--target", "income-per-year", "--skip", "anonymeter,quality"]
    code = main([*args, "--report", str(report), "--quiet", "--seed", "0"])
    assert code == 0, capsys.readouterr().err
    _assert_readable(open_report(report, "evaluate"))


STUDY = """
[study]
name = "browser"
target = "income-per-year"
quasi = ["age", "sex", "race", "education"]
sensitive = ["income-per-year"]
schema = "adult"
frontier = [["mia_auc", "utility_2way"], ["anonymeter_max_risk", "tstr_ratio"]]

[evaluate]
skip = ["quality"]
anonymeter_rows = 300
anonymeter_attacks = 100
tstr_rows = 500

[[release]]
method = "copy"

[[release]]
method = "kanonymity"
k = [5, 20]

[[release]]
method = "synth"
synthesizer = "mst"
epsilon = [1.0, 4.0]
"""


def test_study_report_in_a_browser(tables, open_report, capsys):
    recipe = tables["folder"] / "study.toml"
    recipe.write_text(STUDY)
    report = tables["folder"] / "frontier.html"
    args = ["compare", str(tables["adult"]), "--recipe", str(recipe), "--report", str(report)]
    code = main([*args, "--seed", "1", "--quiet"])
    assert code == 0, capsys.readouterr().err
    size = report.stat().st_size
    assert size < 1_500_000, f"the study report is {size / 1e6:.1f} MB"
    _assert_readable(open_report(report, "study"))
