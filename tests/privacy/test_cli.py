"""`anonlab budget` and `anonlab dp stats` end to end: outputs, exit codes, one-line errors, ledger untouched."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from anonlab.cli import main
from anonlab.privacy.ledger import Ledger

ANONLAB = Path(sys.executable).with_name("anonlab")


def _init(tmp_path, *extra, name="led.jsonl"):
    led = tmp_path / name
    assert main(["budget", "init", str(led), "--epsilon", "2", "--delta", "1e-6", *extra]) == 0
    return led


def _stats(path, schema, led, *extra):
    return main(["dp", "stats", str(path), "--schema", str(schema), "--ledger", str(led), *extra])


def test_budget_init_and_show(tmp_path, capsys):
    led = _init(tmp_path)
    capsys.readouterr()
    assert main(["budget", "show", str(led), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["total"] == {"measure": "approx", "epsilon": 2.0, "delta": 1e-6}
    assert info["accounting"] == "zcdp" and info["releases"] == []
    assert main(["budget", "show", str(led)]) == 0
    assert "left" in capsys.readouterr().out


def test_budget_init_refuses_overwrite_and_bad_values(tmp_path, capsys):
    led = _init(tmp_path)
    before = led.read_bytes()
    assert main(["budget", "init", str(led), "--epsilon", "1"]) == 2
    assert "--force" in capsys.readouterr().err
    for eps, delta in [("0", "0"), ("-1", "0"), ("nan", "0"), ("1", "1"), ("1", "2")]:
        assert main(["budget", "init", str(tmp_path / "x.jsonl"), "--epsilon", eps, "--delta", delta]) == 2
        err = capsys.readouterr().err
        assert err.startswith("anonlab budget: error:") and err.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()
    assert led.read_bytes() == before


def test_dp_stats_end_to_end_json_and_ledger(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path)
    out = tmp_path / "answers.json"
    code = _stats(
        path,
        schema,
        led,
        "--epsilon",
        "1",
        "--delta",
        "1e-7",
        "-q",
        "count",
        "-q",
        "counts:sex,city",
        "-q",
        "mean:income",
        "-q",
        "median:age",
        "-o",
        str(out),
        "--seed",
        "31337",
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "seed" in captured.err  # the seeded-noise warning
    rep = json.loads(out.read_text())
    assert [a["query"] for a in rep["answers"]] == ["count", "counts:sex,city", "mean:income", "median:age"]
    assert len(rep["answers"][1]["rows"]) == 9
    assert rep["privacy"]["noise"]["seeded"] is True and rep["versions"]["opendp"]
    text = out.read_text() + led.read_text()
    assert "31337" not in text  # the seed is never written
    entry = Ledger.open(led).entries[0]
    assert entry.details["noise"]["seeded"] is True and entry.epsilon == 1.0


def test_dp_stats_csv_output_and_seed_reproduces(table, tmp_path):
    _, path, schema = table
    outs = []
    for i in range(2):
        led = _init(tmp_path, name=f"l{i}.jsonl")
        out = tmp_path / f"a{i}.csv"
        assert (
            _stats(
                path,
                schema,
                led,
                "--epsilon",
                "1",
                "--delta",
                "1e-7",
                "-q",
                "counts:sex",
                "-q",
                "sum:age",
                "--seed",
                "7",
                "-o",
                str(out),
            )
            == 0
        )
        outs.append(out.read_text())
    assert outs[0] == outs[1] and outs[0].startswith("query,group,level,value")


def test_overspending_refused_ledger_and_output_untouched(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path)
    before = led.read_bytes()
    out = tmp_path / "o.json"
    assert _stats(path, schema, led, "--epsilon", "5", "--delta", "1e-7", "-q", "count", "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "left" in err and err.count("\n") == 1
    assert led.read_bytes() == before and not out.exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--epsilon", "0", "-q", "count"], "epsilon"),
        (["--epsilon", "-1", "-q", "count"], "epsilon"),
        (["--epsilon", "1", "--delta", "1", "-q", "count"], "delta"),
        (["--epsilon", "1", "-q", "sum:nope"], "nope"),
        (["--epsilon", "1", "-q", "counts:zip"], "from_data"),
        (["--epsilon", "1", "-q", "bogus"], "not understood"),
    ],
)
def test_bad_inputs_exit_2_with_one_line_and_ledger_unchanged(table, tmp_path, capsys, args, needle):
    _, path, schema = table
    led = _init(tmp_path)
    before = led.read_bytes()
    assert _stats(path, schema, led, *args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert led.read_bytes() == before


def test_trust_domains_recorded(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path)
    assert (
        _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", "-q", "counts:zip", "--trust-domains")
        == 0
    )
    assert "trusted" in capsys.readouterr().err
    assert Ledger.open(led).entries[0].details["trusted_domains"] == ["zip"]


def test_corrupt_and_foreign_ledgers(table, tmp_path, capsys):
    _, path, schema = table
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "something else"}\n')
    assert _stats(path, schema, bad, "--epsilon", "1", "-q", "count") == 2
    assert "not an anonlab ledger" in capsys.readouterr().err
    other = tmp_path / "other.csv"
    other.write_text("age,sex,city,income,zip,note\n30,F,Oslo,100,0150,x\n")
    led = _init(tmp_path, "--dataset", str(other))
    capsys.readouterr()
    # a ledger belongs to a population: a table of other content is charged to the same budget, with a warning
    assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", "-q", "count", "--json") == 0
    captured = capsys.readouterr()
    assert "content differs" in captured.err and "warning" in captured.err
    assert len(Ledger.open(led).entries) == 1
    assert "dataset" not in captured.out  # the fingerprint stays inside the ledger file


def test_dp_stats_on_a_replace_one_ledger_is_charged_as_a_group_of_two(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path, "--neighbours", "replace-one", "--population-size", "400")
    capsys.readouterr()
    assert _stats(path, schema, led, "--epsilon", "0.1", "--delta", "0", "-q", "count", "--json") == 0
    rep = json.loads(capsys.readouterr().out)
    entry = Ledger.open(led).entries[0]
    assert entry.neighbours == "add/remove" and entry.epsilon == pytest.approx(0.1)
    assert entry.charged_cost.epsilon == pytest.approx(0.2) and entry.charged_cost.rho == pytest.approx(
        4 * 0.1**2 / 2
    )
    assert rep["privacy"]["epsilon"] == pytest.approx(0.1) and rep["ledger"]["neighbours"] == "replace-one"
    assert rep["ledger"]["charged"]["epsilon"] == pytest.approx(0.2)


def test_console_script_help_is_light():
    code = (
        "import sys, argparse, anonlab.cli.budget as b, anonlab.cli.dp as d; "
        "sub = argparse.ArgumentParser().add_subparsers(); b.add_parser(sub); d.add_parser(sub); "
        "heavy = [m for m in ('opendp', 'numpy', 'pandas', 'scipy', 'anonlab.privacy') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    r = subprocess.run([str(ANONLAB), "dp", "stats", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--trust-domains" in r.stdout and "--seed" in r.stdout


def test_dry_run_spends_nothing_and_predicts_the_scales(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path)
    before = led.read_bytes()
    q = ["-q", "count", "-q", "sum:age", "-q", "mean:income"]
    capsys.readouterr()
    assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", *q, "--dry-run", "--json") == 0
    preview = json.loads(capsys.readouterr().out)
    assert led.read_bytes() == before
    assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", *q, "--json") == 0
    real = json.loads(capsys.readouterr().out)
    assert [n["scale"] for n in preview["noise"]] == pytest.approx([a["scale"] for a in real["answers"]])
    # a dry run that would not fit is refused like the real thing
    assert _stats(path, schema, led, "--epsilon", "5", "--delta", "1e-7", "-q", "count", "--dry-run") == 2


_NUMBER = r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?"


# -- issue 11: the ledger is required, artifacts hold public parameters and DP outputs only ---------------------


def test_dp_stats_refuses_without_ledger_unless_no_ledger(table, tmp_path, capsys):
    _, path, schema = table
    base = ["dp", "stats", str(path), "--schema", str(schema), "--epsilon", "1", "-q", "count"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "--ledger" in err and "--no-ledger" in err and err.count("\n") == 1
    led = _init(tmp_path)
    capsys.readouterr()
    assert main([*base, "--ledger", str(led), "--no-ledger"]) == 2
    assert "not both" in capsys.readouterr().err
    out = tmp_path / "o.json"
    assert main([*base, "--no-ledger", "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["privacy"]["ledger"] == "no ledger"
    assert json.loads(out.read_text())["privacy"]["ledger"] == "no ledger"
    assert "warning" in captured.err and "no ledger" in captured.err
    assert main([*base, "--no-ledger"]) == 0
    assert "no ledger" in capsys.readouterr().out
    assert main([*base, "--no-ledger", "--dry-run"]) == 0
    assert "no ledger" in capsys.readouterr().out


_QUERIES = [
    "count",
    "counts:sex,city",
    "sum:income",
    "sum:age",
    "mean:income",
    "median:age",
    "quantile:income:0.9",
]


def _neighbours(table, tmp_path, out_of_domain):
    """D in a/people.csv and D' (one record more; out of every public domain in the variant) in b/people.csv."""
    df, _, schema = table
    extra = (
        "150,Q,,9999999999,9999,x\n" if out_of_domain else "40,F,Oslo,50000.5,0150,x\n"
    )  # age,sex,city,income,zip,note
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "schema.toml").write_text(schema.read_text())
        df.to_csv(tmp_path / name / "people.csv", index=False)
    with open(tmp_path / "b" / "people.csv", "a") as f:
        f.write(extra)


