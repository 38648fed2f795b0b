"""`anonlab synth` and `anonlab synth sample`, in-process and through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.privacy.ledger import Ledger

from .conftest import planted_frame, planted_schema

FAST = ["--method", "mst", "--epsilon", "1", "--seed", "4", "--no-progress"]


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
    car = json.loads(Path(str(out) + ".json").read_text())
    assert car["method"] == "mst" and car["epsilon"] == 1.0 and car["delta"] == 1e-9 and car["rho"] > 0
    assert car["seed"] == 4 and len(car["schema_sha256"]) == 64 and car["versions"]["anonlab"]
    assert car["privacy"]["seeded"] is True and "seed" in " ".join(car["warnings"])
    assert "privacy: epsilon=1" in capsys.readouterr().out
    more = tmp / "more.parquet"
    assert (
        main(["synth", "sample", str(model), "-o", str(more), "--rows", "50", "--seed", "1", "--json"]) == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["rows"] == 50 and pd.read_parquet(more).shape == (50, 6)
    assert "no further privacy budget" in json.loads(Path(str(more) + ".json").read_text())["note"]


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
    args = ["synth", str(data), "--schema", str(schema), "--ledger", str(led), *FAST]
    assert main([*args, "-o", str(tmp / "a.csv")]) == 0
    assert main([*args, "-o", str(tmp / "b.csv")]) == 2
    assert "refused" in capsys.readouterr().err
    assert not (tmp / "b.csv").exists() and len(Ledger.open(led).entries) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--method", "mst"], "give --epsilon"),
        (["--method", "gaussian-copula", "--epsilon", "1"], "no formal privacy guarantee"),
        (["--method", "mst", "--epsilon", "1", "--schema", "missing.toml"], "no such schema"),
        (["--method", "mst", "--epsilon", "1", "--schema", "bad.toml"], "not valid TOML"),
        (["--method", "mst", "--epsilon", "1"], None),
        (
            ["--method", "mst", "--epsilon", "1", "--epochs", "3"],
            "--epochs applies to dpvi and ctgan, not to",
        ),
        (["--method", "aim", "--epsilon", "1", "--tree-depth", "4"], "--tree-depth applies to napsu"),
        (
            ["--method", "napsu", "--epsilon", "1", "--learning-rate", "0.1"],
            "--learning-rate applies to dpvi",
        ),
        (["--method", "ctgan", "--batch-size", "64"], "batch size must be a multiple of 10"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(files, capsys, monkeypatch, extra, message):
    tmp, data, schema = files
    monkeypatch.chdir(tmp)
    (tmp / "bad.toml").write_text("[columns.a\n")
    if message is None:  # no schema: inferred domains are refused by a DP method
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


def test_dpvi_options_reach_the_fit_and_its_sidecar(files):
    tmp, data, schema = files
    out = tmp / "twin.csv"
    args = ["synth", str(data), "-o", str(out), "--schema", str(schema), "--method", "dpvi"]
    args += ["--epsilon", "1", "--delta", "1e-6", "--seed", "2", "--no-progress"]
    args += ["--epochs", "1", "--batch-size", "100", "--learning-rate", "0.1", "--components", "2"]
    assert main(args) == 0
    car = json.loads(Path(str(out) + ".json").read_text())
    assert car["params"]["epochs"] == 1 and car["params"]["batch_size"] == 100
    assert car["params"]["learning_rate"] == 0.1 and car["params"]["k"] == 2
