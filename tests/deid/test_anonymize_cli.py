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
    assert "seed" not in r and r["parameters"]["k"] == 5 and "versions" in r
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
        (["--quasi", "age,nope", "--k", "5"], "--quasi names column 'nope'"),
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


ADULT8 = ["age", "workclass", "education", "marital-status", "occupation", "race", "sex", "native-country"]


def test_schema_roles_and_mapping_warning(cli, adult_csv, tmp_path):
    """--schema adult gives the quasi-identifiers and the sensitive column; education-num left in clear beside
    education is named on stderr (one line) and in the report."""
    out, rep = tmp_path / "out.csv", tmp_path / "r.json"
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", out, "--schema", "adult", "--k", "10", "--method", "global",
        "--report", rep,
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(rep.read_text())
    assert list(r["generalisation"]) == ADULT8 and list(r["achieved"]["per_sensitive"]) == ["income-per-year"]
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("anonlab anonymize: warning:")
    assert (
        "'education-num'" in lines[0] and "'education'" in lines[0] and "to the quasi-identifiers" in lines[0]
    )
    assert r["warnings"] == [lines[0].split("warning: ", 1)[1]]
    assert pa.k_anonymity(pd.read_csv(out, dtype=str), ADULT8) >= 10
    # categories keep information: not every one is flattened to *
    df = pd.read_csv(out, dtype=str)
    assert sum(df[c].nunique() > 1 for c in ADULT8[1:]) >= 4
    # with education-num a quasi-identifier there is nothing to warn about; --quasi overrides the schema
    code, _, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "o2.csv", "--schema", "adult", "--k", "10",
        "--quasi", "age,education,education-num,sex",
    )  # fmt: skip
    assert code == 0 and err == "", err


def test_mapping_warnings_library():
    from anonlab.deid.encoded_table import mapping_warnings

    n = 60
    df = pd.DataFrame(
        {
            "zip": [f"021{i % 6:02d}" for i in range(n)],
            "state": ["MA"] * 30 + ["NY"] * 30,  # not a function of zip here (zips repeat across halves)
            "region": [f"R{(i % 6) // 3}" for i in range(n)],  # a function of zip (many to one)
            "code": [f"Z{i % 6}" for i in range(n)],  # one-to-one with zip
            "const": ["x"] * n,
            "rowid": [str(i) for i in range(n)],  # near-unique: identifier-like, not reported here
        }
    )
    notes = mapping_warnings(df, ["zip"])
    assert len(notes) == 2
    assert "'region' is a function of quasi-identifier 'zip'" in notes[0]
    assert "'code' is a one-to-one recoding of quasi-identifier 'zip'" in notes[1]
    assert mapping_warnings(df, ["zip", "code", "region"]) == []


def test_codes_written_back_exactly(cli, tmp_path):
    """ZIP codes and IDs are text: leading zeros survive in the generalised quasi-identifier and in the columns
    passed through."""
    src = tmp_path / "codes.csv"
    zips = ["02140", "02141", "02142", "02139", "10001", "10002", "10003", "10004"]
    ids = ["00017", "00018", "00019", "00020", "00021", "00022", "00023", "00024"]
    rows = [f"{z},{i},{30 + j}" for j, (z, i) in enumerate(zip(zips, ids, strict=True))]
    src.write_text("zip,patient,age\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out.csv"
    code, stdout, err = cli(
        "anonymize", src, "-o", out, "--quasi", "zip", "--k", "4", "--method", "global", "--json"
    )
    assert code == 0, err
    assert json.loads(stdout)["generalisation"]["zip"]["kind"] == "masking"
    lines = out.read_text().splitlines()
    assert lines[1].split(",")[:2] == ["021**", "00017"] and lines[5].split(",")[:2] == ["100**", "00021"]
    out2 = tmp_path / "m.csv"
    code, _, err = cli("anonymize", src, "-o", out2, "--quasi", "zip", "--k", "4")
    assert code == 0, err
    text = out2.read_text()
    assert "02140" in text and "00017" in text and ",17," not in text


def test_order_option(cli, adult_csv, tmp_path):
    order = "Preschool,1st-4th,5th-6th,7th-8th,9th,10th,11th,12th,HS-grad,Some-college,Assoc-voc,Assoc-acdm,"
    order += "Bachelors,Masters,Prof-school,Doctorate"
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "o.csv", "--quasi", "education,sex,race", "--k", "20",
        "--method", "global", "--order", f"education={order}", "--json",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(stdout)
    assert r["generalisation"]["education"]["kind"] == "ordered"
    assert r["parameters"]["orders"]["education"][0] == "Preschool"
    code, _, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "o2.csv", "--quasi", "education", "--k", "5",
        "--method", "global", "--order", "education=HS-grad,Bachelors",
    )  # fmt: skip
    assert code == 2 and "not among the categories" in err and err.count("\n") == 1


def test_recipe_orders_and_schema_defaults(cli, adult_csv, tmp_path):
    from anonlab.deid.recipe import AnonymizeConfig
    from anonlab.errors import UsageError

    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[anonymize]\nk = 10\nmethod = "global"\n'
        '[anonymize.orders]\nrace = ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"]\n'
    )
    # the recipe names no quasi: the schema's roles fill them (and race is one of them)
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "o.csv", "--recipe", recipe, "--schema", "adult", "--json"
    )
    assert code == 0, err
    r = json.loads(stdout)
    assert list(r["generalisation"]) == ADULT8 and r["generalisation"]["race"]["kind"] == "ordered"
    with pytest.raises(UsageError, match="not a quasi-identifier"):
        AnonymizeConfig(quasi=["age"], k=2, orders={"race": ["a", "b"]})
    code, _, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "x.csv", "--schema", "/no/such.toml", "--k", "5"
    )
    assert code == 2 and "no such schema" in err and err.count("\n") == 1


def test_order_with_mondrian_is_applied_and_method_options_checked(cli, adult_csv, tmp_path):
    order = (
        "Never-married,Married-civ-spouse,Married-AF-spouse,Married-spouse-absent,Separated,Divorced,Widowed"
    )
    out = tmp_path / "o.csv"
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", out, "--quasi", "marital-status", "--k", "200",
        "--order", f"marital-status={order}", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["parameters"]["orders"]["marital-status"] == order.split(",")
    values = order.split(",")
    for label in set(pd.read_csv(out)["marital-status"]):
        pos = sorted(values.index(m) for m in label.strip("{}").split(","))
        assert pos == list(range(pos[0], pos[0] + len(pos))), label
    code, _, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "x.csv", "--quasi", "age", "--k", "5", "--method", "global",
        "--strict",
    )  # fmt: skip
    assert code == 2 and "--strict" in err and "global" in err and err.count("\n") == 1
