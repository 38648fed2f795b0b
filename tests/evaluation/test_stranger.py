"""Evaluation on a stranger's data: types read through the schema, class targets, metrics that cannot crash the
run, bounded attacks, the verdict rule relative to baselines, collapsed columns flagged (issues 12 and 13)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.evaluation import verdicts as V
from anonlab.evaluation.evaluating import EvaluationConfig, evaluate
from anonlab.evaluation.tables import align_tables
from anonlab.io import read_table

GERMAN = Path(__file__).parent / "data" / "german_credit_600.csv"  # UCI Statlog German credit, CC BY 4.0
UTILITY = EvaluationConfig(skip=("anonymeter", "quality", "dcr", "membership"), tstr_rows=2000)


def verdicts(ev):
    return {v.metric: v for v in ev.verdicts}


@pytest.fixture(scope="module")
def german():
    df = read_table(GERMAN)
    order = np.random.default_rng(0).permutation(len(df))
    return df.iloc[order[:300]].reset_index(drop=True), df.iloc[order[300:]].reset_index(drop=True)


@pytest.fixture(scope="module")
def adult_label(splits):
    """Adult with a 0/1 integer label (what a stranger's table often holds)."""

    def f(df):
        out = df[["age", "sex", "education", "hours-per-week", "race"]].copy()
        out["label"] = (df["income-per-year"] == ">50K").astype(int)
        return out

    return {k: f(v) for k, v in splits.items()}


# -- item 1: one type per column, whatever the file's formatting -----------------------------------------------


def test_same_value_compares_equal_whatever_its_formatting():
    real = pd.DataFrame({"y": [0, 1, 1, 0], "zip": ["02140", "02141", "02140", "10001"]})
    release = pd.DataFrame({"y": [1.0, 0.0, None, 1.0], "zip": ["02140", "2141", None, "10001"]})
    text = pd.DataFrame({"y": ["1", "0", "1", "0"], "zip": ["02140", "02141", "02140", "10001"]})
    from anonlab.schema import Column, Schema

    schema = Schema((Column("y", type="categorical"), Column("zip", type="categorical")))
    a = align_tables(real, release, text, schema)
    assert list(a.real["y"]) == ["0", "1", "1", "0"]
    assert list(a.release["y"]) == ["1", "0", None, "1"]
    assert list(a.holdout["y"]) == ["1", "0", "1", "0"]
    # codes are exact text: 2141 is not 02141
    assert list(a.release["zip"]) == ["02140", "2141", None, "10001"]
    # without a schema the types come from the real table: y is a number there, 1.0 reads as 1
    b = align_tables(real, release, text)
    assert b.source == "inferred from the real table"
    assert b.release["y"].tolist()[:2] == [1.0, 0.0] and b.holdout["y"].tolist() == [1, 0, 1, 0]


def test_bad_number_in_the_real_table_is_a_clear_error():
    from anonlab.errors import InputError
    from anonlab.schema import Column, Schema

    schema = Schema((Column("n", type="integer"),))
    with pytest.raises(InputError, match="real: column 'n', row 2: 'x' is not a number"):
        align_tables(pd.DataFrame({"n": ["1", "x"]}), pd.DataFrame({"n": ["1", "2"]}), schema=schema)


@pytest.mark.parametrize("with_schema", [False, True])
def test_release_with_one_missing_label_is_read_as_the_same_classes(adult_label, tmp_path, with_schema):
    """A release with one blank label: pandas reads its 0/1 column as 0.0/1.0; it must still compare equal."""
    from anonlab.schema import infer_schema

    train, holdout, rel = adult_label["train"], adult_label["holdout"], adult_label["independent"].copy()
    rel["label"] = rel["label"].astype(float)
    rel.loc[0, "label"] = np.nan
    paths = {}
    for name, df in (("train", train), ("holdout", holdout), ("release", rel)):
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    real, hold, release = (read_table(paths[n]) for n in ("train", "holdout", "release"))
    schema = None
    if with_schema:  # the label as a category, as `schema infer` or a user may write it
        schema = infer_schema(real)
        from dataclasses import replace

        schema = schema.replace_column(
            replace(schema["label"], type="categorical", lower=None, upper=None, values=None)
        )
        schema = schema.replace_column(replace(schema["label"], categories=("0", "1"), from_data=True))
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "membership"), tstr_rows=2000)
    ev = evaluate(real, release, hold, schema=schema, target="label", config=cfg, seed=1)
    assert not ev.decode.generalised
    assert ev.decode.unreadable.get("label", 0) == 0
    assert ev.marginal(1).per_set["label"] < 0.05  # was 1.000 when 1.0 did not match 1
    assert ev.tstr.task == "binary"
    assert all(m.release > 0.75 for m in ev.tstr.models)  # was 0.5
    assert "k-anonymity (assess)" not in verdicts(ev)  # no bogus k=1
    assert not ev.flags