@pytest.mark.parametrize("out_of_domain", [False, True])
def test_dp_stats_neighbouring_datasets_artifacts_differ_only_in_dp_outputs(
    table, tmp_path, capsys, monkeypatch, out_of_domain
):
    """From the CLI: D and D' with the same secret seed. The -o JSON, the CSV, --json and the printed summary
    differ only in DP outputs; none holds the seed, the table's fingerprint or an exact count."""
    from anonlab.io import read_table
    from anonlab.privacy.artifact import leaf_paths
    from anonlab.privacy.ledger import dataset_fingerprint
    from anonlab.privacy.stats import STATS_ALLOW

    seed = "90210777123"
    _neighbours(table, tmp_path, out_of_domain)
    got = {}
    for name in ("a", "b"):
        monkeypatch.chdir(tmp_path / name)
        qs = [x for q in _QUERIES for x in ("-q", q)]
        common = [
            "people.csv",
            "--schema",
            "schema.toml",
            "--epsilon",
            "2",
            "--delta",
            "1e-6",
            *qs,
            "--seed",
            seed,
        ]
        assert main(["budget", "init", "led.jsonl", "--epsilon", "9", "--delta", "1e-5"]) == 0
        capsys.readouterr()
        assert main(["dp", "stats", *common, "--ledger", "led.jsonl", "-o", "out.json", "--json"]) == 0
        as_json = capsys.readouterr().out
        assert main(["dp", "stats", *common, "--ledger", "led.jsonl", "-o", "out.csv"]) == 0
        printed = capsys.readouterr().out
        got[name] = {
            "json": json.loads(as_json),
            "file": json.loads(Path("out.json").read_text()),
            "csv": Path("out.csv").read_text(),
            "printed": printed,
            "fingerprint": dataset_fingerprint(read_table("people.csv")),
        }
        texts = as_json + Path("out.json").read_text() + got[name]["csv"] + printed
        assert seed not in texts
        assert got[name]["fingerprint"] not in texts and "dataset" not in texts
    a, b = got["a"], got["b"]
    assert a["fingerprint"] != b["fingerprint"]
    for kind in ("json", "file"):
        la, lb = dict(leaf_paths(a[kind])), dict(leaf_paths(b[kind]))
        assert la.keys() == lb.keys()
        dp = set(STATS_ALLOW.dp_outputs(a[kind]))
        assert {p for p in la if p not in dp and la[p] != lb[p]} == set(), kind
    # the CSV: every column but the DP outputs (value, interval) is identical
    import io

    import pandas as pd

    ca, cb = (pd.read_csv(io.StringIO(x["csv"]), dtype=str) for x in (a, b))
    public = ["query", "group", "level", "rank_error95", "mechanism", "scale"]
    assert ca[public].fillna("").equals(cb[public].fillna(""))
    # the summary: header lines identical, each value line identical but for its numbers (the DP outputs)
    pa, pb = a["printed"].splitlines(), b["printed"].splitlines()
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb, strict=True):
        if not x.startswith("  "):
            assert x == y
        else:
            assert re.sub(_NUMBER, "#", x) == re.sub(_NUMBER, "#", y)
    assert a["json"]["answers"] != b["json"]["answers"]  # the DP outputs did see the data


