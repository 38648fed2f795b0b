"""`anonlab evaluate` and `anonlab compare` in-process: outputs, exit codes, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from anonlab.cli import main


@pytest.fixture(scope="module")
def files(splits, tmp_path_factory):
    d = tmp_path_factory.mktemp("ev")
    paths = {}
    for name in ("train", "holdout", "independent"):
        paths[name] = d / f"{name}.csv"
        splits[name].iloc[:800].to_csv(paths[name], index=False)
    return paths


FAST = ["--skip", "anonymeter,quality", "--quiet", "--seed", "3"]


def test_evaluate_writes_report_and_json(files, tmp_path, capsys):
    report, metrics = tmp_path / "r.html", tmp_path / "m.json"
    code = main(
        [
            "evaluate",
            str(files["train"]),
            str(files["independent"]),
            "--holdout",
            str(files["holdout"]),
            "--report",
            str(report),
            "--json-out",
            str(metrics),
            *FAST,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "membership AUC (distance)" in out and "wrote report" in out
    data = json.loads(metrics.read_text())
    # --seed 3 is the user's secret: never written (issue 11); a drawn seed is recorded
    assert data["seed"] is None and data["seed_given"] is True and data["rows"]["holdout"] == 800
    assert report.read_text().startswith("<!DOCTYPE html>")
    # refuses to overwrite without --force, before doing any work
    code = main(["evaluate", str(files["train"]), str(files["independent"]), "--report", str(report), *FAST])
    assert code == 2
    assert "exists; refusing to overwrite" in capsys.readouterr().err


def test_evaluate_json_to_stdout(files, capsys):
    code = main(
        [
            "evaluate",
            str(files["train"]),
            str(files["train"]),
            "--holdout",
            str(files["holdout"]),
            *FAST,
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["risk"]["dcr"]["exact_copy_share"] == 1.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "nope"], "--target nope is not a column"),
        (["--quasi", "age,nope"], "--quasi names 'nope', which is not a column"),
        (["--skip", "everything"], "unknown evaluation part"),
        (["--privacy-report", "/nonexistent.json"], "/nonexistent.json: no such file"),
    ],
)
def test_evaluate_bad_options(files, capsys, extra, message):
    code = main(["evaluate", str(files["train"]), str(files["independent"]), *FAST, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluate_missing_file(files, capsys):
    assert main(["evaluate", str(files["train"]), "/no/such.csv", *FAST]) == 2
    assert "no such file" in capsys.readouterr().err


def test_privacy_report_is_copied(files, tmp_path, capsys):
    side = tmp_path / "synth.json"
    side.write_text(json.dumps({"privacy": {"epsilon": 1.0, "delta": 1e-6}}))
    code = main(
        [
            "evaluate",
            str(files["train"]),
            str(files["independent"]),
            "--privacy-report",
            str(side),
            "--skip",
            "anonymeter,quality,tstr,dcr,membership",
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["privacy"] == {"epsilon": 1.0, "delta": 1e-6}


def test_compare_small_study(files, tmp_path, capsys, check_self_contained):
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        """
[study]
name = "tiny"
target = "income-per-year"
quasi = ["age", "sex", "race"]
sensitive = ["income-per-year"]
schema = "adult"
frontier = [["mia_auc", "utility_2way"]]

[evaluate]
skip = ["anonymeter", "quality"]
tstr_rows = 500

[[release]]
method = "copy"

[[release]]
method = "kanonymity"
k = [5, 20]

[[release]]
method = "synth"
synthesizer = "mst"
epsilon = 1.0
params = {iters = 200}