def test_german_credit_label_with_a_blank_cell(german, tmp_path):
    """German credit (UCI, CC BY 4.0): integer label 1/2, attribute codes A11..A202; one blank label in the release."""
    train, hold = german
    rel = train.sample(frac=1.0, random_state=3).reset_index(drop=True)
    rel["credit"] = rel["credit"].astype(float)
    rel.loc[5, "credit"] = np.nan
    p = tmp_path / "release.csv"
    rel.to_csv(p, index=False)
    release = read_table(p)
    assert release["credit"].dtype == float
    ev = evaluate(train, release, hold, config=UTILITY, seed=2)
    assert ev.target == "credit" and ev.tstr.task == "binary"
    assert ev.marginal(1).per_set["credit"] < 0.01  # the one blank cell
    assert ev.decode.unreadable.get("credit", 0) == 0
    assert all(abs(m.release - m.real) < 0.05 for m in ev.tstr.models)


# -- item 2: a 0/1 target is a class without a schema --------------------------------------------------------


def test_binary_integer_target_is_a_class_without_schema(adult_label):
    ev = evaluate(
        adult_label["train"], adult_label["independent"], adult_label["holdout"], config=UTILITY, seed=1
    )
    assert ev.target == "label" and ev.task == "classification"
    assert ev.tstr.task == "binary" and {m.metric for m in ev.tstr.models} == {"roc_auc"}
    assert any("scored as a class label" in n for n in ev.notes)
    # TSTR's independent-columns baseline: a constant prediction (ROC AUC 0.5), on the same test records
    assert ev.tstr.constant == 0.5
    assert ev.baselines["tstr_gradient_boosting"] == {
        "independent columns": 0.5,
        "trained on real": ev.tstr.models[0].real,
    }


def test_tstr_constant_baseline_for_regression_and_classes(splits):
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "dcr", "membership", "marginals", "associations"))
    ev = evaluate(
        splits["train"].iloc[:800],
        splits["independent"].iloc[:800],
        splits["holdout"].iloc[:800],
        target="age",
        config=cfg,
        seed=1,
    )
    assert ev.tstr.task == "regression" and -0.02 < ev.tstr.constant <= 0.0
    ev = evaluate(
        splits["train"].iloc[:800],
        splits["independent"].iloc[:800],
        splits["holdout"].iloc[:800],
        target="race",
        config=cfg,
        seed=1,
    )
    assert ev.tstr.task == "multiclass" and 0 < ev.tstr.constant < 0.25  # the majority class's F1 / 5 classes


def test_class_target_rule():
    from anonlab.evaluation.metrics.tstr import is_class_target

    assert is_class_target(pd.Series([0, 1, 1, 0]))
    assert is_class_target(pd.Series([1.0, 2.0, np.nan]))
    assert is_class_target(pd.Series([1, 2, 3, 4, 5] * 3))
    assert not is_class_target(pd.Series(np.arange(40)))
    assert not is_class_target(pd.Series([0.5, 1.5, 2.5]))


# -- items 3 and 8: no metric crashes the run; NaN and overflow ----------------------------------------------


