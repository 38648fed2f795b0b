"""`anonlab anonymize --method pram|noise|rankswap`: no --k, parameters by --param, a summary and --json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def adult_csv(tmp_path_factory, adult):
    p = tmp_path_factory.mktemp("in") / "adult.csv"
    adult.head(3000).to_csv(p, index=False)
    return p


def test_pram_without_k_writes_output_matrix_and_no_seed(cli, adult_csv, tmp_path):
    out, rep = tmp_path / "out.csv", tmp_path / "r.json"
    args = ["anonymize", adult_csv, "-o", out, "--method", "pram", "--quasi", "race,sex", "--param", "pd=0.6"]
    code, stdout, err = cli(*args, "--seed", "7", "--report", rep)
    assert code == 0, err
    assert "perturbed 3,000 records with pram" in stdout and "not a guarantee" in stdout
    original, released = pd.read_csv(adult_csv), pd.read_csv(out)
    assert list(released.columns) == list(original.columns) and len(released) == len(original)
    untouched = [c for c in original.columns if c not in ("race", "sex")]
    pd.testing.assert_frame_equal(released[untouched], original[untouched])
    r = json.loads(rep.read_text())
    assert r["parameters"] == {"method": "pram", "quasi": ["race", "sex"], "pd": 0.6, "alpha": 0.5}
    assert "seed" not in json.dumps(r)
    m = r["released_for_analysts"]["pram_transition_matrices"]["race"]
    assert np.allclose(np.asarray(m["matrix"]).sum(axis=1), 1)
    # same seed, same release; the seed never appears on stdout either
    out2 = tmp_path / "out2.csv"
    code, stdout2, _ = cli("anonymize", adult_csv, "-o", out2, *args[4:], "--seed", "7", "--json")
    assert code == 0 and "seed" not in stdout2
    pd.testing.assert_frame_equal(pd.read_csv(out2), released)
    assert (
        json.loads(stdout2)["perturbed"]["race"]["cells_changed"] == r["perturbed"]["race"]["cells_changed"]
    )


@pytest.mark.parametrize("kind", ["additive", "correlated", "correlated2"])
def test_noise_kinds(cli, adult_csv, tmp_path, kind):
    out = tmp_path / "out.csv"
    args = ["anonymize", adult_csv, "-o", out, "--method", "noise", "--quasi", "age,hours-per-week"]
    code, stdout, err = cli(*args, "--param", f"kind={kind}", "--param", "noise=50", "--json")
    assert code == 0, err
    r = json.loads(stdout)
    assert r["parameters"]["kind"] == kind and r["information_loss"]["il1s"] > 0
    assert r["perturbed"]["age"]["cells_changed"] > 2500


def test_rankswap_keeps_each_columns_values(cli, adult_csv, tmp_path):
    out = tmp_path / "out.csv"
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", out, "--method", "rankswap", "--quasi", "age,capital-gain",
        "--param", "p=5", "--seed", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "il1s" in stdout
    original, released = pd.read_csv(adult_csv), pd.read_csv(out)
    for c in ("age", "capital-gain"):
        assert sorted(released[c]) == sorted(original[c])
    assert (released["age"] != original["age"]).any()


def test_recipe_gives_perturbation_parameters(cli, adult_csv, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[anonymize]\nmethod = "rankswap"\nquasi = ["age"]\np = 2\n')
    code, stdout, err = cli("anonymize", adult_csv, "-o", tmp_path / "o.csv", "--recipe", recipe, "--json")
    assert code == 0, err
    assert json.loads(stdout)["parameters"]["p"] == 2


def test_param_for_k_anonymity_methods(cli, adult_csv, tmp_path):
    code, stdout, err = cli(
        "anonymize", adult_csv, "-o", tmp_path / "o.csv", "--method", "suppression", "--quasi", "age,sex,race",
        "--k", "5", "--param", 'importance={"age": 3}', "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["parameters"]["importance"] == {"age": 3}


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--method", "rankswap", "--k", "5"], "takes no parameter --k"),
        (["--method", "rankswap", "--param", "q=5"], "takes no parameter q="),
        (["--method", "pram", "--param", "pd=2"], "pd=2"),
        (["--method", "pram", "--param", "pd"], "write NAME=VALUE"),
        (["--method", "pram", "--param", "k=5"], "give it as --k"),
        (["--method", "mondrian", "--k", "5", "--seed", "3"], "takes no parameter --seed"),
        (["--method", "noise", "--param", "kind=loud"], "kind="),
        (["--method", "noise", "--quasi", "race"], "not numeric"),
        (["--method", "mondrian"], "give --k"),
    ],
)
def test_bad_inputs_one_line_exit_2_no_output(cli, adult_csv, tmp_path, extra, says):
    out = tmp_path / "o.csv"
    quasi = [] if "--quasi" in extra else ["--quasi", "age"]
    code, _, err = cli("anonymize", adult_csv, "-o", out, *quasi, *extra)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not out.exists()
