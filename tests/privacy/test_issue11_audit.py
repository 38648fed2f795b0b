"""Issue 11, audited from outside: what a DP release still leaked, each with the fix's test.

Every test here runs the real CLI in-process (``anonlab.cli.main``) or the public Python API on small real tables,
as a user or an attacker would, and would fail if the leak came back.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.schema import Column, Schema

SECRET_VALUE = "secret77x"


def _schema() -> Schema:
    return Schema(
        (
            Column("age", "quasi", "integer", lower=17, upper=90),
            Column("sex", "quasi", "categorical", categories=("Female", "Male")),
        )
    )


def _bad_table(tmp_path):
    """A table whose 6th row holds a private value that does not fit the integer column."""
    df = pd.DataFrame({"age": [str(20 + i % 50) for i in range(40)], "sex": ["Female", "Male"] * 20})
    df.loc[5, "age"] = SECRET_VALUE
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    schema = tmp_path / "s.toml"
    _schema().write(schema)
    return path, schema


@pytest.mark.parametrize("method", ["mst", "aim"])
def test_dp_synth_refuses_bad_content_naming_the_column_only(tmp_path, capsys, method):
    # point 12: a refusal on content before the charge names the column only, never the value or its row
    path, schema = _bad_table(tmp_path)
    code = main(
        [
            "synth",
            str(path),
            "-o",
            str(tmp_path / "out.csv"),
            "--method",
            method,
            "--schema",
            str(schema),
            "--epsilon",
            "1",
            "--no-ledger",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "'age'" in err
    assert SECRET_VALUE not in err and not re.search(r"row \d", err)
    assert not (tmp_path / "out.csv").exists()


def test_dp_synth_api_refusal_names_the_column_only(tmp_path):
    from anonlab.errors import InputError
    from anonlab.synth import Budget, get_method

    df = pd.DataFrame({"age": ["30", "41", SECRET_VALUE, "50"], "sex": ["Female", "Male", "Male", "Female"]})
    with pytest.raises(InputError) as err:
        get_method("mst")(seed=None).fit(df, _schema(), Budget(1.0, 1e-9), source="t.csv")
    msg = str(err.value)
    assert "'age'" in msg and SECRET_VALUE not in msg and not re.search(r"row \d", msg)


STUDY_SEED = 918_273_645  # a seed a user gave: no report, --json or summary line may carry it


def _adult_subset(tmp_path, rows: int = 300):
    from anonlab.datasets import load_adult

    df = load_adult()[["age", "sex", "race", "income-per-year"]].head(rows)
    path = tmp_path / "adult.csv"
    df.to_csv(path, index=False)
    return path


def _seed_texts(seed: int) -> list[str]:
    # the seed itself, and every seed a study derives from it for its releases (seed + 1000 * (i + 1))
    return [str(seed)] + [str(seed + 1000 * i) for i in range(1, 6)]


def test_compare_never_publishes_a_seed_the_user_gave(tmp_path, capsys):
    # point 1: a study's DP releases are seeded from --seed; a report carrying it (or the seeds derived from it)
    # lets anyone replay their noise. The help promises it is never written.
    path = _adult_subset(tmp_path)
    from anonlab.datasets import adult_schema

    adult_schema().subset(["age", "sex", "race", "income-per-year"]).write(tmp_path / "s.toml")
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[study]\nname = "t"\nholdout_fraction = 0.5\ntarget = "income-per-year"\nquasi = ["age", "sex"]\n'
        'schema = "s.toml"\nfrontier = [["mia_auc", "utility_2way"]]\n'
        '[evaluate]\nskip = ["anonymeter", "quality", "tstr"]\n'
        '[[release]]\nmethod = "synth"\nsynthesizer = "mst"\nepsilon = [1.0]\nparams = {iters = 50}\n'
    )
    report, js = tmp_path / "r.html", tmp_path / "r.json"
    args = ["compare", str(path), "--recipe", str(recipe), "--report", str(report), "--json-out", str(js)]
    assert main([*args, "--quiet", "--seed", str(STUDY_SEED)]) == 0
    out = capsys.readouterr()
    for text in (out.out, out.err, report.read_text(), js.read_text()):
        for s in _seed_texts(STUDY_SEED):
            assert s not in text
    data = __import__("json").loads(js.read_text())
    assert data["seed"] is None and data["seed_given"] is True
    assert data["releases"]["mst eps=1"]["evaluation"]["seed"] is None


def test_evaluate_never_publishes_a_seed_the_user_gave(tmp_path, capsys):
    path = _adult_subset(tmp_path, 200)
    report, js = tmp_path / "r.html", tmp_path / "r.json"
    args = ["evaluate", str(path), str(path), "--report", str(report), "--json-out", str(js)]
    args += ["--skip", "anonymeter,quality,tstr", "--quiet", "--seed", str(STUDY_SEED)]
    assert main(args) == 0
    out = capsys.readouterr()
    for text in (out.out, out.err, report.read_text(), js.read_text()):
        assert str(STUDY_SEED) not in text
    data = __import__("json").loads(js.read_text())
    assert data["seed"] is None and data["seed_given"] is True
    # without --seed the run draws its own seed and records it, so the evaluation can be repeated
    args = ["evaluate", str(path), str(path), "--json-out", str(tmp_path / "r2.json")]
    assert main([*args, "--skip", "anonymeter,quality,tstr", "--quiet"]) == 0
    again = __import__("json").loads((tmp_path / "r2.json").read_text())
    assert isinstance(again["seed"], int) and again["seed_given"] is False


def test_synth_progress_bars_stay_off_a_log_file(tmp_path, capsys):
    # a wall-clock time depends on the data: progress bars (per-round times, rates) show on a terminal only,
    # never in a captured stderr (a log kept or shipped with the release)
    path = _adult_subset(tmp_path, 200)
    args = ["synth", str(path), "-o", str(tmp_path / "o.csv"), "--method", "aim", "--schema", "adult"]
    args += ["--epsilon", "1", "--no-ledger", "--workload", "2", "--max-cells", "5000"]
    args += ["--small-table", "off"]  # AIM runs its rounds
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "aim rounds" not in err and not re.search(r"\d+(\.\d+)?\s*(s/it|it/s)|\[\d\d:\d\d", err)


def _typed_tables(tmp_path):
    """D, and D plus one record whose age is not a number: inferring a schema from each gives `age` another type."""
    d = pd.DataFrame({"age": [str(20 + i % 50) for i in range(120)], "sex": ["Female", "Male"] * 60})
    plus = pd.concat([d, pd.DataFrame({"age": ["unknown"], "sex": ["Male"]})], ignore_index=True)
    paths = {}
    for name, df in (("d", d), ("plus", plus)):
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    return paths


def test_a_dp_synth_refuses_a_schema_inferred_from_the_table_itself(tmp_path, capsys):
    # "data-read domains when not trusted": a schema inferred inside synth takes its column types from the data, and
    # one record (an age written "unknown") turns `age` from integer to categorical, changing the published schema
    # hash, the budget split and the marginals measured: certain membership inference. A DP fit needs a schema the
    # user gives (or --trust-domains, vouching for the inferred one); nothing is charged or written before that.
    from anonlab.privacy.ledger import Ledger
    from anonlab.schema import infer_schema

    paths = _typed_tables(tmp_path)
    kinds = [infer_schema(pd.read_csv(p, dtype=str))["age"].type for p in paths.values()]
    assert kinds[0] != kinds[1]  # the leak this refusal closes
    led = tmp_path / "l.jsonl"
    Ledger.create(led, epsilon=5.0, delta=1e-6)
    before = led.read_text()
    for p in paths.values():
        out = tmp_path / f"o_{p.stem}.csv"
        args = ["synth", str(p), "-o", str(out), "--method", "mst", "--epsilon", "1", "--quiet"]
        assert main([*args, "--ledger", str(led)]) == 2
        err = capsys.readouterr().err
        assert "--schema" in err and "schema infer" in err and len(err.strip().splitlines()) == 1
        assert not out.exists() and led.read_text() == before
        # vouching for the inferred schema is the user's explicit choice, recorded as trusted domains
        assert main([*args, "--no-ledger", "--trust-domains"]) == 0
        capsys.readouterr()


def test_synthesize_api_refuses_an_inferred_schema_for_a_dp_method(tmp_path):
    from anonlab.errors import PrivacyError
    from anonlab.synth.release import synthesize

    paths = _typed_tables(tmp_path)
    with pytest.raises(PrivacyError, match="schema="):
        synthesize(paths["d"], tmp_path / "o.csv", method="mst", epsilon=1.0)
    assert not (tmp_path / "o.csv").exists()


def test_dp_synth_refuses_a_missing_value_declared_absent_naming_the_column_only(tmp_path, capsys):
    # point 12 again: the schema says `age` has no missing values (missing = false, as the bundled Adult schema
    # does); the refusal names the column, never the row holding the person's missing value
    df = pd.DataFrame({"age": [str(20 + i % 50) for i in range(40)], "sex": ["Female", "Male"] * 20})
    df.loc[6, "age"] = ""
    path = tmp_path / "m.csv"
    df.to_csv(path, index=False)
    schema = Schema(
        (
            Column("age", "quasi", "integer", lower=17, upper=90, missing=False),
            Column("sex", "quasi", "categorical", categories=("Female", "Male")),
        )
    )
    schema.write(tmp_path / "s.toml")
    args = ["synth", str(path), "-o", str(tmp_path / "o.csv"), "--method", "mst", "--schema"]
    args += [str(tmp_path / "s.toml"), "--epsilon", "1", "--no-ledger", "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "'age'" in err and "missing" in err and not re.search(r"row \d", err)


def test_an_unlisted_category_in_a_column_without_missing_is_refused_before_the_charge(tmp_path, capsys):
    # an unlisted category is coded missing; where the schema declares no missing values (the bundled Adult schema
    # for `race`) there is no such code: the fit crashed with a traceback after the ledger was charged. It is
    # refused before any charge, naming the column only.
    from anonlab.privacy.ledger import Ledger

    df = pd.DataFrame({"age": [str(20 + i % 50) for i in range(40)], "sex": ["Female", "Male"] * 20})
    df.loc[3, "sex"] = "Martian"
    path = tmp_path / "u.csv"
    df.to_csv(path, index=False)
    schema = Schema(
        (
            Column("age", "quasi", "integer", lower=17, upper=90),
            Column("sex", "quasi", "categorical", categories=("Female", "Male"), missing=False),
        )
    )
    schema.write(tmp_path / "s.toml")
    led = tmp_path / "l.jsonl"
    Ledger.create(led, epsilon=5.0, delta=1e-6)
    before = led.read_text()
    args = ["synth", str(path), "-o", str(tmp_path / "o.csv"), "--method", "mst", "--schema"]
    args += [str(tmp_path / "s.toml"), "--epsilon", "1", "--ledger", str(led), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "'sex'" in err and "Martian" not in err and not re.search(r"row \d", err)
    assert led.read_text() == before and not (tmp_path / "o.csv").exists()


def test_mst_rho_spent_follows_its_dp_plan_and_is_classified_a_dp_output():
    # the structural rule: a field that can differ between neighbouring tables must be a DP output. MST's
    # rho_spent adds up the same charged rho, but over the measurements its small-table plan chose from the DP row
    # count (1-way only, some pairs, or the full tree), so its last bits follow that plan
    import warnings

    from anonlab.privacy.artifact import DP_OUTPUT
    from anonlab.synth import Budget, get_method
    from anonlab.synth.artifacts import sidecar_allow

    df = pd.DataFrame({"age": [str(20 + i % 50) for i in range(60)], "sex": ["Female", "Male"] * 30})
    spent = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mode in ("off", "fallback"):
            m = get_method("mst")(seed=1, iters=20, small_table=mode).fit(df, _schema(), Budget(1.0, 1e-9))
            spent.add(m.privacy_.details["rho_spent"])
    assert len(spent) == 2  # the same budget, summed over other measurements
    assert sidecar_allow("mst", True).kind("privacy.details.rho_spent") == DP_OUTPUT


def test_a_study_without_a_schema_says_what_its_dp_releases_did_with_data_read_domains(tmp_path):
    # the study's note claimed DP synthesizers "refuse such domains" while they discover them with DP by default
    from anonlab.evaluation.study import Recipe, run_study

    path = _adult_subset(tmp_path, 200)
    recipe = tmp_path / "study.toml"
    recipe.write_text(
        '[study]\nname = "t"\nholdout_fraction = 0.5\ntarget = "income-per-year"\nquasi = ["age", "sex"]\n'
        'frontier = [["mia_auc", "utility_2way"]]\n[evaluate]\nskip = ["anonymeter", "quality", "tstr"]\n'
        '[[release]]\nmethod = "synth"\nsynthesizer = "mst"\nepsilon = [1.0]\nparams = {iters = 50}\n'
    )
    study = run_study(pd.read_csv(path, dtype=str), Recipe.read(recipe), seed=None)
    assert not study.failures, study.failures
    note = next(n for n in study.notes if n.startswith("no schema given"))
    assert "refuse" not in note and "discover" in note