def test_quality_nan_is_null_with_a_reason_and_json_is_written(splits, tmp_path, capsys):
    pytest.importorskip("sdmetrics", reason="SDMetrics comes with the sdv extra")
    # one shared column: SDMetrics' column pair trends come back NaN (the crash was "Out of range float values
    # are not JSON compliant: nan"); every other part must still run or say why it did not
    paths = {}
    for name, key in (("train", "train"), ("rel", "independent")):
        paths[name] = tmp_path / f"{name}.csv"
        splits[key][["age"]].iloc[:60].to_csv(paths[name], index=False)
    out, rep = tmp_path / "m.json", tmp_path / "r.html"
    code = main(
        [
            "evaluate",
            str(paths["train"]),
            str(paths["rel"]),
            "--skip",
            "anonymeter",
            "--quiet",
            "--seed",
            "1",
            "--json-out",
            str(out),
            "--report",
            str(rep),
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert rep.read_text().startswith("<!DOCTYPE html>")
    assert any("TSTR skipped" in n for n in data["notes"])
    q = data["utility"]["sdmetrics_quality"]
    assert q["column_pair_trends"] is None and q["error"].startswith("not computed: SDMetrics returned NaN")
    assert q["column_shapes"] is not None


def test_a_metric_that_fails_is_reported_not_raised(splits, monkeypatch):
    import anonlab.evaluation.metrics.tstr as T

    def boom(*a, **k):
        raise ValueError("window shape cannot be larger than input array shape")

    monkeypatch.setattr(T, "train_synthetic_test_real", boom)
    ev = evaluate(splits["train"].iloc[:300], splits["independent"].iloc[:300], config=UTILITY, seed=1)
    v = verdicts(ev)["tstr"]
    assert v.verdict == "n/a" and "not computed: ValueError: window shape" in v.reason
    assert ev.tstr is None and ev.marginals  # the other parts ran
    json.dumps(ev.to_dict(), allow_nan=False)


def test_all_nan_column_and_overflowing_number(splits):
    cols = ["age", "sex", "education", "hours-per-week", "income-per-year"]

    def hostile(df):
        df = df[cols].iloc[:300].copy()
        df.insert(0, "empty", np.nan)
        big = np.ones(len(df))
        big[0] = float("inf")  # what an overflowing number in a file reads as (1e999)
        df.insert(1, "big", big)
        return df.reset_index(drop=True)

    cfg = EvaluationConfig(skip=("anonymeter", "quality"), tstr_rows=1000)
    ev = evaluate(
        hostile(splits["train"]),
        hostile(splits["independent"]),
        hostile(splits["holdout"]),
        config=cfg,
        seed=1,
    )
    assert "empty" not in ev.kinds and ev.kinds["big"] == "numeric"
    assert any("no value at all" in n and "empty" in n for n in ev.notes)
    assert any("infinite or overflowing" in n for n in ev.notes)
    assert ev.tstr is not None and ev.membership is not None
    json.dumps(ev.to_dict(), allow_nan=False)


def test_compare_survives_all_nan_column_and_overflow(splits, tmp_path, capsys):
    df = splits["train"][["age", "sex", "education", "income-per-year"]].iloc[:400].copy()
    df.insert(0, "empty", np.nan)
    p = tmp_path / "in.csv"
    df.to_csv(p, index=False)
    text = p.read_text().splitlines()
    text[1] = "," + text[1].split(",", 1)[1].replace(text[1].split(",")[1], "1e999", 1)
    p.write_text("\n".join(text) + "\n")
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        '[study]\ntarget = "income-per-year"\nquasi = ["age", "sex"]\n'
        '[evaluate]\nskip = ["anonymeter", "quality"]\ntstr_rows = 500\n'
        '[[release]]\nmethod = "copy"\n[[release]]\nmethod = "kanonymity"\nk = 5\n'
    )
    out = tmp_path / "f.json"
    code = main(
        ["compare", str(p), "--recipe", str(recipe), "--json-out", str(out), "--quiet", "--seed", "0"]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert not data["failures"], data["failures"]


# -- item 4: anonymeter bounded and reported ---------------------------------------------------------------


def test_anonymeter_attempts_are_bounded_and_reported(splits):
    from anonlab.evaluation.metrics.attacks import anonymeter_risks, max_attempts

    assert max_attempts(300, 30) == 6_000 and max_attempts(10, 5) == 2_000
    assert max_attempts(500, 10**6) == 100_000  # never anonymeter's 10 million
    cols = ["age", "sex", "income-per-year"]
    t, r, h = (splits[k][cols].iloc[:30].reset_index(drop=True) for k in ("train", "independent", "holdout"))
    res = anonymeter_risks(t, r, h, secret="income-per-year", quasi=None, seed=0, n_attacks=300)
    assert res.max_attempts == max_attempts(res.n_attacks, 30) <= 6_000
    d = res.to_dict()
    assert d["max_attempts"] == res.max_attempts and d["seconds_cap"] == 60.0 and d["time_capped"] is True
    mv = res.risk("singling_out_multivariate")
    assert mv.detail["max_attempts"] == res.max_attempts and "predicates_found" in mv.detail


@pytest.mark.slow
def test_full_evaluate_on_30_rows_is_bounded(splits):
    """Issue 12: 30 rows x 3 columns ran 150 s of CPU in anonymeter's singling-out search."""
    import time

    cols = ["age", "sex", "income-per-year"]
    t, r, h = (splits[k][cols].iloc[:30].reset_index(drop=True) for k in ("train", "independent", "holdout"))
    t0 = time.process_time()
    ev = evaluate(t, r, h, seed=0)
    assert time.process_time() - t0 < 60
    assert ev.anonymeter.repeats == V.REPEATS and ev.anonymeter.max_attempts <= 6_000
    json.dumps(ev.to_dict(), allow_nan=False)


def test_anonymeter_time_cap_is_reported_not_silent(splits):
    from anonlab.evaluation.metrics.attacks import anonymeter_risks

    cols = ["age", "sex", "education", "income-per-year"]
    t, r, h = (splits[k][cols].iloc[:200].reset_index(drop=True) for k in ("train", "independent", "holdout"))
    res = anonymeter_risks(t, r, h, secret="income-per-year", quasi=None, seed=0, seconds=1e-3)
    capped = [x for x in res.risks if x.error and "time cap" in x.error]
    assert capped, res.risks
    for x in capped:
        assert x.value is None
        v = V.anonymeter_verdict(x.name, x.value, x.ci, x.error)
        assert v.verdict == "n/a" and "not computed: stopped at the time cap" in v.reason


def test_small_holdout_repeats_attacks_and_takes_the_pessimistic_end(german):
    train, hold = german
    cfg = EvaluationConfig(skip=("marginals", "associations", "tstr", "quality", "anonymeter"))
    ev = evaluate(train, train, hold.iloc[:200], config=cfg, seed=4)  # a copy of train: high risk
    assert set(ev.repeats) == {"membership AUC (distance)", "membership AUC (density)"}
    for name, vals in ev.repeats.items():
        assert len(vals) == V.REPEATS
        v = verdicts(ev)[name]
        assert v.value.startswith(f"{max(vals):.3f}") and "pessimistic" in v.reason
    assert ev.membership.attack("distance").auc == max(ev.repeats["membership AUC (distance)"])


# -- item 5: the verdict rule -----------------------------------------------------------------------------


def test_rule_relative_to_baselines():
    good = V.relative_verdict("x", 0.04, independent=0.12, floor=0.02)
    assert good.verdict == "good" and good.baselines == {"independent columns": 0.12, "sampling floor": 0.02}
    assert V.relative_verdict("x", 0.09, independent=0.12, floor=0.02).verdict == "fair"
    assert V.relative_verdict("x", 0.13, independent=0.12, floor=0.02).verdict == "poor"
    # a DP release that does not beat the same budget spent on 1-way marginals only
    assert V.relative_verdict("x", 0.05, independent=0.12, floor=0.02, dp_1way=0.04).verdict == "poor"
    # scores: higher is better (TSTR: independent columns ~0.5 AUC, trained on real 0.85)
    assert V.relative_verdict("t", 0.80, independent=0.5, floor=0.85, higher_is_better=True).verdict == "good"
    assert V.relative_verdict("t", 0.49, independent=0.5, floor=0.85, higher_is_better=True).verdict == "poor"
    # no gap between independent columns and the floor: never good or fair
    assert V.relative_verdict("x", 0.30, independent=0.2, floor=0.25).verdict == "poor"
    assert V.relative_verdict("x", 0.22, independent=0.2, floor=0.25).verdict == "n/a"
    assert V.one_way_verdict(0.03, floor=0.01).verdict == "good"
    assert V.one_way_verdict(0.2, floor=0.01).verdict == "poor"
    assert "independent columns" in V.RULE and "sampling floor" in V.RULE


def test_release_worse_than_independent_columns_is_never_good_or_fair(splits):
    """Independent columns with each categorical column's rarer half merged: worse than independent, on every
    joint figure; the old absolute thresholds called such a release FAIR."""
    train = splits["train"]
    rng = np.random.default_rng(5)
    bad = train.apply(lambda s: s.to_numpy()[rng.permutation(len(s))])
    bad["race"] = "White"
    bad["native-country"] = "United-States"
    cfg = EvaluationConfig(skip=("anonymeter", "quality", "dcr", "membership"), tstr_rows=2000)
    ev = evaluate(train, bad, splits["holdout"], config=cfg, seed=1)
    vs = verdicts(ev)
    for metric in (
        "2-way marginal TVD (mean)",
        "3-way marginal TVD (mean)",
        "Cramer's V difference (mean abs)",
    ):
        v = vs[metric]
        assert float(v.value) > v.baselines["independent columns"]
        assert v.verdict == "poor", v
    for v in ev.verdicts:
        if (
            v.kind == "utility"
            and v.baselines.get("independent columns") is not None
            and v.verdict
            in (
                "good",
                "fair",
            )
        ):
            assert (
                not V.closure(
                    float(v.value.split()[0]),
                    v.baselines["independent columns"],
                    next(x for k, x in v.baselines.items() if k != "independent columns" and "DP" not in k),
                    higher_is_better=v.metric.startswith("TSTR"),
                )
                < 0
            ), v
    # a copy of train closes the whole gap
    cp = evaluate(train, train, splits["holdout"], config=cfg, seed=1)
    assert verdicts(cp)["2-way marginal TVD (mean)"].verdict == "good"
    assert (
        cp.baselines["marginals_2way"]["sampling floor"]
        < cp.baselines["marginals_2way"]["independent columns"]
    )


def test_dp_one_way_baseline_appears_for_a_dp_release(splits):
    ev = evaluate(
        splits["train"],
        splits["independent"],
        splits["holdout"],
        config=UTILITY,
        seed=1,
        privacy={"epsilon": 1.0, "delta": 1e-9},
    )
    b = ev.baselines["marginals_2way"]
    assert set(b) == {"independent columns", "sampling floor", "DP 1-way baseline"}
    assert b["DP 1-way baseline"] >= b["independent columns"] - 0.01
    assert "DP 1-way" in verdicts(ev)["1-way marginal TVD (mean)"].reason
    d = ev.to_dict()
    assert d["verdict_rule"] == V.RULE and d["baselines"]["marginals_2way"]["DP 1-way baseline"] is not None


def test_rule_is_shown_in_the_report(splits):
    from anonlab.evaluation.report import evaluation_html

    ev = evaluate(splits["train"].iloc[:500], splits["independent"].iloc[:500], config=UTILITY, seed=1)
    html = evaluation_html(ev)
    assert "Verdict rule." in html and "baselines (same run)" in html and "independent columns" in html


# -- item 7: a collapsed column is flagged for every method ------------------------------------------------


def test_collapsed_column_is_flagged(splits, tmp_path, capsys):
    rel = splits["independent"].iloc[:800].copy()
    rel["hours-per-week"] = 99  # a skewed column collapsed to a near-constant
    paths = {}
    for name, df in (("train", splits["train"].iloc[:800]), ("rel", rel)):
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    rep = tmp_path / "r.html"
    code = main(
        [
            "evaluate",
            str(paths["train"]),
            str(paths["rel"]),
            "--skip",
            "anonymeter,quality,tstr,dcr,membership,associations",
            "--quiet",
            "--report",
            str(rep),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: column 'hours-per-week': 1-way TV" in err
    assert err.count("warning:") == 1
    assert "Warning:</b> column &#x27;hours-per-week&#x27;" in rep.read_text()


# -- items 6 and 9: compare behaves as synth; the study says what it is ----------------------------------------


def test_study_uses_synths_defaults_and_states_it_is_not_a_release(splits):
    from anonlab.errors import PrivacyWarning
    from anonlab.evaluation.report import study_html
    from anonlab.evaluation.study import STUDY_PRIVACY, Recipe, run_study

    recipe = Recipe.from_dict(
        {
            "study": {"schema": "adult", "target": "income-per-year", "quasi": ["age", "sex"]},
            "evaluate": {"skip": ["anonymeter", "quality", "dcr", "membership"], "tstr_rows": 500},
            "release": [{"method": "synth", "synthesizer": "mst", "epsilon": [1.0, 2.0]}],
        }
    )
    assert all(s.options["delta"] == 1e-9 for s in recipe.releases)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)  # the study's own fits are silent about the ledger
        study = run_study(splits["train"].iloc[:600], recipe, seed=0)
    assert not study.failures, study.failures
    assert study.notes[0].startswith(STUDY_PRIVACY) and "epsilon 3 in sum" in study.notes[0]
    assert "do not compose" in STUDY_PRIVACY and "without a privacy ledger" in STUDY_PRIVACY
    for m in study.meta.values():
        assert m["privacy"]["delta"] == 1e-9
        assert abs(m["rows_released"] - study.rows_train) < 100  # the DP estimate, as anonlab synth writes
    assert study.to_dict()["privacy_statement"] == STUDY_PRIVACY
    assert "A study, not a release." in study_html(study)
    # baselines were computed once and shared: both releases are judged against the same figures
    b = [ev.baselines["marginals_2way"]["independent columns"] for ev in study.evaluations]
    assert b[0] == b[1]


def test_study_does_not_shell_to_the_cli():
    import anonlab.evaluation.study as S

    src = Path(S.__file__).read_text()
    assert "subprocess" not in src and "anonlab.cli" not in src


def test_a_release_that_raises_anything_is_listed_and_the_study_goes_on(splits, monkeypatch):
    import anonlab.evaluation.study as S

    real_release = S._release

    def flaky(spec, *a, **k):
        if spec.method == "kanonymity":
            raise RuntimeError("a third-party library refused the metadata")
        return real_release(spec, *a, **k)

    monkeypatch.setattr(S, "_release", flaky)
    recipe = S.Recipe.from_dict(
        {
            "study": {"quasi": ["age", "sex"], "target": "income-per-year"},
            "evaluate": {"skip": ["anonymeter", "quality", "tstr"]},
            "release": [{"method": "copy"}, {"method": "kanonymity", "k": 5}],
        }
    )
    study = S.run_study(splits["train"].iloc[:300], recipe, seed=0)
    assert [e.label for e in study.evaluations] == ["copy of train"]
    assert study.failures[0]["error"] == "RuntimeError: a third-party library refused the metadata"


@pytest.mark.slow
def test_default_study_on_a_small_table_is_bounded(adult, tmp_path, capsys):
    """Issue 12: compare on a small table ran 10 minutes; now the anonymeter search is bounded."""
    import time

    p = tmp_path / "small.csv"
    adult.iloc[:300].to_csv(p, index=False)
    t0 = time.monotonic()
    code = main(["compare", str(p), "--json-out", str(tmp_path / "f.json"), "--quiet", "--seed", "0"])
    assert code == 0, capsys.readouterr().err
    assert time.monotonic() - t0 < 240
    data = json.loads((tmp_path / "f.json").read_text())
    assert len(data["summary"]) + len(data["failures"]) == 8