[[release]]
method = "synth"
synthesizer = "no-such-method"
epsilon = 1.0
"""
    )
    report, figures = tmp_path / "f.html", tmp_path / "f.json"
    code = main(
        [
            "compare",
            str(files["train"]),
            "--recipe",
            str(recipe),
            "--report",
            str(report),
            "--json-out",
            str(figures),
            "--seed",
            "1",
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(figures.read_text())
    labels = [r["label"] for r in data["summary"]]
    assert labels == ["copy of train", "k-anonymity k=5", "k-anonymity k=20", "mst eps=1"]
    mst = data["summary"][3]
    assert mst["epsilon"] == 1.0 and mst["baseline"] is False and mst["k"] is None
    assert data["releases"]["mst eps=1"]["evaluation"]["privacy"]["epsilon"] == 1.0
    assert data["failures"][0]["label"].startswith("no-such-method")
    assert "unknown synthesis method" in data["failures"][0]["error"]
    copy = data["summary"][0]
    assert copy["baseline"] is True and copy["mia_auc"] > 0.9
    assert data["summary"][1]["k"] >= 5 and data["summary"][2]["k"] >= 20
    assert "copy of train" in data["frontiers"][0]["on_frontier"]
    check_self_contained(report.read_text())
    assert "failed: no-such-method" in captured.out


def test_compare_bad_recipe(files, tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text('[[release]]\nmethod = "magic"\n')
    assert main(["compare", str(files["train"]), "--recipe", str(recipe)]) == 2
    assert "unknown method 'magic'" in capsys.readouterr().err
    recipe.write_text('[study]\nquasi = ["nope"]\n[[release]]\nmethod = "copy"\n')
    assert main(["compare", str(files["train"]), "--recipe", str(recipe), "--quiet"]) == 2
    assert "column 'nope'" in capsys.readouterr().err


def test_default_recipe_parses():
    from anonlab.evaluation.study import Recipe, default_recipe_path

    r = Recipe.read(default_recipe_path())
    assert r.schema == "adult" and len(r.releases) == 8
    assert {s.method for s in r.releases} == {"copy", "kanonymity", "synth"}


def test_console_script_help_is_fast():
    exe = Path(sys.executable).parent / "anonlab"
    for cmd in ("evaluate", "compare"):
        res = subprocess.run([str(exe), cmd, "--help"], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and "--seed" in res.stdout
    # the CLI modules import nothing heavy at load time
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, anonlab.cli.evaluate, anonlab.cli.compare; "
            "print(any(m in sys.modules for m in ('sklearn', 'pandas', 'numpy', 'anonymeter', 'matplotlib')))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.stdout.strip() == "False"


def test_synth_sidecar_is_read_by_default(files, tmp_path, capsys):
    import shutil

    rel = tmp_path / "synth.csv"
    shutil.copy(files["independent"], rel)
    (tmp_path / "synth.csv.json").write_text(
        json.dumps({"tool": "anonlab synth", "privacy": {"epsilon": 2.0, "delta": 1e-9, "rho": 0.1}})
    )
    code = main(
        [
            "evaluate",
            str(files["train"]),
            str(rel),
            "--skip",
            "anonymeter,quality,tstr,dcr,membership",
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["privacy"]["epsilon"] == 2.0
    (tmp_path / "synth.csv.json").write_text(json.dumps({"privacy": "no formal privacy guarantee"}))
    code = main(
        [
            "evaluate",
            str(files["train"]),
            str(rel),
            "--skip",
            "anonymeter,quality,tstr,dcr,membership",
            "--quiet",
            "--json",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["privacy"] is None


@pytest.mark.slow
def test_default_study_on_adult_sample(adult):
    """The default recipe end to end (every method, every metric) on a 4,000-row sample of Adult."""
    from dataclasses import replace

    from anonlab.evaluation.report import study_html
    from anonlab.evaluation.study import Recipe, default_recipe_path, run_study

    recipe = replace(Recipe.read(default_recipe_path()), rows=4000)
    study = run_study(adult, recipe, seed=0)
    assert not study.failures, study.failures
    rows = {r["label"]: r for r in study.rows()}
    assert rows["copy of train"]["mia_auc"] > 0.95
    assert all(rows[f"mst eps={e}"]["mia_auc"] < 0.6 for e in ("0.3", "1", "4"))
    assert rows["k-anonymity k=25, l=2"]["k"] >= 25
    assert study_html(study).count("data:image/png;base64,") >= 3 + 5 * len(rows)


def test_compare_with_the_adult_schema_on_a_subset_of_its_columns(files, tmp_path, capsys):
    # a schema with extra columns serves a table holding a subset of them, in compare as in synth
    import pandas as pd

    small = tmp_path / "small.csv"
    pd.read_csv(files["train"])[["age", "sex", "race", "income-per-year"]].to_csv(small, index=False)
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[study]\nname = "subset"\ntarget = "income-per-year"\nquasi = ["age", "sex", "race"]\n'
        'schema = "adult"\n\n[evaluate]\nskip = ["anonymeter", "quality"]\ntstr_rows = 300\n\n'
        '[[release]]\nmethod = "kanonymity"\nk = [5]\n'
    )
    figures = tmp_path / "f.json"
    code = main(
        ["compare", str(small), "--recipe", str(recipe), "--json-out", str(figures), "--seed", "1", "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
    assert [r["label"] for r in json.loads(figures.read_text())["summary"]] == ["k-anonymity k=5"]


def test_a_release_needing_a_missing_extra_is_skipped_not_failed(files, tmp_path, capsys, monkeypatch):
    # on an install without the sdv extra the default study's GaussianCopula is left out, and says why
    import anonlab.evaluation.study as study
    from anonlab.errors import MissingExtraError

    real = study._release

    def release(spec, *a, **k):
        if spec.label.startswith("k-anonymity"):
            raise MissingExtraError("sdv", "sdv", "synthesis method 'gaussian-copula'")
        return real(spec, *a, **k)

    monkeypatch.setattr(study, "_release", release)
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[study]\nname = "x"\ntarget = "income-per-year"\nquasi = ["age", "sex", "race"]\nschema = "adult"\n\n'
        '[evaluate]\nskip = ["anonymeter", "quality"]\ntstr_rows = 300\n\n[[release]]\nmethod = "copy"\n\n'
        '[[release]]\nmethod = "kanonymity"\nk = [5]\n'
    )
    figures = tmp_path / "f.json"
    assert (
        main(
            [
                "compare",
                str(files["train"]),
                "--recipe",
                str(recipe),
                "--json-out",
                str(figures),
                "--seed",
                "1",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "k-anonymity k=5: skipped: " in err and "FAILED" not in err and "anonlab[sdv]" in err
    assert json.loads(figures.read_text())["failures"][0]["error"].startswith("skipped: ")
