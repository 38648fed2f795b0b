"""`anonlab synth` and `anonlab synth sample`, in-process and through the real console script."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.privacy.ledger import Ledger

from .conftest import planted_frame, planted_schema

NEEDS_SDV = pytest.mark.skipif(
    importlib.util.find_spec("sdv") is None, reason="the sdv extra (SDV, torch's CPU build) is not installed"
)


SEED = "739182645"  # a seed that cannot occur by chance in an artifact
CHARGED = ["--method", "mst", "--epsilon", "1", "--seed", SEED, "--quiet"]
FAST = [*CHARGED, "--no-ledger"]


@pytest.fixture
def files(tmp_path):
    data = tmp_path / "in.csv"
    planted_frame(800).to_csv(data, index=False)
    schema = tmp_path / "schema.toml"
    planted_schema().write(schema)
    return tmp_path, data, schema


def test_fit_writes_table_sidecar_and_model_then_sample_draws_more(files, capsys):
    tmp, data, schema = files
    before = data.read_bytes()
    out, model = tmp / "twin.csv", tmp / "twin.model"
    assert (
        main(["synth", str(data), "-o", str(out), "--schema", str(schema), "--save-model", str(model), *FAST])
        == 0
    )
    assert data.read_bytes() == before  # input untouched
    syn = pd.read_csv(out)
    assert list(syn.columns) == list(planted_frame(5).columns)
    text = Path(str(out) + ".json").read_text()
    car = json.loads(text)
    assert car["method"] == "mst" and car["epsilon"] == 1.0 and car["delta"] == 1e-9 and car["rho"] > 0
    assert len(car["schema_sha256"]) == 64 and car["versions"]["anonlab"]
    # the seed is never written: only whether there was one (issue 11 item 1)
    assert (
        "seed" not in car and SEED not in text and car["seeded"] is True and car["privacy"]["seeded"] is True
    )
    assert "seed" in " ".join(car["warnings"]) and "seconds" not in car
    assert car["ledger"] == "none" and "no ledger" in car["statement"]
    assert car["rows"] == len(syn) and "DP estimate" in car["rows_from"]
    printed = capsys.readouterr()
    assert "privacy: epsilon=1" in printed.out and "no ledger" in printed.out
    assert SEED not in printed.out + printed.err
    assert SEED not in str(__import__("zipfile").ZipFile(model).read("manifest.json"))
    more = tmp / "more.parquet"
    assert (
        main(["synth", "sample", str(model), "-o", str(more), "--rows", "50", "--seed", SEED, "--json"]) == 0
    )
    printed = capsys.readouterr()
    res = json.loads(printed.out)
    assert res["rows"] == 50 and pd.read_parquet(more).shape == (50, 6)
    more_text = Path(str(more) + ".json").read_text()
    assert "no further privacy budget" in json.loads(more_text)["note"]
    assert SEED not in printed.out + printed.err + more_text and "seed" not in json.loads(more_text)


def test_outputs_are_not_overwritten_without_force(files, capsys):
    tmp, data, schema = files
    out = tmp / "o.csv"
    out.write_text("keep")
    assert main(["synth", str(data), "-o", str(out), "--schema", str(schema), *FAST]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep"
    assert main(["synth", str(data), "-o", str(out), "--schema", str(schema), "--force", *FAST]) == 0


def test_ledger_is_charged_and_refuses_past_its_total(files, capsys):
    tmp, data, schema = files
    led = tmp / "l.jsonl"
    Ledger.create(led, epsilon=1.2, delta=1e-9)
    args = ["synth", str(data), "--schema", str(schema), "--ledger", str(led), *CHARGED]
    assert main([*args, "-o", str(tmp / "a.csv"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ledger"] == str(led) and "charged to the privacy ledger" in res["statement"]
    assert "seed" not in res and "seconds" not in res and res["seeded"] is True
    assert json.loads((tmp / "a.csv.json").read_text())["ledger"] == str(led)
    assert main([*args, "-o", str(tmp / "b.csv")]) == 2
    assert "refused" in capsys.readouterr().err
    assert not (tmp / "b.csv").exists() and len(Ledger.open(led).entries) == 1


def test_a_dp_method_needs_a_ledger_or_an_explicit_no_ledger(files, capsys):
    tmp, data, schema = files
    args = ["synth", str(data), "-o", str(tmp / "a.csv"), "--schema", str(schema), *CHARGED]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "give --ledger" in err and "--no-ledger" in err and err.count("\n") == 1
    assert not (tmp / "a.csv").exists()
    assert main([*args, "--no-ledger", "--ledger", str(tmp / "l.jsonl")]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main([*args, "--no-ledger"]) == 0
    assert json.loads((tmp / "a.csv.json").read_text())["ledger"] == "none"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "mst", "--no-ledger"], "give --epsilon"),
        (["--method", "gaussian-copula", "--epsilon", "1"], "no formal privacy guarantee"),
        (["--method", "mst", "--epsilon", "1", "--no-ledger", "--schema", "missing.toml"], "no such schema"),
        (["--method", "mst", "--epsilon", "1", "--no-ledger", "--schema", "bad.toml"], "not valid TOML"),
        (["--method", "mst", "--epsilon", "1", "--no-ledger", "--domains", "refuse"], None),
        (["--method", "mst", "--epsilon", "1"], "give --ledger"),
        (["--method", "gaussian-copula", "--no-ledger"], "--no-ledger applies to DP methods"),
        (
            ["--method", "mst", "--epsilon", "1", "--epochs", "3"],
            "--epochs applies to dpvi and ctgan, not to",
        ),
        (["--method", "aim", "--epsilon", "1", "--tree-depth", "4"], "--tree-depth applies to napsu"),
        (
            ["--method", "napsu", "--epsilon", "1", "--learning-rate", "0.1"],
            "--learning-rate applies to dpvi",
        ),
        pytest.param(
            ["--method", "ctgan", "--batch-size", "64"],
            "batch size must be a multiple of 10",
            marks=NEEDS_SDV,
        ),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(files, capsys, monkeypatch, extra, message):
    tmp, data, schema = files
    monkeypatch.chdir(tmp)
    (tmp / "bad.toml").write_text("[columns.a\n")
    if message is None:  # no schema: inferred domains, refused by a DP method with --domains refuse
        assert main(["synth", str(data), "-o", "x.csv", "--seed", "1", *extra]) == 2
        message = "--trust-domains"
    else:
        assert main(["synth", str(data), "-o", "x.csv", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_sample_refuses_fit_options_and_stray_arguments(files, capsys):
    tmp, data, _ = files
    assert main(["synth", "sample", "m.model", "-o", str(tmp / "x.csv"), "--epsilon", "1"]) == 2
    assert "--epsilon does not apply to `synth sample`" in capsys.readouterr().err
    for flag in ("--no-ledger", "--diagnostics"):
        assert main(["synth", "sample", "m.model", "-o", str(tmp / "x.csv"), flag]) == 2
        assert f"{flag} does not apply to `synth sample`" in capsys.readouterr().err
    assert main(["synth", str(data), "extra", "-o", str(tmp / "x.csv")]) == 2
    assert main(["synth", "sample", str(tmp / "none.model"), "-o", str(tmp / "x.csv")]) == 2
    assert "no such model" in capsys.readouterr().err


def test_bundled_adult_schema_is_public_and_matched_by_columns(tmp_path):
    from anonlab.datasets import load_adult
    from anonlab.synth.release import _resolve_schema, adult_schema

    s = adult_schema()
    assert all(c.public_domain for c in s) and len(s) == 15
    df = load_adult().head(50)
    resolved, source = _resolve_schema(df, None, "x")
    assert resolved == s and "adult" in source


def test_console_script_help_explains_both_forms():
    exe = Path(sys.executable).with_name("anonlab")
    out = subprocess.run([str(exe), "synth", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "anonlab synth sample MODEL" in out.stdout and "no formal privacy" in out.stdout.lower()
    assert "--no-ledger" in out.stdout and "--diagnostics" in out.stdout and "NOT private" in out.stdout
    assert "Recorded in reports" not in out.stdout and "never written" in " ".join(out.stdout.split())


def test_dpvi_options_reach_the_fit_and_its_sidecar(files):
    tmp, data, schema = files
    out = tmp / "twin.csv"
    args = ["synth", str(data), "-o", str(out), "--schema", str(schema), "--method", "dpvi"]
    args += ["--epsilon", "1", "--delta", "1e-6", "--seed", "2", "--quiet", "--no-ledger"]
    args += ["--epochs", "1", "--batch-size", "100", "--learning-rate", "0.1", "--components", "2"]
    assert main(args) == 0
    car = json.loads(Path(str(out) + ".json").read_text())
    assert car["params"]["epochs"] == 1 and car["params"]["batch_size"] == 100
    assert car["params"]["learning_rate"] == 0.1 and car["params"]["k"] == 2
    # the training loss and run time are not released (issue 11 item 4)
    assert "final_elbo_per_row" not in car["privacy"]["details"] and "seconds" not in car


def test_point_masses_are_paid_for_by_default_and_can_be_turned_off(files):
    tmp, data, schema = files
    cars = {}
    for flag in ([], ["--no-point-masses"]):
        out = tmp / f"twin{len(flag)}.csv"
        args = [
            "synth",
            str(data),
            "-o",
            str(out),
            "--schema",
            str(schema),
            *FAST,
            "--binning",
            "public",
            *flag,
        ]
        assert main(args) == 0
        cars[bool(flag)] = json.loads(Path(str(out) + ".json").read_text())
    parts = cars[False]["privacy"]["details"]["budget_parts"]
    assert parts["density"]["rho"] == pytest.approx(
        0.1 * cars[False]["rho"]
    )  # its share of the synthesis rho
    assert "budget_parts" not in cars[True]["privacy"]["details"]
    assert cars[True]["rho"] == pytest.approx(cars[False]["rho"])  # the total is the same either way


def test_a_fit_over_the_limits_is_refused_before_anything_is_charged(files, capsys):
    tmp, data, schema = files
    ledger = tmp / "l.jsonl"
    Ledger.create(ledger, epsilon=2, delta=1e-6)
    before = ledger.read_bytes()
    out = tmp / "twin.csv"
    args = ["synth", str(data), "-o", str(out), "--schema", str(schema), *CHARGED, "--ledger", str(ledger)]
    assert main([*args, "--max-minutes", "0.0001"]) == 2
    err = capsys.readouterr().err
    assert "refused before fitting" in err and "--max-minutes" in err and len(err.strip().splitlines()) == 1
    assert ledger.read_bytes() == before and not out.exists()
    assert main(["synth", "sample", str(out), "-o", str(tmp / "x.csv"), "--max-memory", "9"]) == 2