def test_dp_stats_refusal_on_content_names_the_column_only(table, tmp_path, capsys):
    df, _, schema = table
    bad = df.astype({"age": object})
    bad.loc[7, "age"] = "Ninety-One"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    led = _init(tmp_path)
    before = led.read_bytes()
    assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", "-q", "mean:age") == 2
    err = capsys.readouterr().err
    assert "'age'" in err and "Ninety" not in err and "row 8" not in err and err.count("\n") == 1
    assert led.read_bytes() == before


def test_dp_stats_accepts_the_bundled_adult_schema_on_a_subset(tmp_path, capsys):
    from anonlab.datasets import load_adult

    path = tmp_path / "small.csv"
    load_adult().head(500)[["age", "sex", "race", "hours-per-week"]].to_csv(path, index=False)
    led = _init(tmp_path)
    q = ["-q", "counts:sex,race", "-q", "mean:age", "-q", "median:hours-per-week"]
    capsys.readouterr()
    args = [
        "dp",
        "stats",
        str(path),
        "--schema",
        "adult",
        "--ledger",
        str(led),
        "--epsilon",
        "1",
        "--delta",
        "1e-7",
    ]
    assert main([*args, *q, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["parameters"]["schema"] == "adult" and len(rep["answers"][0]["rows"]) == 2 * 5
    assert rep["privacy"]["trusted_domains"] == []
    assert main([*args, *q, "--dry-run"]) == 0


def test_bad_query_kind_through_the_cli_spends_nothing(table, tmp_path, capsys):
    _, path, schema = table
    led = _init(tmp_path)
    before = led.read_bytes()
    for q in ("sums:income", "quantile:age:0", "quantile:age:0.5,0.5", "counts:"):
        assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", "-q", q) == 2
        err = capsys.readouterr().err
        assert err.startswith("anonlab dp: error:") and err.count("\n") == 1
    assert led.read_bytes() == before


def test_dp_stats_counts_over_a_code_column_keep_leading_zeros(tmp_path, capsys):
    path = tmp_path / "zips.csv"
    path.write_text("zip\n" + "02140\n" * 30 + "10001\n" * 10)
    schema = tmp_path / "zips.toml"
    schema.write_text('[columns.zip]\ntype = "code"\ncategories = ["02140", "10001", "99999"]\n')
    args = ["dp", "stats", str(path), "--schema", str(schema), "--no-ledger", "--epsilon", "1000", "--json"]
    assert main([*args, "-q", "counts:zip"]) == 0
    rows = json.loads(capsys.readouterr().out)["answers"][0]["rows"]
    got = {r["group"]["zip"]: r["value"] for r in rows}
    assert got.keys() == {"02140", "10001", "99999"}
    assert abs(got["02140"] - 30) <= 2 and abs(got["10001"] - 10) <= 2 and abs(got["99999"]) <= 2


def test_library_messages_reach_the_user_as_flags(table, tmp_path, capsys):
    # the library says trust_domains=True and epsilon=; the command line shows --trust-domains and --epsilon
    _, path, schema = table
    led = _init(tmp_path)
    assert _stats(path, schema, led, "--epsilon", "1", "-q", "counts:zip") == 2
    err = capsys.readouterr().err
    assert "--trust-domains" in err and "trust_domains=" not in err
    assert _stats(path, schema, led, "--epsilon", "-1", "-q", "count") == 2
    err = capsys.readouterr().err
    assert "--epsilon" in err and "epsilon=" not in err and err.count("\n") == 1
