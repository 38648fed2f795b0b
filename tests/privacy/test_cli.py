"""`anonlab budget` and `anonlab dp stats` end to end: outputs, exit codes, one-line errors, ledger untouched."""

import json
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
    before = led.read_bytes()
    assert _stats(path, schema, led, "--epsilon", "1", "--delta", "1e-7", "-q", "count") == 2
    assert "another dataset" in capsys.readouterr().err
    assert led.read_bytes() == before


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
