"""`anonlab anonymize` from the command line: outputs, report, recipe, errors (one line, exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pycanon.anonymity as pa
import pytest

QUASI = "age,sex,race,marital-status,native-country"


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory, adult):
    p = tmp_path_factory.mktemp("in") / "adult.csv"
    adult.head(5000).to_csv(p, index=False)
    return p


def test_writes_output_and_report(cli, adult_csv, tmp_path):
    out, rep = tmp_path / "out.csv", tmp_path / "report.json"
    code, stdout, err = cli(
        "anonymize",
        adult_csv,
        "-o",
        out,
        "--quasi",
        QUASI,
        "--sensitive",
        "income-per-year",
        "--k",
        "5",
        "--l",
        "2",
        "--report",
        rep,
        "--seed",
        "7",
    )
    assert code == 0, err
    assert "achieved k" in stdout and "GCP" in stdout
    df = pd.read_csv(out)
    original = pd.read_csv(adult_csv)
    assert list(df.columns) == list(original.columns)
    quasi = QUASI.split(",")
    assert pa.k_anonymity(df, quasi) >= 5
    r = json.loads(rep.read_text())
    assert r["achieved"]["k"] >= 5 and r["achieved"]["l_distinct"] >= 2
    assert r["seed"] == 7 and r["parameters"]["k"] == 5 and "versions" in r
    assert set(r["information_loss"]) >= {"gcp", "discernibility", "c_avg", "ncp_per_column"}
    assert set(r["generalisation"]) == set(quasi)


def test_refuses_overwrite_and_json(cli, adult_csv, tmp_path):
    out = tmp_path / "out.csv"
    assert cli("anonymize", adult_csv, "-o", out, "--quasi", QUASI, "--k", "5")[0] == 0
    code, _, err = cli("anonymize", adult_csv, "-o", out, "--quasi", QUASI, "--k", "5")
    assert code == 2 and "exists" in err and err.count("\n") == 1
    code, stdout, _ = cli(
        "anonymize",
        adult_csv,
        "-o",
        out,
        "--quasi",
        QUASI,
        "--k",
        "5",
        "--force",
        "--json",
        "--method",
        "global",
        "--max-suppression",
        "0.02",
        "--suppress-mark",
    )
    assert code == 0
    r = json.loads(stdout)
    assert r["method"] == "global" and r["records"]["released"] + r["records"]["suppressed"] == 5000
    assert len(pd.read_csv(out)) == 5000


def test_recipe(cli, adult_csv, tmp_path):
    h = tmp_path / "race.csv"
    h.write_text("White;W;*\nBlack;N;*\nAsian-Pac-Islander;N;*\nAmer-Indian-Eskimo;N;*\nOther;N;*\n")
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[anonymize]\nquasi = ["age", "sex", "race"]\nk = 8\nmethod = "global"\nmax_suppression = 0.01\n'
        '[anonymize.hierarchies]\nrace = "race.csv"\n'
    )
    out = tmp_path / "o.csv"
    code, stdout, err = cli("anonymize", adult_csv, "-o", out, "--recipe", recipe, "--k", "10", "--json")
    assert code == 0, err
    r = json.loads(stdout)
    assert r["parameters"]["k"] == 10 and r["parameters"]["method"] == "global"
    assert r["generalisation"]["race"]["kind"] == "file"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--quasi", "age,nope", "--k", "5"], "no column named 'nope'"),
        (["--quasi", "age", "--k", "99999"], "larger than the table"),
        (["--quasi", "age", "--k", "5", "--l", "2"], "sensitive"),
        (["--quasi", "age", "--k", "5", "--hierarchy", "age=/no/such.csv"], "no such hierarchy"),
        (["--quasi", "age", "--k", "5", "--recipe", "/no/such.toml"], "no such recipe"),
        (["--k", "5"], "--quasi"),
    ],
)
def test_bad_input_one_line_exit_2(cli, adult_csv, tmp_path, args, message):
    code, _, err = cli("anonymize", adult_csv, "-o", tmp_path / "x.csv", *args)
    assert code == 2
    assert message in err and err.startswith("anonlab anonymize: error:") and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_console_script_starts_fast(adult_csv, tmp_path):
    exe = Path(sys.executable).parent / "anonlab"
    t = time.perf_counter()
    proc = subprocess.run([str(exe), "anonymize", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "--max-suppression" in proc.stdout
    assert time.perf_counter() - t < 5  # well under a second alone; generous for a shared machine
    proc = subprocess.run(
        [
            str(exe),
            "anonymize",
            str(adult_csv),
            "-o",
            str(tmp_path / "o.parquet"),
            "--quasi",
            "age,sex",
            "--k",
            "3",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert pd.read_parquet(tmp_path / "o.parquet").shape == (5000, 15)
